"""Helpers shared by tests: required services, factories, auth headers."""
from __future__ import annotations

import os
import socket

import pytest

SERVICES = ("pg", "redis", "s3", "smtp", "browser")


def required() -> set[str]:
    """Services listed in GGZY_TEST_REQUIRE: their absence fails instead of skipping."""
    return {s.strip() for s in os.environ.get("GGZY_TEST_REQUIRE", "").split(",") if s.strip()}


def need(service: str, available: bool, why: str) -> None:
    """Fail when ``service`` is required and missing, else skip with the reason."""
    if available:
        return
    if service in required():
        pytest.fail(f"{service} is required by GGZY_TEST_REQUIRE but unavailable: {why}")
    pytest.skip(f"{service} unavailable ({why}); set GGZY_TEST_REQUIRE={service} to make this a failure")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
