"""Fixtures of the bidding tests.

Users made by the factories get a cheap argon2 hash here: the tests need many users (custodians,
bidders) and the production parameters cost ~0.5 s each on a busy 2-core machine.  Nothing in
these tests signs in with a password, so the hash strength is irrelevant to what they check.
"""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch):
    import core.identity

    monkeypatch.setattr(core.identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def fresh_store(app, tmp_path, monkeypatch):
    """An empty object store and chunk area per test: lot ids repeat once the tables are emptied.  The
    store keeps adopted packages' metadata in the database, as the app's store does."""
    from core.storage import LocalStorage
    from core.storage.catalog import DatabaseCatalog

    store = LocalStorage(tmp_path / "store", catalog=DatabaseCatalog())
    monkeypatch.setitem(app.extensions, "storage", store)
    monkeypatch.setitem(app.config, "GGZY_UPLOAD_DIR", str(tmp_path / "uploads"))
    return store
