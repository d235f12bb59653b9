"""The report HTML in headless Chromium: it draws, logs no errors, fetches nothing outside itself.

Chromium is driven over the DevTools protocol on ``--remote-debugging-pipe`` (commands on fd 3,
replies and events on fd 4, JSON messages ended by a NUL byte), so no websocket client is needed.
Every request the page makes (``Network.requestWillBeSent``) must be a ``data:`` URI or the report
file itself; console errors, uncaught exceptions and error log entries fail the test. A negative
control plants a remote image and a ``console.error`` in a copy of the report and checks that the
same inspection catches both.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from biomark.cli import app

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = (1000, 1400)
BANNER_RGB = (0xB0, 0x00, 0x20)  # --banner in templates/report.css
TIMEOUT_S = 30.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"
)


@dataclass
class PageLog:
    """What one page load did: the URLs it requested, the errors it logged, its screenshot."""

    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    png: bytes = b""

    def foreign_requests(self) -> list[str]:
        """Requests that are neither ``data:`` URIs nor the report file itself."""
        return [u for u in self.requests if not u.startswith("data:") and u != self.url]


class DevToolsPipe:
    """A headless Chromium with its DevTools protocol on a pipe (fd 3 in, fd 4 out)."""

    def __init__(self, profile: Path) -> None:
        cmd_read, self._cmd_write = os.pipe()
        self._res_read, res_write = os.pipe()

        def wire_fds() -> None:  # in the child, before exec: put the pipe ends on fds 3 and 4
            os.dup2(cmd_read, 3)
            os.dup2(res_write, 4)

        args = [
            str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu",
            f"--user-data-dir={profile}", "--remote-debugging-pipe", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            # Even the negative control's remote image must never reach a network.
            "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            args, pass_fds=(3, 4), preexec_fn=wire_fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(cmd_read)
        os.close(res_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, wait_s: float) -> None:
        ready, _, _ = select.select([self._res_read], [], [], wait_s)
        if not ready:
            return
        chunk = os.read(self._res_read, 1 << 20)
        if not chunk:
            raise RuntimeError(f"chromium closed the DevTools pipe (exit {self.proc.poll()})")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        self.events.extend(json.loads(m) for m in messages)

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._cmd_write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            for i, event in enumerate(self.events):
                if event.get("id") == self._next_id:
                    del self.events[i]
                    if "error" in event:
                        raise RuntimeError(f"{method}: {event['error']}")
                    return dict(event["result"])
            self._read(0.2)
        raise TimeoutError(f"chromium did not answer {method} within {TIMEOUT_S} s")

    def wait_for(self, method: str) -> None:
        """Wait until an event named ``method`` has arrived."""
        deadline = time.monotonic() + TIMEOUT_S
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {TIMEOUT_S} s")
            self._read(0.2)

    def settle(self, quiet_s: float = 0.5) -> None:
        """Read events until none arrives for ``quiet_s`` seconds (late requests, logs)."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            before = len(self.events)
            self._read(quiet_s)
            if len(self.events) == before:
                return

    def close(self) -> None:
        """Ask the browser to quit; kill it if it does not."""
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_write)
        os.close(self._res_read)


def _error_text(event: dict[str, Any]) -> str | None:
    """The message of a console error, uncaught exception or error log entry; else None."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
        args = params.get("args", [])
        return "console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in args)
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return "exception: " + str(details.get("exception", {}).get("description", details["text"]))
    if method == "Log.entryAdded" and params["entry"]["level"] == "error":
        return f"log ({params['entry']['source']}): {params['entry']['text']}"
    return None


def inspect_page(html: Path, profile: Path) -> PageLog:
    """Load ``html`` in headless Chromium; record its requests and errors and take a screenshot."""
    log = PageLog(url=html.resolve().as_uri())
    browser = DevToolsPipe(profile)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        sid = session["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.call(f"{domain}.enable", session=sid)
        width, height = VIEWPORT
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                     session=sid)  # fmt: skip
        browser.call("Page.navigate", {"url": log.url}, session=sid)
        browser.wait_for("Page.loadEventFired")
        browser.settle()
        shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=sid)
        log.png = base64.b64decode(shot["data"])
        browser.settle()
    finally:
        browser.close()
    for event in browser.events:
        if event.get("method") == "Network.requestWillBeSent":
            log.requests.append(event["params"]["request"]["url"])
        elif (text := _error_text(event)) is not None:
            log.errors.append(text)
    return log


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real report (the ALE-only time family, few iterations, HTML only)."""
    out = tmp_path_factory.mktemp("chromium") / "time"
    args = ["report", "--family", "time", "--iterations", "50", "--seed", "3", "--quiet",
            "--format", "html", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out / "report.html"


@pytest.fixture(scope="module")
def clean_load(report_html: Path, tmp_path_factory: pytest.TempPathFactory) -> PageLog:
    return inspect_page(report_html, tmp_path_factory.mktemp("profile"))


def test_report_loads_without_console_errors(clean_load: PageLog) -> None:
    assert clean_load.errors == []


def test_report_requests_nothing_but_itself_and_data_uris(clean_load: PageLog) -> None:
    assert clean_load.requests[0] == clean_load.url
    assert clean_load.foreign_requests() == []
    # the figures are embedded, so some data: images were requested
    assert any(u.startswith("data:image/png;base64,") for u in clean_load.requests)


def test_screenshot_is_the_drawn_report(clean_load: PageLog, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    png.write_bytes(clean_load.png)
    with Image.open(png) as image:
        assert image.size == VIEWPORT
        colours: list[tuple[int, tuple[int, int, int]]] | None
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)  # type: ignore[assignment]
    assert colours is not None
    total = VIEWPORT[0] * VIEWPORT[1]
    white = sum(n for n, c in colours if min(c) >= 250)
    banner = sum(
        n for n, c in colours if all(abs(a - b) <= 6 for a, b in zip(c, BANNER_RGB, strict=True))
    )
    # text and tables ink part of the page; the CSS-styled banner is drawn at the top
    assert 0.02 < 1 - white / total < 0.9
    assert banner > 0.01 * total


def test_negative_control_catches_remote_request_and_console_error(
    report_html: Path, tmp_path: Path
) -> None:
    hostile = tmp_path / "hostile.html"
    planted = (
        '<img src="http://example.invalid/x.png" alt="">'
        '<img src="file:///etc/hostname" alt="">'
        '<script>console.error("planted console error")</script></body>'
    )
    hostile.write_text(
        report_html.read_text(encoding="utf-8").replace("</body>", planted, 1), encoding="utf-8"
    )
    log = inspect_page(hostile, tmp_path / "profile")
    assert "http://example.invalid/x.png" in log.foreign_requests()
    assert "file:///etc/hostname" in log.foreign_requests()
    assert any("planted console error" in e for e in log.errors)
