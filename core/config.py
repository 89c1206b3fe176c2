"""Configuration: a class of embedded defaults overridden by ``GGZY_*`` environment variables.

The names are DESIGN §3's canonical variables.  Config is read when the app is built, never at
import time, so tests and the CLI can set the environment first.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_SECRET = "ggzy-demo-insecure-secret-key"  # refused when GGZY_ENV=production
#: the values GGZY_ENV may take; unset means production, anything else is refused (DESIGN §3)
ENVS = ("demo", "production", "test")
#: secrets that are public (this repository, its tests and benchmarks): never accepted in production
KNOWN_SECRETS = frozenset({DEFAULT_SECRET, "test-secret-key-not-for-production", "bench-secret", "change-me",
                           "secret", "changeme"})
#: production needs a secret at least this long, with at least this many distinct characters
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 12

#: environment variable -> Flask config key (where the two differ)
_ENV_TO_KEY = {
    "GGZY_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "GGZY_SECRET_KEY": "SECRET_KEY",
}

_BOOL_KEYS = {"GGZY_S3_SECURE", "GGZY_TASKS_EAGER"}


class ConfigError(ValueError):
    """A configuration variable has a value the platform does not accept; the message names it."""


class ProductionConfigError(RuntimeError):
    """The configuration would run production with demo-only settings."""


def instance_dir() -> Path:
    """The writable instance folder (``GGZY_INSTANCE_DIR``, default ``./instance``)."""
    return Path(os.environ.get("GGZY_INSTANCE_DIR", "instance")).resolve()


def defaults() -> dict:
    """Embedded defaults: SQLite, the SQLAlchemy broker and a local store, all under instance/."""
    inst = instance_dir()
    return {
        "GGZY_ENV": "production",
        "SECRET_KEY": DEFAULT_SECRET,
        #: the public address in every link the platform sends (mail, notifications); never taken from
        #: a request's Host header.  Demo and test default to http://127.0.0.1:<GGZY_PORT>; production
        #: must set it (https)
        "GGZY_BASE_URL": "",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{inst / 'ggzy.sqlite'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "GGZY_BROKER_URL": f"sqla+sqlite:///{inst / 'broker.sqlite'}",
        "GGZY_RESULT_BACKEND": None,
        "GGZY_TASKS_EAGER": False,
        "GGZY_STORAGE": "local",
        "GGZY_STORAGE_DIR": str(inst / "storage"),
        "GGZY_S3_ENDPOINT": "",
        "GGZY_S3_ACCESS_KEY": "",
        "GGZY_S3_SECRET_KEY": "",
        "GGZY_S3_BUCKET": "ggzy",
        "GGZY_S3_SECURE": False,
        "GGZY_KEY_DIR": str(inst / "keys"),
        "GGZY_SMTP_URL": "",
        "GGZY_MAIL_FROM": "noreply@ggzy.local",
        "GGZY_PORT": 5000,
        "GGZY_INSTANCE_DIR": str(inst),
        "GGZY_LOGIN_MAX_FAILURES": 5,
        "GGZY_LOGIN_WINDOW_SECONDS": 900,
        #: the longest wait the per-account backoff imposes between sign-in attempts
        "GGZY_LOGIN_BACKOFF_MAX_SECONDS": 300,
        #: JSON request bodies nested deeper than this are refused (400) before they are parsed
        "GGZY_JSON_MAX_DEPTH": 64,
        "GGZY_OUTBOX_GRACE_SECONDS": 30,
        "GGZY_SCHEDULER_LEASE_SECONDS": 30,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "API_TITLE": "ggzy — public resource trading platform API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        #: the opening hall's live stream ends after this many seconds and the browser reconnects
        "GGZY_SSE_MAX_SECONDS": 55,
        #: reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host; 0 = none.  The
        #: client address is evidence (a bid's IP feeds the collusion detector, sign-in limits count
        #: by address): behind a proxy it must be the client's, yet never taken from an untrusted header
        "GGZY_TRUSTED_PROXIES": 0,
    }


def from_environ(environ: os._Environ | dict | None = None) -> dict:
    """Read every ``GGZY_*`` variable, converting booleans and integers where the default is one."""
    environ = os.environ if environ is None else environ
    base = defaults()
    out: dict = {}
    for name, raw in environ.items():
        if not name.startswith("GGZY_") or name.startswith("GGZY_TEST_"):
            continue
        key = _ENV_TO_KEY.get(name, name)
        if name in _BOOL_KEYS:
            out[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif isinstance(base.get(key), int) and not isinstance(base.get(key), bool):
            try:
                out[key] = int(raw)
            except ValueError:
                raise ValueError(f"{name} must be an integer, not {raw!r}") from None
        else:
            out[key] = raw
    return out


def build_config(overrides: dict | None = None) -> dict:
    """Defaults, then the environment, then explicit overrides (tests), then derived values.

    :raises ConfigError: ``GGZY_ENV`` is not one of demo|production|test (``Production`` included)
    :raises ProductionConfigError: production with a demo-only or weak setting
    """
    cfg = defaults()
    cfg.update(from_environ())
    cfg.update(overrides or {})
    if cfg["GGZY_ENV"] not in ENVS:
        raise ConfigError(f"GGZY_ENV must be one of {'|'.join(ENVS)} (unset means production), "
                          f"not {cfg['GGZY_ENV']!r}")
    cfg["DEBUG"] = False
    cfg["TESTING"] = cfg["GGZY_ENV"] == "test"
    if cfg["GGZY_ENV"] == "test":
        cfg.setdefault("WTF_CSRF_ENABLED", True)
    cfg["GGZY_BASE_URL"] = _base_url(cfg)
    if cfg["GGZY_ENV"] == "production":
        cfg.update(PRODUCTION_COOKIES)
    check_production(cfg)
    return cfg


#: cookies of a production install travel over HTTPS only, out of reach of scripts, not on cross-site posts
PRODUCTION_COOKIES = {
    "SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": True, "REMEMBER_COOKIE_HTTPONLY": True, "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PREFERRED_URL_SCHEME": "https",
}


def _base_url(cfg: dict) -> str:
    """``GGZY_BASE_URL`` without a trailing slash; demo and test default to the local address."""
    url = str(cfg.get("GGZY_BASE_URL") or "").strip().rstrip("/")
    if not url and cfg["GGZY_ENV"] != "production":
        url = f"http://127.0.0.1:{cfg['GGZY_PORT']}"
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query
                or parts.fragment):
        raise ConfigError(f"GGZY_BASE_URL must be an http(s) address such as https://ggzy.example.cn, "
                          f"not {url!r}")
    return url


def secret_problem(secret: str) -> str | None:
    """Why a secret key is not fit for production, or None: public, short or of too few characters."""
    if not secret or secret in KNOWN_SECRETS:
        return "GGZY_SECRET_KEY must be set to a private value (the demo and test secrets are public)"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"GGZY_SECRET_KEY is too short: at least {MIN_SECRET_LENGTH} characters"
    if len(set(secret)) < MIN_SECRET_DISTINCT:
        return (f"GGZY_SECRET_KEY is too weak: at least {MIN_SECRET_DISTINCT} different characters "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return None


def check_production(cfg: dict) -> None:
    """``GGZY_ENV=production`` refuses demo keys, the demo clock, eager tasks and the default secret."""
    if cfg["GGZY_ENV"] != "production":
        return
    problems = []
    if (secret := secret_problem(str(cfg["SECRET_KEY"] or ""))) is not None:
        problems.append(secret)
    if not str(cfg.get("GGZY_BASE_URL") or "").startswith("https://"):
        problems.append("GGZY_BASE_URL must be set to the platform's public https:// address")
    if cfg.get("GGZY_TASKS_EAGER"):
        problems.append("eager tasks are for unit tests only")
    if str(cfg["GGZY_KEY_DIR"]).rstrip("/").endswith("/demo"):
        problems.append("GGZY_KEY_DIR points at demo keys")
    if problems:
        raise ProductionConfigError("production configuration refused: " + "; ".join(problems))
