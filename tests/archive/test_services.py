"""Records from events: canonical, signed, hash-linked per lot, sealed under signed checkpoints."""
from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from sqlalchemy import select

from archive import confidential, jcs, merkle, services
from archive.models import ArchiveCheckpoint, ArchiveRecord
from archive.services import log
from core import events
from core.db import db
from core.events import OutboxEvent
from tests.archive.conftest import fake_event, lot_events


def _envelope(rec) -> dict:
    return json.loads(services.record_bytes(rec))


def test_every_archived_event_has_a_capture_handler(app):
    from archive.tasks import archived_events
    from core.events import CATALOGUE, HANDLERS

    wanted = {n for n, consumers in CATALOGUE.items() if "archive" in consumers}
    assert wanted and set(archived_events()) == wanted
    assert all(f"archive.capture.{n}" in HANDLERS for n in wanted)
    from core.scheduler import PERIODIC

    assert ("archive-sequence", 1, "archive.sequence") in PERIODIC


def test_outbox_event_is_captured_once_and_sealed(archive):
    events.record("trading.document_downloaded", {"lot_id": 5, "org_id": 9})
    events.commit()  # eager: the capture handler runs now
    ev = db.session.scalar(select(OutboxEvent))
    from core.events import run_handler

    assert run_handler(ev.id, "archive.capture.trading.document_downloaded") == "duplicate"
    assert services.pending_count() == 1
    assert archive.seal() == 1
    rec = db.session.scalar(select(ArchiveRecord))
    assert (rec.chain, rec.seq, rec.lot_id, rec.event_id) == ("lot:5", 1, 5, ev.event_id)
    assert services.pending_count() == 0


def test_records_are_canonical_signed_and_linked(archive):
    lot_events(archive, bids=3)
    archive.add("core.key_registered", {"kid": "ed25519:00"})
    assert archive.seal() == 6
    recs = services.search(chain="lot:7", limit=100)[::-1]
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
    prev = None
    keys = log.platform_keys()
    for rec in recs:
        raw = services.record_bytes(rec)
        env = json.loads(raw)
        assert rfc8785.dumps(env) == raw  # the reference implementation, not our fast path
        payload_bytes = jcs.dumps(env["payload"])
        assert env["sig"]["alg"] == "Ed25519"
        assert keys.verify(env["sig"]["kid"], payload_bytes, env["sig"]["value"])
        assert env["payload"]["prev"] == prev
        prev = hashlib.sha256(payload_bytes).hexdigest()
        assert rec.payload_sha256 == prev
    bid = _envelope(recs[1])["payload"]
    assert bid["data"]["amount"] == "1000000.50" and bid["parties"] == ["org:100"]
    platform = services.search(chain="platform")
    assert [(r.seq, r.lot_id) for r in platform] == [(1, None)]
    assert recs[0].category == "government_procurement" and recs[1].category == "government_procurement"


def test_confidential_payload_is_sealed_to_the_archive_key(archive, app):
    archive.add("experts.committee_drawn", {"lot_id": 3, "experts": ["张三"], "expert_user_ids": [41]})
    archive.seal()
    rec = db.session.scalar(select(ArchiveRecord))
    raw = services.record_bytes(rec)
    assert "张三".encode() not in raw and b"expert_user_ids" not in raw
    payload = json.loads(raw)["payload"]
    assert payload["data"] is None and payload["parties"] == [] and rec.confidential
    key = confidential.archive_key(app.config["GGZY_KEY_DIR"])
    data, plaintext = confidential.open_sealed(payload["sealed"], key, payload["event"]["id"])
    assert data["experts"] == ["张三"]
    assert confidential.check_disclosure(plaintext, payload["sealed"]["commitment"])
    with pytest.raises(ValueError):
        confidential.open_sealed(payload["sealed"], key, "another-event-id")


def test_floats_and_big_integers_become_strings(archive):
    archive.add("bidding.bond_recorded", {"lot_id": 2, "amount": 0.1, "ref": 2**60})
    archive.seal()
    data = _envelope(db.session.scalar(select(ArchiveRecord)))["payload"]["data"]
    assert data["amount"] == "0.1" and data["ref"] == str(2**60)


def test_log_matches_an_independent_tree_and_proofs_verify(archive):
    for i in range(11):
        archive.add("bidding.bid_submitted", {"lot_id": 1 + i % 3, "bidder_org_id": i})
        if i in (3, 7):
            archive.seal()
    archive.seal()
    recs = db.session.scalars(select(ArchiveRecord).order_by(ArchiveRecord.leaf_index)).all()
    entries = [services.record_bytes(r) for r in recs]
    sizes = [c.size for c in db.session.scalars(select(ArchiveCheckpoint).order_by(ArchiveCheckpoint.size))]
    assert sizes == [4, 8, 11]
    cp = services.latest_checkpoint()
    assert cp.root == merkle.mth(entries).hex()
    for r in recs:
        assert merkle.verify_inclusion(r.leaf_index, 11, merkle.leaf_hash(entries[r.leaf_index]),
                                       [bytes.fromhex(h) for h in services.inclusion(r.leaf_index, 11)],
                                       bytes.fromhex(cp.root))
    for first in (0, 4, 8, 11):
        path = [bytes.fromhex(h) for h in services.consistency(first, 11)]
        assert merkle.verify_consistency(first, 11, merkle.mth(entries[:first]), bytes.fromhex(cp.root), path)
    doc = json.loads(cp.document)
    assert log.platform_keys().verify(doc["body"]["kid"], jcs.dumps(doc["body"]), doc["signature"])
    assert doc["body"]["size"] == 11 and doc["body"]["origin"] == "ggzy/archive/v1"
    names = [e.name for e in db.session.scalars(select(OutboxEvent))]
    assert names.count("archive.checkpoint_signed") == 3


def test_sequencer_lease_allows_one_at_a_time(archive):
    from archive.services import sequencer

    archive.add("bidding.bid_submitted", {"lot_id": 1})
    assert sequencer.acquire_lease("other-worker")
    assert services.run_sequencer(holder="me") == -1
    assert services.pending_count() == 1
    sequencer.release_lease("other-worker")
    assert services.run_sequencer(holder="me") == 1


def test_capture_ignores_replays(archive):
    ev = fake_event("bidding.bid_submitted", {"lot_id": 1})
    services.capture(ev)
    services.capture(ev)
    assert services.pending_count() == 1
    archive.seal()
    services.capture(ev)
    assert services.pending_count() == 0


def test_search_filters(archive):
    lot_events(archive, lot_id=4, bids=2)
    lot_events(archive, lot_id=5, bids=1)
    archive.seal()
    assert {r.lot_id for r in services.search(lot_id=4)} == {4}
    assert [r.lot_id for r in services.search(party="org:101")] == [4]
    assert len(services.search(event="experts.")) == 2
    assert len(services.search(event="bidding.bid_submitted", lot_id=5)) == 1
    import datetime as dt

    assert services.search(since=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)) == []
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.search(party="org:1' or 1=1")


def test_retention_per_category(archive, app, tmp_path):
    from archive.services import retention
    from core.errors import ValidationFailed

    lot_events(archive, lot_id=8, bids=1)
    archive.seal()
    rec = services.search(lot_id=8)[0]
    years = (rec.retain_until - rec.archived_at).days / 365.25
    assert 19.9 < years < 20.1
    info = archive.store_.stat(rec.segment.key)
    assert info.retain_until >= rec.retain_until.replace(microsecond=0)
    bad = tmp_path / "short.json"
    bad.write_text(json.dumps({"default_years": 20, "minimum_years": {"government_procurement": 15},
                               "categories": {"government_procurement": 10}}))
    app.config["GGZY_ARCHIVE_RETENTION_FILE"] = str(bad)
    try:
        with pytest.raises(ValidationFailed) as err:
            retention.years_for("government_procurement")
        assert "第四十二条" in err.value.rule
    finally:
        app.config.pop("GGZY_ARCHIVE_RETENTION_FILE")


@pytest.mark.parametrize("worker", [True, False])
def test_batch_signed_on_another_core_or_in_process_gives_valid_records(archive, monkeypatch, worker):
    """The sequencer's batch signer (archive.signing): chunks signed by a forked worker, or in
    process when no worker can be had, come back in order and verify; the bundle is valid."""
    from archive import signing, verify

    monkeypatch.setattr(signing, "CHUNK", 4)
    if not worker:
        monkeypatch.setattr(signing, "_pool", lambda: None)
    for i in range(2):
        lot_events(archive, lot_id=40 + i, bids=9)
    assert archive.seal() == 22
    for i in range(2):
        code, report = verify.verify_files(services.build_bundle(chain=f"lot:{40 + i}"), archive.trust())
        assert code == 0, report
    if worker:
        assert signing._POOL.get(__import__("os").getpid()) is not None


def test_batch_signer_signs_in_order_and_survives_a_lost_worker():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from archive import signing

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    messages = [f"m{i}".encode() for i in range(2 * signing.CHUNK + 7)]
    batch = signing.BatchSigner(raw, len(messages))
    for m in messages:
        batch.add(m)
    sigs = batch.signatures()
    import base64

    for m, s in zip(messages, sigs, strict=True):
        key.public_key().verify(base64.b64decode(s), m)

    class Broken:
        def result(self):
            raise RuntimeError("worker died")

    batch = signing.BatchSigner(raw, 1)
    batch.parts.append((Broken(), [b"x"]))
    assert len(batch.signatures()) == 1


@pytest.mark.parametrize("cut", ["last of its chain", "last of another chain"])
def test_a_record_deleted_from_the_database_makes_the_export_an_error(archive, cut):
    """A database user who deletes the newest record of a lot's chain (the triggers of the migration
    refuse it; here they are not installed) gets no shorter bundle that verifies: the export compares
    the rows with the signed checkpoint and the chain's head (档案法 第二十一条)."""
    from archive.services.bundles import ArchiveCut

    lot_events(archive, lot_id=7, bids=3)
    lot_events(archive, lot_id=8, bids=3)
    assert archive.seal() == 10
    services.build_bundle(chain="lot:7")  # whole: exports
    victim = "lot:7" if cut == "last of its chain" else "lot:8"
    last = db.session.scalar(select(ArchiveRecord).where(ArchiveRecord.chain == victim)
                             .order_by(ArchiveRecord.seq.desc()).limit(1))
    db.session.delete(last)
    db.session.flush()
    with pytest.raises(ArchiveCut) as err:
        services.build_bundle(chain="lot:7")
    assert err.value.code == "archive_cut" and "档案法 第二十一条" in err.value.rule
