"""The path of a large package (docs/submission.md, "Large packages"): chunks are written once, in
place, into the session's package file; the finish checks and hashes that file in one read and the
store adopts it (a second name, then a rename: no copy); the stored version's metadata is a row in
the bid's own transaction, not a sidecar file."""
from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import select

from bidding import services
from bidding.models import Bid
from bidding.services.chunks import Chunk, ChunkArea
from core.db import db
from core.storage import ObjectNotFound, get_storage
from core.storage.catalog import StoredObject
from tests.bidding.submitting import finish, new_bidder, open_lot, package, put_chunk, sha, start, upload_all

pytestmark = pytest.mark.usefixtures("fresh_store")


def _version_dir(key: str):
    return get_storage().root / "objects" / f"{key}~v"


def test_the_stored_package_is_the_file_its_chunks_were_written_into(client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=5000)
    upload_id = upload_all(client, bidder, lot.id, data)
    written = services.chunk_area().package_file(upload_id, len(data))
    assert written is not None and written.read_bytes() == data
    inode = os.stat(written).st_ino
    assert finish(client, bidder, upload_id).status_code == 201
    bid = db.session.scalar(select(Bid).where(Bid.lot_id == lot.id))
    info = get_storage().stat(bid.package_key)
    stored = _version_dir(bid.package_key) / f"{info.version_id}.data"
    assert os.stat(stored).st_ino == inode  # the same file, renamed in: no copy
    assert get_storage().verify(bid.package_key) and stored.read_bytes() == data
    assert not list((get_storage().root / "tmp").iterdir())
    assert services.chunk_area().chunks(upload_id) == []  # the session went after the commit


@pytest.mark.parametrize("how", ["upload", "one-request"])
def test_a_stored_package_is_described_by_a_row_not_a_sidecar(client, ctx, tmp_path, how):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    if how == "upload":
        resp = finish(client, bidder, upload_all(client, bidder, lot.id, data))
    else:
        resp = client.post(f"/api/bidding/lots/{lot.id}/bids", data=data,
                           headers={**bidder.headers, "X-Package-SHA256": sha(data),
                                    "Content-Type": "application/octet-stream"})
    assert resp.status_code == 201, resp.get_json()
    key = db.session.get(Bid, resp.get_json()["id"]).package_key
    row = db.session.scalar(select(StoredObject).where(StoredObject.key == key))
    assert (row.sha256, row.size, row.write_once) == (sha(data), len(data), True)
    assert not list(_version_dir(key).glob("*.json"))  # no sidecar, so none of its fsyncs
    info = get_storage().stat(key)  # read from the row
    assert (info.version_id, info.sha256, info.size) == (row.version_id, sha(data), len(data))
    assert get_storage().versions(key) == [info] and key in list(get_storage().list("bidding/packages/"))


def test_an_adopted_version_rolled_back_with_its_transaction_leaves_nothing(ctx):
    store = get_storage()
    spool = store.spool_path()
    spool.write_bytes(b"sealed bytes")
    info = store.adopt("bidding/packages/9/x", spool, size=12, sha256=sha(b"sealed bytes"), write_once=True)
    data = _version_dir("bidding/packages/9/x") / f"{info.version_id}.data"
    assert data.exists() and store.get_bytes("bidding/packages/9/x") == b"sealed bytes"
    db.session.rollback()  # the bid that would have referred to it is not recorded
    with pytest.raises(ObjectNotFound):
        store.stat("bidding/packages/9/x")
    assert not data.exists()


def test_chunks_that_are_not_the_declared_package_are_refused_in_place_and_leave_nothing(client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    upload_id = start(client, bidder, lot.id, data).get_json()["id"]
    wrong = data[:1500] + bytes(b ^ 0xFF for b in data[1500:1600]) + data[1600:]
    for offset in range(0, len(data), 1000):  # each chunk matches its own hash, not the package's
        assert put_chunk(client, bidder, upload_id, wrong, offset, 1000).status_code == 200
    assert services.chunk_area().package_file(upload_id, len(data)).read_bytes() == wrong
    refused = finish(client, bidder, upload_id)
    assert refused.status_code == 422 and refused.get_json()["error"] == "package_hash_mismatch", refused.get_json()
    assert db.session.scalar(select(StoredObject)) is None
    assert not list((get_storage().root / "tmp").iterdir())  # the adopted name is removed too
    assert not (services.chunk_area().root / upload_id).exists()


def test_a_chunk_whose_range_is_in_flight_is_received_into_a_file_of_its_own(tmp_path):
    area, session = ChunkArea(tmp_path), "b" * 32
    data = os.urandom(3000)
    area.write(session, offset=0, stream=io.BytesIO(data[:1000]), length=1000, sha256=sha(data[:1000]), total=3000)
    (tmp_path / session / f".resv.1000.1000.{'c' * 32}").touch()  # another request is writing 1000..2000
    area.write(session, offset=1000, stream=io.BytesIO(data[1000:2000]), length=1000, sha256=sha(data[1000:2000]),
               total=3000)
    assert (tmp_path / session / Chunk(1000, 1000, sha(data[1000:2000])).name()).stat().st_size == 1000
    area.write(session, offset=2000, stream=io.BytesIO(data[2000:]), length=1000, sha256=sha(data[2000:]), total=3000)
    assert area.package_file(session, 3000) is None  # not all in place: the finish assembles a copy
    reader = area.open(session, 3000)
    try:
        assert reader.read() == data
    finally:
        reader.close()
    (tmp_path / session / f".resv.1000.1000.{'c' * 32}").unlink()
    area.write(session, offset=1000, stream=io.BytesIO(data[1000:2000]), length=1000, sha256=sha(data[1000:2000]),
               total=3000)  # the same chunk again: idempotent, the package file is not written
    assert (tmp_path / session / "package").read_bytes()[1000:2000] == b"\0" * 1000


def test_a_finish_reads_its_own_name_for_the_package_so_chunks_vanishing_meanwhile_do_not_matter(
        client, ctx, tmp_path, monkeypatch):
    """In place, the finish links the package file before it reads it: what it checks and hashes is
    what the store adopts, whatever happens to the session's folder meanwhile."""
    from bidding.services import submission

    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=300_000)
    upload_id = upload_all(client, bidder, lot.id, data, chunk=50_000)
    real = submission.validate_package

    def vanishing(**kwargs):
        services.chunk_area().discard(upload_id)
        return real(**kwargs)

    monkeypatch.setattr(submission, "validate_package", vanishing)
    assert finish(client, bidder, upload_id).status_code == 201
    bid = db.session.scalar(select(Bid).where(Bid.lot_id == lot.id))
    assert get_storage().get_bytes(bid.package_key) == data and get_storage().verify(bid.package_key)
