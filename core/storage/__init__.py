"""The object store behind every file of the platform (DESIGN §3 item 4, §8).

Two backends with the same behaviour and the same test suite: :class:`LocalStorage` (a directory,
the embedded default) and :class:`S3Storage` (MinIO or any S3 with object lock, production).
The app factory builds one with :func:`storage_from_config` and keeps it in
``app.extensions["storage"]``; code reaches it with :func:`get_storage`.  See docs/storage.md.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from core.storage.base import (
    CONTENT_PREFIX,
    ChecksumMismatch,
    ObjectInfo,
    ObjectNotFound,
    RetentionError,
    Storage,
    StorageError,
    WriteOnceViolation,
    content_key,
)
from core.storage.local import LocalStorage
from core.storage.s3 import S3Storage

logger = logging.getLogger(__name__)

__all__ = [
    "CONTENT_PREFIX", "ChecksumMismatch", "LocalStorage", "ObjectInfo", "ObjectNotFound", "RetentionError",
    "S3Storage", "Storage", "StorageError", "WriteOnceViolation", "content_key", "get_storage",
    "storage_from_config",
]

_TRUE = {"1", "true", "yes", "on"}


def storage_from_config(config: Mapping) -> Storage:
    """Build the backend named by ``GGZY_STORAGE`` (``local`` by default, or ``s3``).  The local
    store keeps the metadata of the files it adopts in the app's database (core/storage/catalog.py).

    Nothing is contacted here (the S3 bucket is checked or created on first use), so an app can
    start while the object store is down and report it through /healthz.
    """
    kind = str(config.get("GGZY_STORAGE") or "local").strip().lower()
    if kind == "local":  # adopted files (bid packages) are described in the app's database
        from core.storage.catalog import DatabaseCatalog

        return LocalStorage(Path(config.get("GGZY_STORAGE_DIR") or "instance/storage"), catalog=DatabaseCatalog())
    if kind == "s3":
        return _s3_from_config(config)
    raise StorageError(f"GGZY_STORAGE must be 'local' or 's3', not {kind!r}")


def _s3_from_config(config: Mapping) -> S3Storage:
    endpoint = str(config.get("GGZY_S3_ENDPOINT") or "")
    if not endpoint:
        raise StorageError("GGZY_STORAGE=s3 needs GGZY_S3_ENDPOINT")
    secure = _flag(config.get("GGZY_S3_SECURE"))
    if "://" in endpoint:  # accept a URL too; its scheme decides TLS
        parts = urlsplit(endpoint)
        endpoint, secure = parts.netloc, parts.scheme == "https"
    return S3Storage(endpoint, access_key=str(config.get("GGZY_S3_ACCESS_KEY") or ""),
                     secret_key=str(config.get("GGZY_S3_SECRET_KEY") or ""),
                     bucket=str(config.get("GGZY_S3_BUCKET") or "ggzy"), secure=secure,
                     region=config.get("GGZY_S3_REGION") or "us-east-1")


def _flag(value) -> bool:
    return value if isinstance(value, bool) else str(value or "").strip().lower() in _TRUE


def get_storage() -> Storage:
    """The current app's store (flask is imported here so this package never needs an app)."""
    from flask import current_app

    return current_app.extensions["storage"]
