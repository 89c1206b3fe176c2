"""Key registry (public halves of organisations' and custodians' keys) and the platform's own keys.

Only public keys are registered, each with proof of possession, a validity period and revocation
history.  An X25519 key cannot sign, so its proof is an HMAC under the X25519 exchange with the
platform's registration key: only the holder of the private half can compute it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core import crypto
from core.audit import audit
from core.clock import now
from core.db import UTCDateTime, db
from core.errors import Conflict, NotFound, ValidationFailed
from core.identity import timed_serializer

CHALLENGE_MAX_AGE = 600
RULE_KEYS = "电子签名法 第十三条 (电子签名制作数据仅归电子签名人控制)"


class PublicKey(db.Model):
    """A registered public key of an organisation (bidders, agencies) or a user (custodians)."""

    __tablename__ = "core_public_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # sign | encrypt
    algorithm: Mapped[str] = mapped_column(String(10))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of 32 raw bytes
    #: indexed: every submission and custody check looks keys up by owner
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("core_organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"), index=True)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("core_users.id"))
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def owner_org_id(self):
        return self.organisation_id

    @property
    def owner_user_id(self):
        return self.user_id

    def is_valid_at(self, when: dt.datetime) -> bool:
        """Valid at an instant: inside its period and not revoked before it."""
        if self.revoked_at is not None and self.revoked_at <= when:
            return False
        return self.valid_from <= when < self.valid_until


# --- platform keys ----------------------------------------------------------------------------

class PlatformKeys:
    """The platform's signing keys (rotating; old public halves stay verifiable) and its X25519 key.

    Layout of ``GGZY_KEY_DIR``: ``platform-keys.json`` (public manifest), ``signing-<hex>.pem`` and
    ``encryption.pem`` (mode 0600).
    """

    def __init__(self, key_dir: str | Path):
        self.dir = Path(key_dir)
        self.manifest_path = self.dir / "platform-keys.json"

    def manifest(self) -> dict:
        """The public manifest (a fresh copy: callers may modify it)."""
        return json.loads(json.dumps(self._cached_manifest()))

    def _cached_manifest(self) -> dict:
        """Parsed once per process and re-read whenever the file changes (a rotation replaces it, so
        its inode, mtime or size changes): one stat per call instead of a read and a parse."""
        try:
            st = os.stat(self.manifest_path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no platform keys in {self.dir}; run 'ggzy keys init'") from None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = _MANIFESTS.get(self.manifest_path)
        if hit is None or hit[0] != stamp:
            hit = (stamp, json.loads(self.manifest_path.read_text()))
            _MANIFESTS[self.manifest_path] = hit
        return hit[1]

    def current_kid(self) -> str:
        """The kid ``sign`` would use now."""
        return self._cached_manifest()["current"]

    def init(self) -> dict:
        """Create the keys if absent (idempotent)."""
        if self.manifest_path.exists():
            return self.manifest()
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        enc = crypto.generate("encrypt")
        crypto.save_private(enc, self.dir / "encryption.pem")
        manifest = {"signing": [], "current": None,
                    "encryption": {"kid": crypto.key_id("x25519", crypto.raw_public(enc)),
                                   "public_key": crypto.b64e(crypto.raw_public(enc))}}
        self._write(manifest)
        return self.rotate()

    def rotate(self) -> dict:
        """A new current signing key; the previous one is retired but stays in the manifest."""
        manifest = self.manifest()
        key = crypto.generate("sign")
        kid = crypto.key_id("ed25519", crypto.raw_public(key))
        crypto.save_private(key, self.dir / f"signing-{kid.split(':')[1]}.pem")
        stamp = now().isoformat()
        for entry in manifest["signing"]:
            entry.setdefault("retired_at", stamp)
        manifest["signing"].append({"kid": kid, "algorithm": "ed25519", "created_at": stamp,
                                    "public_key": crypto.b64e(crypto.raw_public(key))})
        manifest["current"] = kid
        self._write(manifest)
        return manifest

    def _write(self, manifest: dict) -> None:
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        os.replace(tmp, self.manifest_path)

    def sign(self, data: bytes) -> tuple[str, str]:
        """Sign with the current key; returns (kid, base64 signature)."""
        kid = self.current_kid()
        path = self.dir / f"signing-{kid.split(':')[1]}.pem"
        key = _SIGNING.get(path)
        if key is None:  # a signing key never changes under its kid (the kid is its public key's hash)
            key = _SIGNING.setdefault(path, crypto.load_private(path))
        return kid, crypto.b64e(key.sign(data))

    def verify(self, kid: str, data: bytes, signature_b64: str) -> bool:
        """Verify with any key the platform ever used, current or retired."""
        entry = next((e for e in self._cached_manifest()["signing"] if e["kid"] == kid), None)
        if entry is None:
            return False
        try:
            crypto.load_public("ed25519", crypto.b64d(entry["public_key"])).verify(
                crypto.b64d(signature_b64), data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def encryption_private(self):
        return crypto.load_private(self.dir / "encryption.pem")

    def encryption_public(self):
        return crypto.load_public("x25519", crypto.b64d(self._cached_manifest()["encryption"]["public_key"]))


#: per-process caches: manifest path -> ((inode, mtime, size), parsed manifest); PEM path -> private key
_MANIFESTS: dict[Path, tuple[tuple[int, int, int], dict]] = {}
_SIGNING: dict[Path, object] = {}


def platform_keys() -> PlatformKeys:
    return PlatformKeys(current_app.config["GGZY_KEY_DIR"])


# --- registration -----------------------------------------------------------------------------

def _challenge_serializer() -> URLSafeTimedSerializer:
    return timed_serializer("ggzy-key-challenge")


def issue_challenge(user) -> str:
    """A signed, expiring nonce bound to the user asking; nothing is stored."""
    return _challenge_serializer().dumps({"u": user.id, "n": secrets.token_hex(16)})


def owner_ref(*, organisation_id: int | None, user_id: int | None) -> str:
    return f"organisation:{organisation_id}" if organisation_id else f"user:{user_id}"


def register_key(*, actor, kind: str, public_key_b64: str, challenge: str, proof: str,
                 organisation_id: int | None = None, user_id: int | None = None,
                 valid_days: int = 730) -> PublicKey:
    """Register a public key after checking the challenge and the proof of possession.

    :raises ValidationFailed: unknown kind, malformed key, expired challenge, bad proof
    :raises Conflict: the key is already registered
    """
    if kind not in crypto.ALGORITHMS:
        raise ValidationFailed("kind is 'sign' or 'encrypt'", code="invalid_key_kind")
    if (organisation_id is None) == (user_id is None):
        raise ValidationFailed("a key belongs to exactly one organisation or one user", code="invalid_key_owner")
    algorithm = crypto.ALGORITHMS[kind]
    raw = _decode_key(public_key_b64)
    _check_challenge(actor, challenge)
    message = crypto.pop_message(challenge=challenge, kind=kind, public_key_b64=public_key_b64,
                                 owner=owner_ref(organisation_id=organisation_id, user_id=user_id))
    if not _proof_ok(algorithm, raw, message, proof):
        raise ValidationFailed("proof of possession does not verify", code="bad_proof_of_possession", rule=RULE_KEYS)
    kid = crypto.key_id(algorithm, raw)
    if db.session.scalar(select(PublicKey.id).where(PublicKey.kid == kid)):
        raise Conflict("this key is already registered", code="duplicate_key")
    start = now()
    row = PublicKey(kid=kid, kind=kind, algorithm=algorithm, public_key=public_key_b64,
                    organisation_id=organisation_id, user_id=user_id, registered_by=actor.id,
                    valid_from=start, valid_until=start + dt.timedelta(days=valid_days))
    db.session.add(row)
    db.session.flush()
    audit("key.registered", object_type="public_key", object_id=row.id, kid=kid, actor=actor)
    return row


def _decode_key(public_key_b64: str) -> bytes:
    try:
        raw = crypto.b64d(public_key_b64)
    except ValueError:
        raise ValidationFailed("public_key is not base64", code="invalid_public_key") from None
    if len(raw) != 32:
        raise ValidationFailed("public_key must be 32 raw bytes", code="invalid_public_key")
    return raw


def _check_challenge(actor, challenge: str) -> None:
    try:
        data = _challenge_serializer().loads(challenge, max_age=CHALLENGE_MAX_AGE)
    except BadSignature:
        raise ValidationFailed("challenge expired or not issued by this platform",
                               code="invalid_challenge") from None
    if data.get("u") != actor.id:
        raise ValidationFailed("challenge was issued to another user", code="invalid_challenge")


def _proof_ok(algorithm: str, raw: bytes, message: bytes, proof: str) -> bool:
    try:
        proof_bytes = crypto.b64d(proof)
        public = crypto.load_public(algorithm, raw)
        if algorithm == "ed25519":
            public.verify(proof_bytes, message)
            return True
        mac_key = crypto.x25519_mac_key(platform_keys().encryption_private(), public)
        return hmac.compare_digest(hmac.new(mac_key, message, hashlib.sha256).digest(), proof_bytes)
    except (InvalidSignature, ValueError):
        return False


def revoke_key(*, key: PublicKey, reason: str) -> PublicKey:
    """Revoke from now on; signatures made before stay attributable (history kept)."""
    if key.revoked_at is not None:
        raise Conflict("key already revoked", code="key_already_revoked")
    key.revoked_at = now()
    key.revocation_reason = reason[:200]
    audit("key.revoked", object_type="public_key", object_id=key.id, kid=key.kid, reason=reason)
    return key


def get_key(kid: str) -> PublicKey:
    row = db.session.scalar(select(PublicKey).where(PublicKey.kid == kid))
    if row is None:
        raise NotFound(f"no registered key {kid}", code="unknown_key")
    return row


def valid_keys(*, organisation_id: int | None = None, user_id: int | None = None, kind: str | None = None):
    """Keys of an owner valid now."""
    q = select(PublicKey)
    if organisation_id is not None:
        q = q.where(PublicKey.organisation_id == organisation_id)
    if user_id is not None:
        q = q.where(PublicKey.user_id == user_id)
    if kind:
        q = q.where(PublicKey.kind == kind)
    moment = now()
    return [k for k in db.session.scalars(q) if k.is_valid_at(moment)]
