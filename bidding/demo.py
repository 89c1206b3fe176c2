"""Bidding demo data, through the services, on the demo clock (after trading's demo lots exist).

1. **An opening already run to its record**: a short demo lot gets sealed, priced bids from three demo
   bidders; the clock passes its deadline; the opening runs (sign-in, list, window, unsealing with
   the bidders' own keys, the table, two confirmations, an objection answered) and the final signed
   record is on the portal.
2. **An opening to run yourself**: a fresh short lot (deadline a few minutes away) with the same three
   bids.  At its deadline the scheduler starts the opening; sign in as ``agency@demo.ggzy`` (the
   host) and as a bidder; each bidder's data key is in ``instance/demo-bids/`` to paste in the hall
   (a real bidder's tool unwraps it with the private key: ``ggzy bid unseal --submit``).
"""
from __future__ import annotations

import hashlib
import io
import logging
from decimal import Decimal
from pathlib import Path

from flask import current_app

from bidding import services
from bidding.models import Bid
from bidding.package import container as c
from bidding.package import sealing
from bidding.services import hall, record, unsealing
from bidding.tool import actions as tool
from core.clock import advance_demo_clock, now
from core.db import db
from core.demo import demo_user, ready_to_seed
from core.events import commit
from core.models import User
from core.storage import get_storage
from experts import demo as experts_demo
from trading.demo import demo_lot

logger = logging.getLogger(__name__)
BIDDERS = ("bidder1", "bidder2", "bidder3")
PRICES = {"bidder1": ("9650000.00", 240), "bidder2": ("9718000.00", 260), "bidder3": ("9583500.00", 250)}


def _user(name: str) -> User:
    return demo_user(f"{name}@demo.ggzy")


def _keys(user: User):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    folder = Path(current_app.config["GGZY_KEY_DIR"]) / "demo" / user.email
    return (tool.load_private(folder / "sign.pem", Ed25519PrivateKey),
            tool.load_private(folder / "encrypt.pem", X25519PrivateKey))


def seed() -> None:
    if not ready_to_seed("bidding", Bid):
        return

    agency = _user("agency")
    if agency.needs_totp and not agency.totp_confirmed:  # the opening host holds a key share
        from core.demo import enrol_demo_totp

        enrol_demo_totp(agency)
    services.close_due_lots()  # trading's demo lots whose deadline the demo clock passed
    terms = {"opening_fields": ["duration_days"], "confirm_window_minutes": 5}
    finished = demo_lot(actor=agency, **terms)
    _submit_all(finished)
    _run_opening(finished, agency)
    experts_demo.seed_draw()  # the committee of the opened lot, avoiding its bidders' employees
    live = demo_lot(actor=agency, **terms)
    _submit_all(live, save=True)
    commit()


def _submit_all(lot, *, save: bool = False) -> None:
    """Bidders 1–3 seal a priced package with their organisation's demo keys, submit it, record a bond."""
    services.create_opening_key(lot_id=lot.id)
    opening = c.b64d(services.opening_key(lot_id=lot.id).public_key)
    folder = Path(current_app.config["GGZY_INSTANCE_DIR"]) / "demo-bids"
    folder.mkdir(parents=True, exist_ok=True)
    for name in BIDDERS:
        user = _user(name)
        sign, encrypt = _keys(user)
        price, days = PRICES[name]
        doc = folder / f"{name}-lot{lot.id}-技术标.txt"
        doc.write_text(f"{user.organisation.name} 技术标（演示）\n工期 {days} 日历天\n", encoding="utf-8")
        out = folder / f"{name}-lot{lot.id}.bid"
        sealing.pack(out=out, lot_id=lot.id, opening_public=opening, bidder_sign=sign,
                     bidder_encrypt_public=c.raw_public(encrypt),
                     documents=[sealing.Document("技术标.txt", doc, {"author": user.name})],
                     info={"schedule": {"total": price, "currency": "CNY", "rows": []},
                           "opening": {"duration_days": days}},
                     device={"mac": [f"02:00:00:00:00:{BIDDERS.index(name):02x}"]},
                     created_at=now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        data = out.read_bytes()
        services.submit_package(user=user, lot=lot, stream=io.BytesIO(data), length=len(data),
                                sha256=hashlib.sha256(data).hexdigest(), ip="127.0.0.1", user_agent="ggzy demo")
        services.record_bond(actor=user, lot=lot, amount=(lot.estimate * Decimal("0.01")).quantize(Decimal("1")),
                             method="transfer", payer_account=f"6222 0000 {user.organisation_id:04d}",
                             payer_uscc=user.organisation.uscc)
        if save:
            key = sealing.data_key_for(sealing.read_manifest(io.BytesIO(data)).manifest, encrypt)
            (folder / f"{name}-lot{lot.id}.data-key.txt").write_text(c.b64e(key) + "\n")
        else:
            out.unlink()
        doc.unlink()


def _run_opening(lot, host) -> None:
    """The whole opening of ``lot`` on the demo clock, as the host and bidders would run it."""
    advance_demo_clock((lot.bid_deadline - now()).total_seconds() + 15)
    services.close_bidding(lot_id=lot.id)
    hall.start_opening(lot_id=lot.id)
    bidders = [_user(name) for name in BIDDERS]
    for user in bidders:
        hall.sign_in(lot_id=lot.id, user=user, key_id="", ip="127.0.0.1")
    hall.publish_list(lot_id=lot.id, actor=host)
    hall.open_window(lot_id=lot.id, actor=host)
    for user in bidders:
        bid = services.active_bid(lot_id=lot.id, organisation_id=user.organisation_id)
        stored = io.BytesIO(get_storage().get_bytes(bid.package_key))
        key = sealing.data_key_for(sealing.read_manifest(stored).manifest, _keys(user)[1])
        unsealing.unseal_with_key(lot_id=lot.id, user=user, data_key_b64=c.b64e(key))
    hall.close_window(lot_id=lot.id, actor=host)
    table = record.record_of(lot.id, "table")
    for user in bidders[:2]:
        sign = _keys(user)[0]
        record.confirm(lot_id=lot.id, user=user, key_id=c.key_id("ed25519", c.raw_public(sign)),
                       signature_b64=c.b64e(sign.sign(record.confirm_message(table.digest))))
    objection = record.object_to(lot_id=lot.id, user=bidders[2], text="请核对我方工期是否按250日历天记录。")
    record.answer(response=objection, actor=host, text="已核对，开标一览表记录工期为250日历天，与投标文件一致。")
    advance_demo_clock(lot.confirm_window_minutes * 60 + 5)
    record.finish(lot_id=lot.id)
    db.session.flush()
    logger.info("demo: the opening of lot %s is recorded", lot.id)
