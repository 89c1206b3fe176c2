"""The floor of bench_burst: a hand-written reference for the work every bid needs before a receipt.

Where the baseline (bench/burst_baseline.py) only streams the body to a file and fsyncs it, this
endpoint also does, by hand and with nothing else around it, the work the rules make mandatory
for every bid (DESIGN §5, RULES §1 Art.27 and §2a):

* the body's SHA-256 and, in a second hasher, the ciphertext's (a package is checked against the
  hash its bidder signed, and its receipt names the package's own hash);
* one Ed25519 verification (the bidder's manifest) and one Ed25519 signature (the receipt);
* eight indexed single-row reads (token with user and organisation, lot with project, opening
  key, signer key, blacklist, the organisation's valid keys at the instant, standing bid, bond) and
  three inserts (bid, outbox event, audit row) in one committed transaction.

It keeps what the platform keeps elsewhere (the store's metadata, the receipt's bid id) in the
row, so it needs no second file and no second write; the reads are of one-column tables.  It is a
reference, not a strict bound (the body is hashed twice, and the reads could be combined into
fewer round trips): its ratio to the baseline says roughly what the mandated work alone costs on
the machine it is measured on, and so how much of the platform's gap is the rest.

Database: ``BURST_FLOOR_DATABASE_URL`` (the bench's own database; bench_burst creates the two
tables), one connection per server thread, the driver used directly.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, request
from sqlalchemy import create_engine, event

app = Flask(__name__)
_engine = create_engine(os.environ.get("BURST_FLOOR_DATABASE_URL", "sqlite://"), pool_size=16)
_qmark = _engine.dialect.paramstyle == "qmark"


@event.listens_for(_engine, "connect")
def _sqlite_waits(dbapi_connection, _record):
    """SQLite (the bench without PostgreSQL): concurrent writers wait, as the platform's do."""
    if _qmark:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=15000")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


_local = threading.local()
_PLATFORM = Ed25519PrivateKey.generate()
_BIDDER = Ed25519PrivateKey.generate()
_MANIFEST = json.dumps({"files": ["x" * 64] * 8, "payload": {"sha256": "0" * 64}}).encode()
_SIGNATURE = _BIDDER.sign(_MANIFEST)
_BIDDER_PUBLIC = _BIDDER.public_key()
READS = 8


def tables(dialect: str) -> tuple[str, str]:
    """The floor's DDL: single-column rows to read, and one table the three inserts go to."""
    serial, blob = ("SERIAL", "BYTEA") if dialect == "postgresql" else ("INTEGER", "BLOB")
    return ("CREATE TABLE burst_floor_rows (id INTEGER PRIMARY KEY)",
            f"CREATE TABLE burst_floor_bids (id {serial} PRIMARY KEY, kind VARCHAR(16), bidder INTEGER, "
            f"sha256 VARCHAR(64), receipt TEXT, signature {blob})")


def _sql(statement: str) -> str:
    return statement if _qmark else statement.replace("?", "%s")


def _conn():
    """One driver connection per server thread, kept (a pool checkout per request is not free)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = _engine.raw_connection()
    return conn


def _body():
    """As the platform and the baseline read it (bidding.services.body.request_body)."""
    if request.environ.get("wsgi.input_terminated") and request.content_length is not None:
        return request.environ["wsgi.input"]
    return request.stream


@app.post("/floor/<int:bidder>")
def submit(bidder: int):
    conn = _conn()
    try:
        return _submit(conn, bidder)
    except BaseException:
        conn.rollback()
        raise


def _submit(conn, bidder: int):
    token_hash = hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()
    cur = conn.cursor()
    for n in range(READS):
        cur.execute(_sql("SELECT id FROM burst_floor_rows WHERE id = ?"), (bidder + n,))
        cur.fetchall()
    package, ciphertext = hashlib.sha256(), hashlib.sha256()
    body = _body()
    with open(os.path.join(os.environ["BURST_BASELINE_DIR"], f"{bidder}.bid"), "wb") as fh:
        while data := body.read(1024 * 1024):
            fh.write(data)
            package.update(data)
            ciphertext.update(data)
        fh.flush()
        os.fsync(fh.fileno())
    _BIDDER_PUBLIC.verify(_SIGNATURE, _MANIFEST)
    receipt = json.dumps({"bidder": bidder, "package_sha256": package.hexdigest(), "token": token_hash[:8],
                          "ciphertext_sha256": ciphertext.hexdigest(),
                          "received_at": dt.datetime.now(dt.UTC).isoformat()}).encode()
    signature = _PLATFORM.sign(receipt)
    for kind in ("bid", "event", "audit"):
        cur.execute(_sql("INSERT INTO burst_floor_bids (kind, bidder, sha256, receipt, signature) "
                         "VALUES (?, ?, ?, ?, ?)"), (kind, bidder, package.hexdigest(), receipt.decode(), signature))
    conn.commit()
    cur.close()
    return {"receipt": receipt.decode()}, 201
