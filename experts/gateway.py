"""SMS/voice gateway adapters for telling drawn experts (RULES §3: notify by voice or SMS).

A production adapter (a carrier's SMS API, a voice-call platform) implements :class:`Gateway`;
the demo and the tests use :class:`ConsoleGateway`, which logs the message without the expert's
name and keeps what it sent in memory.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod

logger = logging.getLogger(__name__)


class Gateway(ABC):
    """An SMS and voice-call provider; raise to have the delivery retried."""

    name = "base"

    @abstractmethod
    def send_sms(self, phone: str, text: str) -> None:
        """Send a text message."""

    @abstractmethod
    def call(self, phone: str, text: str) -> None:
        """Place a voice call reading the text."""


class ConsoleGateway(Gateway):
    """The demo's gateway: logs the last four digits and the text; remembers what it sent."""

    name = "console"

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    def send_sms(self, phone: str, text: str) -> None:
        self.sent.append(("sms", phone, text))
        logger.info("SMS to …%s: %s", phone[-4:], text)

    def call(self, phone: str, text: str) -> None:
        self.sent.append(("voice", phone, text))
        logger.info("voice call to …%s: %s", phone[-4:], text)


#: the gateway in use; a deployment replaces it with its provider's adapter at start-up
GATEWAY: list[Gateway] = [ConsoleGateway()]


def gateway() -> Gateway:
    return GATEWAY[0]
