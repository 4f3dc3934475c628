"""The two ways a message leaves: SMTP (stdlib smtplib) and an HTTP POST (urllib). Each says
whether a failure is worth another try (a timeout, a dropped connection, an SMTP 4xx, an HTTP
5xx) or not (an SMTP 5xx, an HTTP 4xx)."""

import contextlib
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

from clm.domain.notify import digest
from clm.domain.notify.settings import SmtpSettings, webhook_style


class Failure(Exception):
    """A message not sent: `transient` ones are tried again later."""

    def __init__(self, reason: str, transient: bool = True):
        super().__init__(reason)
        self.transient = transient


def email_message(settings: SmtpSettings, to: str, message) -> EmailMessage:
    """The email of an outbox row; its Message-ID is the row's uuid, its Date the row's
    creation: sent twice, it is the same message."""
    mail = EmailMessage()
    mail["Subject"] = digest.subject(message.day, message.items)
    mail["From"] = settings.sender
    mail["To"] = to
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = f"<{message.uuid}@clm.outbox>"
    mail.set_content(digest.text_part(message.handle, message.day, message.items))
    mail.add_alternative(
        digest.html_part(message.handle, message.day, message.items), subtype="html"
    )
    return mail


class Smtp:
    """One SMTP session for a run's emails, opened on first use and again after a drop."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.session: smtplib.SMTP | None = None

    def send(self, mail: EmailMessage) -> None:
        if self.session is None:
            self.session = self._open()
        try:
            refused = self.session.send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()))
            raise _smtp_failure(code, text, self.settings) from None
        except smtplib.SMTPResponseException as e:
            self.close()
            raise _smtp_failure(e.smtp_code, e.smtp_error, self.settings) from None
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            self.session = None  # gone: the next message opens another
            raise Failure(
                f"the SMTP server {self.settings.where()} dropped the connection ({e or 'closed'})"
            ) from None
        if refused:
            code, text = next(iter(refused.values()))
            raise _smtp_failure(code, text, self.settings)

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.security == "tls":
                session = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                session = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            session.ehlo()
            if session.has_extn("starttls"):
                session.starttls(context=ssl.create_default_context())
                session.ehlo()
            elif s.login:
                session.close()
                raise Failure(
                    f"the SMTP server {s.where()} offers no STARTTLS: clm does not send a "
                    "password in clear (use smtps:// or a server with STARTTLS)",
                    transient=False,
                )
            if s.login:
                if s.password is None:
                    session.close()
                    raise Failure(
                        f"no password for {s.login} at {s.host}: set CLM_SMTP_PASSWORD or a "
                        "netrc entry",
                        transient=False,
                    )
                session.login(s.login, s.password)
            return session
        except socket.gaierror:
            raise Failure(f"unknown SMTP host '{s.host}'") from None
        except smtplib.SMTPAuthenticationError:
            raise Failure(f"the SMTP server {s.where()} refused the login", False) from None
        except smtplib.SMTPResponseException as e:
            raise _smtp_failure(e.smtp_code, e.smtp_error, s) from None
        except TimeoutError:
            raise Failure(f"the SMTP server {s.where()} did not answer in {s.timeout:g}s") from None
        except ConnectionRefusedError:
            raise Failure(f"nothing listens at {s.where()} (connection refused)") from None
        except (smtplib.SMTPException, OSError) as e:
            raise Failure(f"cannot reach the SMTP server {s.where()}: {e}") from None

    def close(self) -> None:
        if self.session is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.session.quit()
            self.session = None


def _smtp_failure(code: int, text, settings: SmtpSettings) -> Failure:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return Failure(
        f"the SMTP server {settings.where()} answered {code} {text}".strip(),
        transient=400 <= code < 500,
    )


def post(url: str, body: bytes, key: str, timeout: float) -> None:
    """POST a webhook body; `Idempotency-Key` lets a receiver drop a re-send."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": key,
                 "User-Agent": "clm"},
    )  # fmt: skip
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.netloc}"  # a webhook's path is often its secret
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as e:
        raise Failure(
            f"the webhook {where} answered {e.code} {e.reason}",
            transient=e.code >= 500 or e.code == 429,
        ) from None
    except TimeoutError:
        raise Failure(f"the webhook {where} did not answer in {timeout:g}s") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, socket.gaierror):
            raise Failure(f"unknown webhook host in {where}") from None
        raise Failure(f"cannot reach the webhook {where}: {reason}") from None
    except OSError as e:
        raise Failure(f"the webhook {where} dropped the connection ({e})") from None


def webhook_body(message) -> tuple[str, bytes]:
    """(the URL to post to, the body) of a message to a webhook."""
    style, url = webhook_style(message.webhook)
    if style == "slack":
        body = digest.slack_body(message.handle, message.day, message.items, message.team)
    else:
        body = digest.json_body(message.uuid, message.handle, message.day, message.kind,
                                message.items, team=message.team)  # fmt: skip
    return url, digest.encoded(body)
