"""Open a page in headless Chromium over the DevTools protocol (`--remote-debugging-pipe`):
its rendered text, console messages, uncaught errors and every network request it made."""

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Visit:
    text: str = ""
    console: list[str] = field(default_factory=list)  # console calls and log entries
    errors: list[str] = field(default_factory=list)  # uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for


class _Pipe:
    """NUL-delimited JSON messages to and from the browser."""

    def __init__(self, write_fd: int, read_fd: int):
        self.write_fd, self.read_fd, self.buffer, self.next_id = write_fd, read_fd, b"", 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive(30)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                raise EOFError("chromium went away")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        while not any(event.get("method") == method for event in self.events):
            self.events.append(self.receive(timeout))


def visit(url: str, width: int = 1400, height: int = 2000) -> Visit:
    """Load `url`, wait for its load event, and report what it showed and did."""
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def wire():  # the browser reads commands on fd 3 and writes replies on fd 4
        os.dup2(to_browser_r, 3)
        os.dup2(from_browser_w, 4)

    profile = tempfile.mkdtemp(prefix="clm-chromium-")
    process = subprocess.Popen(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-pipe", f"--user-data-dir={profile}",
         f"--window-size={width},{height}", "about:blank"],
        pass_fds=(3, 4, to_browser_r, from_browser_w), preexec_fn=wire,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = _Pipe(to_browser_w, from_browser_r)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.events.clear()
        pipe.send("Page.navigate", {"url": url}, session=session)
        pipe.wait_for("Page.loadEventFired")
        time.sleep(0.3)  # late console messages
        text = pipe.send(
            "Runtime.evaluate",
            {"expression": "document.body.innerText", "returnByValue": True},
            session=session,
        )["result"]["value"]
        found = Visit(text=text)
        for event in pipe.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                args = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                found.console.append(f"{params['type']}: {args}")
            elif method == "Log.entryAdded":
                found.console.append(f"{params['entry']['level']}: {params['entry']['text']}")
            elif method == "Runtime.exceptionThrown":
                found.errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Network.requestWillBeSent":
                found.requests.append(params["request"]["url"])
        pipe.send("Browser.close")
        return found
    finally:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        os.close(to_browser_w)
        os.close(from_browser_r)
        shutil.rmtree(profile, ignore_errors=True)
