"""Configuration from GGZY_* variables, production refusals, /healthz and /metrics."""
from __future__ import annotations

import os

import pytest

from core import config
from core.config import ProductionConfigError, build_config, from_environ
from core.db import db


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No GGZY_* variables from the caller's shell or CI leak into these tests."""
    for name in list(os.environ):
        if name.startswith("GGZY_") and not name.startswith("GGZY_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GGZY_INSTANCE_DIR", str(tmp_path))
    return monkeypatch


def test_defaults_are_the_embedded_setup(clean_env, tmp_path):
    clean_env.setenv("GGZY_ENV", "demo")  # unset means production (tests/core/test_security.py)
    cfg = build_config()
    assert cfg["GGZY_ENV"] == "demo" and cfg["TESTING"] is False
    assert cfg["GGZY_BASE_URL"] == "http://127.0.0.1:5000"
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'ggzy.sqlite'}"
    assert cfg["GGZY_BROKER_URL"] == f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    assert cfg["GGZY_KEY_DIR"] == str(tmp_path / "keys")
    assert (cfg["GGZY_PORT"], cfg["GGZY_TASKS_EAGER"], cfg["GGZY_STORAGE"]) == (5000, False, "local")
    assert cfg["BABEL_DEFAULT_LOCALE"] == "zh_CN" and cfg["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"


def test_environment_variables_are_parsed(clean_env):
    clean_env.setenv("GGZY_ENV", "demo")
    clean_env.setenv("GGZY_PORT", "8080")
    clean_env.setenv("GGZY_LOGIN_MAX_FAILURES", " 7 ")
    clean_env.setenv("GGZY_S3_SECURE", "Yes")
    clean_env.setenv("GGZY_TASKS_EAGER", "0")
    clean_env.setenv("GGZY_DATABASE_URL", "postgresql+psycopg://u@db/ggzy")
    clean_env.setenv("GGZY_SECRET_KEY", "s3cret-from-env")
    clean_env.setenv("GGZY_SMTP_URL", "smtp://mail:2525")
    cfg = build_config()
    assert cfg["GGZY_PORT"] == 8080 and cfg["GGZY_LOGIN_MAX_FAILURES"] == 7
    assert cfg["GGZY_S3_SECURE"] is True and cfg["GGZY_TASKS_EAGER"] is False
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/ggzy"
    assert cfg["SECRET_KEY"] == "s3cret-from-env" and "GGZY_SECRET_KEY" not in cfg
    assert cfg["GGZY_SMTP_URL"] == "smtp://mail:2525"


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("TRUE", True), ("on", True), ("yes", True),
    ("0", False), ("false", False), ("off", False), ("", False), ("no", False),
])
def test_boolean_variables(raw, expected):
    assert from_environ({"GGZY_S3_SECURE": raw})["GGZY_S3_SECURE"] is expected
    assert from_environ({"GGZY_TASKS_EAGER": raw})["GGZY_TASKS_EAGER"] is expected


def test_from_environ_ignores_foreign_and_test_variables():
    out = from_environ({"HOME": "/root", "GGZY_TEST_REQUIRE": "pg", "GGZY_TEST_DATABASE_URL": "x",
                        "GGZY_OUTBOX_GRACE_SECONDS": "45", "GGZY_S3_BUCKET": "42"})
    assert out == {"GGZY_OUTBOX_GRACE_SECONDS": 45, "GGZY_S3_BUCKET": "42"}  # a string default stays str


def test_a_non_integer_for_an_integer_setting_is_refused():
    with pytest.raises(ValueError):
        from_environ({"GGZY_PORT": "eighty"})


def test_explicit_overrides_win_over_the_environment(clean_env):
    clean_env.setenv("GGZY_ENV", "demo")
    clean_env.setenv("GGZY_PORT", "8080")
    assert build_config({"GGZY_PORT": 9000})["GGZY_PORT"] == 9000


def test_test_env_enables_testing_and_csrf(clean_env):
    cfg = build_config({"GGZY_ENV": "test"})
    assert cfg["TESTING"] is True and cfg["WTF_CSRF_ENABLED"] is True and cfg["DEBUG"] is False


def test_production_refuses_the_default_secret(clean_env):
    clean_env.setenv("GGZY_ENV", "production")
    with pytest.raises(ProductionConfigError, match="GGZY_SECRET_KEY"):
        build_config()
    with pytest.raises(ProductionConfigError, match="GGZY_SECRET_KEY"):
        build_config({"SECRET_KEY": ""})


def test_production_refuses_eager_tasks_and_demo_keys(clean_env):
    clean_env.setenv("GGZY_ENV", "production")
    clean_env.setenv("GGZY_SECRET_KEY", "a-private-production-secret-0123456789XYZ")
    clean_env.setenv("GGZY_BASE_URL", "https://ggzy.example.cn")
    clean_env.setenv("GGZY_TASKS_EAGER", "true")
    with pytest.raises(ProductionConfigError, match="eager"):
        build_config()
    clean_env.setenv("GGZY_TASKS_EAGER", "false")
    clean_env.setenv("GGZY_KEY_DIR", "/srv/ggzy/instance/keys/demo/")
    with pytest.raises(ProductionConfigError, match="demo keys"):
        build_config()
    clean_env.setenv("GGZY_KEY_DIR", "/srv/ggzy/keys")
    cfg = build_config()
    assert cfg["GGZY_ENV"] == "production" and cfg["TESTING"] is False


def test_production_lists_every_problem(clean_env):
    with pytest.raises(ProductionConfigError) as info:
        config.check_production({**build_config({"GGZY_ENV": "demo"}), "GGZY_ENV": "production", "GGZY_TASKS_EAGER": True})
    assert "GGZY_SECRET_KEY" in str(info.value) and "eager" in str(info.value)


def test_create_app_refuses_production_with_the_default_secret(clean_env):
    from core.app import create_app

    clean_env.setenv("GGZY_ENV", "production")
    with pytest.raises(ProductionConfigError):
        create_app()


# --- health and metrics ---------------------------------------------------------------------------

def test_healthz_needs_a_scheduler_lease(app, client):
    from core.scheduler import acquire_lease

    down = client.get("/healthz")
    assert down.status_code == 503
    body = down.get_json()
    assert body["ok"] is False and body["checks"]["scheduler"]["ok"] is False
    assert "lease" in body["checks"]["scheduler"]["error"]
    assert all(body["checks"][name]["ok"] for name in ("database", "broker", "store")), body
    assert body["checks"]["broker"]["mode"] == "eager"
    with app.app_context():
        assert acquire_lease("test", 30)
        assert not acquire_lease("another-process", 30)  # one holder at a time
    up = client.get("/healthz")
    assert up.status_code == 200, up.get_json()
    assert up.get_json()["ok"] is True and up.get_json()["checks"]["scheduler"]["holder"] == "test"


def test_healthz_reports_an_expired_lease(app, client):
    import datetime as dt

    from core.clock import frozen, now
    from core.scheduler import acquire_lease

    with app.app_context():
        with frozen(now() - dt.timedelta(minutes=5)):
            acquire_lease("test", 30)
        db.session.remove()
    assert client.get("/healthz").status_code == 503


def test_metrics_are_prometheus_text(app, client):
    from tests.factories import bearer, make_user, token_for

    with app.app_context():
        admin = token_for(make_user("admin"))
    client.get("/")
    resp = client.get("/metrics", headers=bearer(admin))
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    text = resp.get_data(as_text=True)
    assert "# TYPE ggzy_http_requests_total counter" in text
    assert 'ggzy_http_requests_total{endpoint="/",method="GET",status="200"}' in text
    assert "ggzy_http_request_seconds_bucket" in text


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_trusted_proxies_only(app, hops, seen):
    """A bid's IP is evidence: behind a trusted proxy it is the forwarded client's; without one,
    a forged X-Forwarded-For is ignored."""
    from flask import request

    from core.app import create_app
    from tests.conftest import app_config

    own = create_app(app_config(GGZY_TRUSTED_PROXIES=hops))
    own.add_url_rule("/test-remote-addr", "remote_addr", lambda: request.remote_addr)
    resp = own.test_client().get("/test-remote-addr", headers={"X-Forwarded-For": "203.0.113.9"},
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.get_data(as_text=True) == seen
