"""Shared fixtures: one app per session on SQLite (default) or PostgreSQL (GGZY_TEST_DATABASE_URL),
every table emptied after each test, eager tasks unless a test starts a real worker.

Services a test needs are started here or found through GGZY_TEST_*; when GGZY_TEST_REQUIRE lists a
service, its absence fails the suite instead of skipping (DESIGN §11).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support import required

TMP = Path(tempfile.mkdtemp(prefix="ggzy-test-"))


def database_url() -> str:
    return os.environ.get("GGZY_TEST_DATABASE_URL") or f"sqlite:///{TMP / 'test.sqlite'}"


def app_config(**extra) -> dict:
    cfg = {
        "GGZY_ENV": "test",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url(),
        "GGZY_TASKS_EAGER": True,
        "GGZY_BROKER_URL": "memory://",
        "GGZY_KEY_DIR": str(TMP / "keys"),
        "GGZY_STORAGE": "local",
        "GGZY_STORAGE_DIR": str(TMP / "storage"),
        "GGZY_INSTANCE_DIR": str(TMP),
        "SERVER_NAME": None,
        "GGZY_SSE_MAX_SECONDS": 3,  # a live stream ends soon, so clients that read it to the end finish
    }
    cfg.update(extra)
    return cfg


def pytest_collection_modifyitems(items):
    """Tests that never ask for the app do not depend on the database: run them once only.  Tests that
    drive the browser are marked ``browser``: `make test` runs them once, on PostgreSQL when it can."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "app" not in names:
            item.add_marker(pytest.mark.nodb)
        if "browser" in names:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def app():
    from core.app import create_app
    from core.db import db
    from core.keys import platform_keys

    if "pg" in required() and not os.environ.get("GGZY_TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.fail("GGZY_TEST_REQUIRE has pg but GGZY_TEST_DATABASE_URL is not a PostgreSQL URL")
    application = create_app(app_config())
    with application.app_context():
        db.drop_all()
        db.create_all()
        platform_keys().init()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(TMP, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_db(request):
    """Empty every table after each test: simple, and correct across processes (workers, browser)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from core.db import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def ctx(app):
    """An app context with a fresh session for service-level tests."""
    from core.db import db

    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()
