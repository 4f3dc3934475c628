"""Real servers on localhost for the notification tests: an SMTP server (aiosmtpd) that
parses and keeps what it accepts, and an HTTP server in a thread for webhooks. Each can be
told to misbehave: refuse, answer late, or drop the connection after DATA."""

import asyncio
import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """The aiosmtpd handler: `mode` is accept, refuse (550), busy (451), slow (answers after
    `delay` seconds) or drop (keeps the message, then hangs up without answering)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.mode = "accept"
        self.delay = 3.0

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "refuse":
            return "550 5.7.1 not accepted here"
        if self.mode == "busy":
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.mode == "drop":
            server.transport.abort()
            return "250 OK"  # never reaches the client
        return "250 OK"

    def ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


class SmtpServer:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=clm@example.com&timeout=1"

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class WebhookServer:
    """Keeps each POST (path, headers, JSON body); answers `status` (after `delay` seconds)."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.delay = 0.0
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                import time

                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hooks.delay:
                    time.sleep(hooks.delay)
                if hooks.status == 200:
                    hooks.received.append(
                        {"path": self.path, "headers": dict(self.headers),
                         "body": json.loads(body)}
                    )  # fmt: skip
                self.send_response(hooks.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str = "/hook", slack: bool = False) -> str:
        return f"{'slack+' if slack else ''}http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
