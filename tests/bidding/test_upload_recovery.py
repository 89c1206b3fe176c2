"""Uploads that go wrong in the middle: a malformed declared hash, a chunk that arrives while its
session is collected, chunks that do not make the declared package, a bidder who gives up.
Each leaves a clear 4xx and a session the bidder can still finish or abandon, never a 500."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import delete, func, select, update

from bidding import services
from bidding.models import Bid, Upload
from bidding.services.chunks import ChunkArea, ChunkError
from core.db import db
from core.storage import get_storage
from tests.bidding.submitting import finish, new_bidder, open_lot, package, put_chunk, sha, start, upload_all

pytestmark = pytest.mark.usefixtures("fresh_store")


def test_a_declared_hash_with_a_trailing_newline_is_refused_with_a_reason(client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    resp = client.post(f"/api/bidding/lots/{lot.id}/uploads", headers=bidder.headers,
                       json={"size": len(data), "sha256": sha(data) + "\n"})
    assert resp.status_code == 422, resp.get_json()
    assert "64 lower-case hex digits" in str(resp.get_json())
    assert db.session.scalar(select(func.count(Upload.id)).where(Upload.lot_id == lot.id)) == 0


class _CollectedWhileReading(io.RawIOBase):
    """A chunk body during whose reading the lot closes and its session folder is collected."""

    def __init__(self, area: ChunkArea, session: str, data: bytes, *, at_end: bool):
        self.area, self.session, self.data, self.at_end, self.pos = area, session, data, at_end, 0

    def read(self, n: int = -1) -> bytes:
        if self.pos == 0 and not self.at_end or self.pos >= len(self.data) and self.at_end:
            self.area.discard(self.session)
        part = self.data[self.pos:self.pos + (n if n >= 0 else len(self.data))]
        self.pos += len(part)
        return part


@pytest.mark.parametrize("at_end", [False, True], ids=["while-streaming", "before-the-rename"])
def test_a_chunk_whose_session_is_collected_meanwhile_is_refused_not_a_crash(ctx, tmp_path, at_end):
    area, session, data = ChunkArea(tmp_path), "a" * 32, b"x" * 5000
    with pytest.raises(ChunkError) as err:
        area.write(session, offset=0, stream=_CollectedWhileReading(area, session, data, at_end=at_end),
                   length=len(data), sha256=sha(data), total=len(data))
    assert err.value.code == "upload_collected"
    assert area.chunks(session) == []
    refusal = services.uploads.chunk_refusal(err.value)
    assert (refusal.status, refusal.code) == (409, "upload_collected")


@pytest.mark.parametrize("bad_offset", [0, 2000], ids=["header", "ciphertext"])
def test_chunks_that_are_not_the_declared_package_are_discarded_and_the_upload_resumes(client, ctx, tmp_path,
                                                                                        bad_offset):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    upload_id = start(client, bidder, lot.id, data).get_json()["id"]
    wrong = data[:bad_offset] + bytes(b ^ 0xFF for b in data[bad_offset:bad_offset + 1000]) + data[bad_offset + 1000:]
    for offset in range(0, len(data), 1000):  # every chunk matches its own hash; one is of other bytes
        assert put_chunk(client, bidder, upload_id, wrong, offset, 1000).status_code == 200
    refused = finish(client, bidder, upload_id)
    assert refused.status_code == 422 and refused.get_json()["error"] == "package_hash_mismatch", refused.get_json()
    assert "send the package again" in refused.get_json()["detail"]
    status = client.get(f"/api/bidding/uploads/{upload_id}", headers=bidder.headers).get_json()
    assert (status["chunks"], status["missing"]) == ([], [{"offset": 0, "length": len(data)}])
    resumed = start(client, bidder, lot.id, data).get_json()  # a restarted client finds the same session
    assert resumed["id"] == upload_id
    for offset in range(0, len(data), 1000):
        assert put_chunk(client, bidder, upload_id, data, offset, 1000).status_code == 200
    assert finish(client, bidder, upload_id).status_code == 201


def test_a_bidder_abandons_an_unfinished_upload_and_its_chunks_go(client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder)
    upload_id = start(client, bidder, lot.id, data).get_json()["id"]
    assert put_chunk(client, bidder, upload_id, data, 0, 1000).status_code == 200
    assert client.delete(f"/api/bidding/uploads/{upload_id}", headers=bidder.headers).status_code == 204
    assert services.chunk_area().chunks(upload_id) == []
    assert client.get(f"/api/bidding/uploads/{upload_id}", headers=bidder.headers).status_code == 404
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


def test_a_finished_upload_cannot_be_abandoned_it_is_a_bid(client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    upload_id = upload_all(client, bidder, lot.id, package(tmp_path, lot, bidder))
    assert finish(client, bidder, upload_id).status_code == 201
    resp = client.delete(f"/api/bidding/uploads/{upload_id}", headers=bidder.headers)
    assert resp.status_code == 409 and resp.get_json()["error"] == "upload_finished"
    assert "withdraw" in resp.get_json()["detail"]


def _stale(upload_id: str, **row) -> Upload:
    """The session as a request loaded it, while another request changes its row underneath."""
    upload = db.session.get(Upload, upload_id)
    stmt = update(Upload).where(Upload.id == upload_id) if row else delete(Upload).where(Upload.id == upload_id)
    db.session.execute((stmt.values(**row) if row else stmt).execution_options(synchronize_session=False))
    return upload


def test_an_abandon_that_loses_the_race_to_a_finish_leaves_the_bid_alone(client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    upload_id = upload_all(client, bidder, lot.id, package(tmp_path, lot, bidder))
    upload = _stale(upload_id, state="finished")  # the finish committed after this request read it
    with pytest.raises(services.UploadError) as err:
        services.cancel_upload(upload=upload)
    assert (err.value.status, err.value.code) == (409, "upload_finished")
    assert db.session.scalar(select(func.count(Upload.id)).where(Upload.id == upload_id)) == 1


def test_a_finish_that_loses_the_race_to_an_abandon_is_refused_not_a_crash(client, ctx, tmp_path):
    lot, bidder = open_lot(), new_bidder()
    upload_id = upload_all(client, bidder, lot.id, package(tmp_path, lot, bidder))
    upload = _stale(upload_id)  # the abandon committed after this request read the session
    with pytest.raises(services.UploadError) as err:
        services.finish_upload(upload=upload, actor=bidder.user)
    assert (err.value.status, err.value.code) == (409, "upload_abandoned")
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0


@pytest.mark.parametrize("chunk", [50_000, 400_000], ids=["refused-while-reading", "before-the-store"])
def test_chunks_that_vanish_during_a_finish_give_a_409_not_a_500(client, ctx, tmp_path, monkeypatch, chunk):
    """Chunks removed under a finish that reads them (the session row lock keeps an abandon or a
    concurrent finish away, the lot's hold keeps the close's collection away: this guards the rest).
    Several chunks assembled (not all in the package file): a refusal, whose remaining bytes are read
    to tell a broken upload from a broken package, finds them gone; one chunk and a store without a
    local spool (S3): the package passed its check, the store's put finds it gone."""
    from bidding.services import submission

    lot, bidder = open_lot(), new_bidder()
    data = package(tmp_path, lot, bidder, size=300_000)
    upload_id = upload_all(client, bidder, lot.id, data, chunk=chunk)
    real = submission.validate_package
    if chunk < len(data):
        monkeypatch.setattr(ChunkArea, "package_file", lambda self, session, total: None)
    else:
        monkeypatch.setattr(get_storage(), "spool_path", lambda: None)

    def vanishing(**kwargs):
        if chunk < len(data):
            kwargs["stream"].read(10)
            services.chunk_area().discard(upload_id)
            raise services.PackageRefused("the package broke off", code="not_a_package")
        report = real(**kwargs)
        services.chunk_area().discard(upload_id)
        return report

    monkeypatch.setattr(submission, "validate_package", vanishing)
    resp = finish(client, bidder, upload_id)
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"] == ("upload_collected" if chunk < len(data) else "upload_incomplete")
    assert db.session.scalar(select(func.count(Bid.id)).where(Bid.lot_id == lot.id)) == 0
