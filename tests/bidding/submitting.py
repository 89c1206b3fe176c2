"""Helpers of the submission tests: a lot that takes bids, bidders, packages, and a chunked upload
done through the public API exactly as the bidder tool does it."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bidding import services
from bidding.package import container as c
from bidding.package import sealing
from core.events import commit
from tests.bidding.factories import make_bidder, make_custodians, make_lot
from tests.bidding.helpers import write_files
from tests.factories import bearer, token_for


class Bidder:
    def __init__(self, user, sign, encrypt):
        self.user, self.sign, self.encrypt = user, sign, encrypt
        self.token = token_for(user)
        self.headers = bearer(self.token)

    @property
    def org_id(self) -> int:
        return self.user.organisation_id


def open_lot(**changes):
    """A published lot with its opening key (three custodians); returns the lot."""
    lot = make_lot()
    make_custodians(lot.id)
    services.create_opening_key(lot_id=lot.id)
    for name, value in changes.items():
        setattr(lot, name, value)
    commit()
    return lot


def new_bidder(org=None) -> Bidder:
    user, sign, encrypt = make_bidder() if org is None else _bidder_in(org)
    commit()
    return Bidder(user, sign, encrypt)


def _bidder_in(org):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from tests.bidding.factories import register
    from tests.factories import make_user

    user = make_user("bidder", org=org)
    sign, encrypt = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    register(user, sign, kind="sign", owner={"organisation_id": org.id})
    register(user, encrypt, kind="encrypt", owner={"organisation_id": org.id})
    return user, sign, encrypt


def package(root: Path, lot, bidder: Bidder, *, size: int = 3000, name: str = "bid.pkg") -> bytes:
    """A valid sealed package of ``size`` random bytes of documents for ``lot``."""
    opening = c.b64d(services.opening_key(lot_id=lot.id).public_key)
    out = root / name
    sealing.pack(out=out, lot_id=lot.id, opening_public=opening, bidder_sign=bidder.sign,
                 bidder_encrypt_public=c.raw_public(bidder.encrypt),
                 documents=write_files(root / f"{name}.d", {"tech.pdf": os.urandom(size)}),
                 info={"schedule": None}, device={"mac": ["02:00:00:00:00:aa"], "disk": ["SN-1"]},
                 created_at="2026-03-01T00:00:00Z", segment_size=64 * 1024)
    return out.read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def start(client, bidder: Bidder, lot_id: int, data: bytes):
    return client.post(f"/api/bidding/lots/{lot_id}/uploads", headers=bidder.headers,
                       json={"size": len(data), "sha256": sha(data)})


def put_chunk(client, bidder: Bidder, upload_id: str, data: bytes, offset: int, length: int, *, digest=None):
    part = data[offset:offset + length]
    return client.put(f"/api/bidding/uploads/{upload_id}/chunks?offset={offset}", data=part,
                      headers={**bidder.headers, "X-Chunk-SHA256": digest or sha(part),
                               "Content-Type": "application/octet-stream"})


def upload_all(client, bidder: Bidder, lot_id: int, data: bytes, *, chunk: int = 1000) -> str:
    """Create a session and send every chunk; returns the upload id (not finished)."""
    created = start(client, bidder, lot_id, data)
    assert created.status_code == 201, created.get_json()
    upload_id = created.get_json()["id"]
    for offset in range(0, len(data), chunk):
        resp = put_chunk(client, bidder, upload_id, data, offset, chunk)
        assert resp.status_code == 200, resp.get_json()
    return upload_id


def finish(client, bidder: Bidder, upload_id: str):
    return client.post(f"/api/bidding/uploads/{upload_id}/finish", headers=bidder.headers)


def submit(client, bidder: Bidder, lot_id: int, data: bytes, *, chunk: int = 1000):
    return finish(client, bidder, upload_all(client, bidder, lot_id, data, chunk=chunk))
