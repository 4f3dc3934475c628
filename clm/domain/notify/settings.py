"""Where notifications go: the SMTP server (the environment, then the config file) and a
user's webhook URL. A password never travels in a URL."""

import os
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from clm.errors import Invalid

SECURITY = {"smtp": "starttls", "smtps": "tls"}
DEFAULT_PORT = {"smtp": 587, "smtps": 465}
TIMEOUT = 20.0  # seconds a server may take to answer before the try counts as failed


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls (when the server offers it; required to log in) or tls
    login: str | None
    password: str | None
    sender: str
    timeout: float

    def where(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_settings(environ=None) -> SmtpSettings | None:
    """The SMTP server: `CLM_SMTP_URL` (`smtp://user@host:587`), else `notify.smtp_url` in
    the config file; the password from `CLM_SMTP_PASSWORD` or a netrc file; None when no
    server is set. The one place these settings are read."""
    from clm.storage.config_file import smtp_url

    environ = os.environ if environ is None else environ
    # The environment's URL as it is (parse_smtp_url says what is wrong with it); the config
    # file's is checked as it is read.
    url = environ.get("CLM_SMTP_URL") or smtp_url(environ)
    if not url:
        return None
    return parse_smtp_url(
        url,
        source="CLM_SMTP_URL" if environ.get("CLM_SMTP_URL") else "notify.smtp_url",
        password=environ.get("CLM_SMTP_PASSWORD"),
        sender=environ.get("CLM_SMTP_FROM"),
        netrc_path=environ.get("NETRC"),
    )


def parse_smtp_url(
    url: str,
    source: str,
    password: str | None = None,
    sender: str | None = None,
    netrc_path: str | None = None,
) -> SmtpSettings:
    """`smtp://[user@]host[:port][?from=ADDR&timeout=SECONDS]` (STARTTLS) or `smtps://…`
    (TLS from the start). `source` names where the URL came from, for the error."""
    try:
        parts = urlsplit(url.strip())
        has_password = parts.password is not None
    except ValueError:
        parts, has_password = None, ":" in url.partition("@")[0].partition("//")[2]
    if has_password:
        # Never echoed: the point is that it should not be written where others read it.
        raise Invalid(
            f"{source} holds a password: put it in CLM_SMTP_PASSWORD or a netrc file "
            "(machine HOST login USER password …), never in the URL"
        )
    accepted = "expected smtp://[user@]host[:port] or smtps://…"
    if parts is None or parts.scheme not in SECURITY or not parts.hostname:
        raise Invalid(f"invalid {source} '{url}': {accepted}")
    try:
        port = parts.port or DEFAULT_PORT[parts.scheme]
    except ValueError:
        raise Invalid(f"invalid {source} '{url}': the port must be 1 to 65535") from None
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"from", "timeout"})
    if unknown:
        raise Invalid(f"invalid {source} '{url}': unknown option '{unknown[0]}' (from, timeout)")
    try:
        timeout = float(query.get("timeout", TIMEOUT))
        if not 0 < timeout <= 600:
            raise ValueError
    except ValueError:
        raise Invalid(f"invalid {source} '{url}': timeout is seconds, 0 to 600") from None
    login = parts.username or None
    if login and password is None:
        password = _netrc_password(parts.hostname, login, netrc_path)
    sender = sender or query.get("from") or f"clm@{socket.gethostname()}"
    if "@" not in sender:
        raise Invalid(f"invalid sender '{sender}' (from {source}): expected name@domain")
    return SmtpSettings(
        parts.hostname, port, SECURITY[parts.scheme], login, password, sender, timeout
    )


def _netrc_password(host: str, login: str, path: str | None) -> str | None:
    import netrc

    try:
        found = netrc.netrc(path).authenticators(host)
    except FileNotFoundError:
        return None
    except netrc.NetrcParseError as e:
        raise Invalid(f"unreadable netrc file {e.filename} (line {e.lineno}): {e.msg}") from None
    if found and (found[0] in (None, "", login)):
        return found[2]
    return None


WEBHOOK_SCHEMES = ("https", "http", "slack+https", "slack+http")


def check_webhook(url: str) -> str:
    """A webhook URL as stored: http(s), with a host. `slack+https://…` (or a hooks.slack.com
    URL) gets Slack's incoming-webhook body; any other URL the generic JSON one."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        good = parts.scheme in WEBHOOK_SCHEMES and parts.hostname and parts.port != 0
    except ValueError:  # a port that is not a number
        good = False
    if not good:
        raise Invalid(
            f"invalid webhook URL '{url}': expected https://host/path (or slack+https://… "
            "for a Slack-compatible body)"
        )
    return url


def webhook_style(url: str) -> tuple[str, str]:
    """(`slack` or `json`, the URL to post to)."""
    if url.startswith("slack+"):
        return "slack", url.removeprefix("slack+")
    host = urlsplit(url).hostname or ""
    return ("slack" if host == "hooks.slack.com" else "json"), url
