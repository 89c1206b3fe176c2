"""A real SMTP server for tests: aiosmtpd's ``Controller`` on 127.0.0.1 and a free port, keeping every
message it receives in memory.

aiosmtpd is a dev dependency, so a server that does not start is a broken install and fails the
test — with the GGZY_TEST_REQUIRE message when ``smtp`` is listed there (CI), never a skip.

Use it with ``from tests.smtpserver import smtp_server  # noqa: F401`` and a ``smtp_server`` argument.
"""
from __future__ import annotations

import email
import email.policy
import smtplib
import threading
from dataclasses import dataclass, field

import pytest

from tests.support import free_port, need, required


@dataclass
class Received:
    """One accepted message: envelope sender, recipients and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class MemoryHandler:
    """aiosmtpd handler: keep the DATA of each session; thread-safe for the test to read."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A started server: ``url`` for GGZY_SMTP_URL, ``messages`` for assertions."""

    def __init__(self, controller, handler: MemoryHandler, port: int):
        self._controller = controller
        self._handler = handler
        self.host, self.port = "127.0.0.1", port
        self.url = f"smtp://{self.host}:{port}"

    @property
    def messages(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.messages)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]


def start_server() -> tuple[SmtpServer | None, str]:
    """Start a server and prove it answers (EHLO/NOOP); returns (server, "") or (None, why)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError as exc:
        return None, f"aiosmtpd is not installed ({exc}); pip install -e '.[dev]'"
    handler = MemoryHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    try:
        controller.start()
    except Exception as exc:
        return None, f"aiosmtpd could not start on 127.0.0.1:{port}: {type(exc).__name__}: {exc}"
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
            probe.noop()
    except OSError as exc:
        controller.stop()
        return None, f"aiosmtpd started but does not answer on 127.0.0.1:{port}: {exc}"
    return SmtpServer(controller, handler, port), ""


@pytest.fixture
def smtp_server():
    server, why = start_server()
    if server is None:
        if "smtp" in required():
            need("smtp", False, why)  # fails, naming GGZY_TEST_REQUIRE
        pytest.fail(f"the SMTP test server must always start (aiosmtpd is a dev dependency): {why}")
    try:
        yield server
    finally:
        server._controller.stop()
