"""The offline verifier of archive bundles: ``ggzy archive verify`` and ``python -m archive.verify``.

Deliberately small and self-contained so that an auditor can read it and trust it: it imports
the standard library, ``cryptography`` (Ed25519), ``rfc8785`` (through ``archive.jcs``) and the two
pure modules ``archive.merkle`` and ``archive.bag`` — never Flask, the database or the network.
The bundle format is specified in ``docs/archive-bundle-format.md``.

Exit codes: 0 valid, 1 invalid (some check failed), 2 malformed (not a bundle, unreadable trust
or prior checkpoint).  The JSON report names every check and whether it passed.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import gc
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive import bag, jcs, merkle

RECORD_SCHEMA = "ggzy.archive.record/v1"
CHECKPOINT_TYPE = "ggzy.archive.checkpoint/v1"
STATEMENT_TYPE = "ggzy.archive.bundle/v2"
TRUST_TYPE = "ggzy.archive.trust/v1"
SIG_ALG = "Ed25519"
VALID, INVALID, MALFORMED = 0, 1, 2
STATEMENT, CHECKPOINT = "data/statement.json", "data/checkpoint.json"
CHECKS = ("bag_fixity", "statement_format", "statement_signature", "checkpoint_format",
          "checkpoint_signature", "checkpoint_matches_statement", "payload_complete", "records_canonical",
          "record_format", "record_signatures", "attachments", "sealed_payloads", "chain", "inclusion",
          "consistency_proofs", "prior_consistency")

ENVELOPE_KEYS = {"payload", "sig"}
SIG_KEYS = {"alg", "kid", "value"}
PAYLOAD_KEYS = {"schema", "chain", "seq", "prev", "lot_id", "event", "archived_at", "category",
                "retention", "parties", "data", "sealed", "attachments"}
EVENT_KEYS = {"id", "name", "created_at"}
SEALED_KEYS = {"alg", "kid", "epk", "nonce", "ciphertext", "ciphertext_sha256", "commitment"}
ATTACHMENT_KEYS = {"name", "sha256", "size", "content_type"}
CHECKPOINT_KEYS = {"type", "origin", "size", "root", "timestamp", "alg", "kid"}
STATEMENT_KEYS = {"type", "origin", "scope", "exported_at", "checkpoint", "nodes", "records", "attachments",
                  "consistency"}


class Malformed(Exception):
    """The input cannot be checked at all (exit code 2)."""


class Bad(Exception):
    """One item failed a check; the message says why."""


ERRORS = (Bad, KeyError, TypeError, ValueError, AttributeError, IndexError)


@dataclass
class TrustedKey:
    public: Ed25519PublicKey
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None

    def valid_at(self, when: dt.datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= when) and \
            (self.valid_until is None or when < self.valid_until)


@dataclass
class Trust:
    """Pinned out of band: the log origin and the platform's public keys (current and retired)."""

    origin: str
    keys: dict[str, TrustedKey]

    def check(self, kid: str, alg: str, message: bytes, signature_b64: str, when: dt.datetime) -> None:
        key = self.keys.get(kid)
        if key is None or alg != SIG_ALG:
            raise Bad(f"key {kid!r} ({alg}) is not trusted")
        if not key.valid_at(when):
            raise Bad(f"key {kid} was not valid at {when.isoformat()}")
        try:
            key.public.verify(b64(signature_b64), message)
        except InvalidSignature:
            raise Bad(f"signature by {kid} does not verify") from None


@dataclass
class Report:
    checks: dict[str, dict] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)

    def record(self, name: str, problems: list[str], detail: str = "") -> bool:
        self.checks[name] = {"ok": not problems, "detail": "; ".join(problems[:5]) or detail}
        return not problems

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c["ok"] for c in self.checks.values())

    def to_dict(self, code: int) -> dict:
        ordered = {name: self.checks[name] for name in CHECKS if name in self.checks}
        return {"valid": code == VALID, "exit_code": code, **self.facts, "checks": ordered}


# --- small strict parsers ------------------------------------------------------------------------

def b64(text) -> bytes:
    try:
        return base64.b64decode(str(text).encode(), validate=True)
    except (binascii.Error, ValueError):
        raise Bad("invalid base64") from None


def hex32(text) -> bytes:
    if not isinstance(text, str) or len(text) != 64 or text != text.lower():
        raise Bad(f"not a lower-case SHA-256 hex digest: {text!r}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise Bad(f"not hex: {text!r}") from None


def hex32_list(items) -> list[bytes]:
    """``[hex32(h) for h in items]``, decoded in one go (a proof holds a dozen or more)."""
    if type(items) is not list or not set(map(type, items)) <= {str} or not set(map(len, items)) <= {64}:
        raise Bad("not a list of lower-case SHA-256 hex digests")
    text = "".join(items)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise Bad("not hex") from None
    if text != text.lower() or len(raw) != 32 * len(items):  # fromhex skips whitespace: refuse it
        raise Bad("not a list of lower-case SHA-256 hex digests")
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def instant(text) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise Bad(f"not an RFC 3339 timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise Bad(f"timestamp without offset: {text!r}")
    return value


def shape(obj, keys: set[str], what: str) -> dict:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise Bad(f"{what} must have exactly the fields {sorted(keys)}")
    return obj


def integer(value, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise Bad(f"{what} must be an integer ≥ {minimum}")
    return value


def canonical(data: bytes | None, what: str):
    if data is None:
        raise Bad(f"{what} missing")
    ok, value = jcs.loads_canonical(data)
    if not ok:
        raise Bad(f"{what} is not RFC 8785 canonical JSON")
    return value


def load_trust(data: bytes) -> Trust:
    """Parse TRUST.json (format in docs/archive-bundle-format.md); raises Malformed."""
    try:
        doc = json.loads(data)
        if doc.get("type") != TRUST_TYPE or not isinstance(doc.get("origin"), str):
            raise Bad("not a ggzy archive trust file")
        keys = {}
        for kid, k in doc["keys"].items():
            if k["alg"] != SIG_ALG:
                continue
            keys[kid] = TrustedKey(Ed25519PublicKey.from_public_bytes(b64(k["public_key"])),
                                   instant(k["valid_from"]) if k.get("valid_from") else None,
                                   instant(k["valid_until"]) if k.get("valid_until") else None)
        return Trust(doc["origin"], keys)
    except (Bad, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Malformed(f"trust file: {exc}") from None


# --- the checks ------------------------------------------------------------------------------------

def _check_checkpoint(doc, trust: Trust, what: str) -> dict:
    """A signed tree head: canonical, right fields, our origin, signed by a trusted key."""
    shape(doc, {"body", "signature"}, what)
    body = shape(doc["body"], CHECKPOINT_KEYS, f"{what} body")
    if body["type"] != CHECKPOINT_TYPE or body["origin"] != trust.origin:
        raise Bad(f"{what} is not a checkpoint of log {trust.origin!r}")
    integer(body["size"], f"{what} size")
    hex32(body["root"])
    trust.check(body["kid"], body["alg"], jcs.dumps(body), doc["signature"], instant(body["timestamp"]))
    return body


class _Verifier:
    """One pass over one bundle; each ``_step`` fills one named check of the report."""

    def __init__(self, files: dict[str, bytes], trust: Trust, prior: dict | None):
        self.files, self.trust, self.prior = files, trust, prior
        self.report = Report()
        self.statement: dict = {}
        self.statement_sig: dict = {}
        self.statement_bytes = b""  # the signed bytes: the statement's own canonical form
        self.checkpoint: dict = {}
        self.records: list[dict] = []  # {"entry", "bytes", "payload", "payload_bytes"}
        self.nodes: list[bytes] = []  # the statement's table of proof hashes, decoded once
        self.digests: dict[str, str] = {}  # path -> SHA-256 hex, once bag fixity has held

    def run(self) -> Report:
        problems, digests = bag.fixity(self.files)
        if self.report.record("bag_fixity", problems):
            # every payload file hashes to its manifest line: later checks compare against that line
            # instead of hashing each file a second time
            self.digests = digests
        for name, step in (("statement_format", self._statement), ("checkpoint_format", self._checkpoint),
                           ("records_canonical", self._parse_records)):
            if not self._step(name, step):
                self._skip_rest()
                return self.report
        for name in CHECKS:
            if name not in self.report.checks:
                self._step(name, getattr(self, f"_{name}"))
        return self.report

    def _step(self, name: str, fn) -> bool:
        try:
            problems = fn() or []
        except ERRORS as exc:  # a wrong type anywhere is a failed check, never a crash
            problems = [str(exc) or type(exc).__name__]
        return self.report.record(name, problems)

    def _skip_rest(self) -> None:
        for name in CHECKS:
            self.report.checks.setdefault(name, {"ok": False, "detail": "not checked: an earlier check failed"})

    # structure
    def _statement(self):
        data = self.files.get(STATEMENT)
        doc = shape(canonical(data, STATEMENT), {"statement", "signature"}, "statement")
        st = self.statement = shape(doc["statement"], STATEMENT_KEYS, "statement")
        # canonical with these two keys, so the file is {"signature":S,"statement":T} with T the
        # statement's canonical bytes: the signed message is sliced out rather than re-serialised
        sig = self.statement_sig = shape(doc["signature"], SIG_KEYS, "statement signature")
        if not all(type(v) is str for v in sig.values()):
            raise Bad("signature fields must be strings")
        head = b'{"signature":' + jcs.dumps_prechecked(sig) + b',"statement":'
        if not (data.startswith(head) and data.endswith(b"}")):
            raise Bad("statement layout")
        self.statement_bytes = data[len(head):-1]
        if st["type"] != STATEMENT_TYPE or st["origin"] != self.trust.origin:
            raise Bad("not a bundle statement of the trusted log")
        shape(st["scope"], {"kind", "chain", "record"}, "scope")
        if st["scope"]["kind"] not in ("record", "chain") or not isinstance(st["scope"]["chain"], str):
            raise Bad("scope kind must be 'record' or 'chain'")
        shape(st["checkpoint"], {"size", "root"}, "statement checkpoint")
        self.nodes = hex32_list(st["nodes"])
        for item in st["records"]:
            shape(item, {"file", "sha256", "seq", "leaf_index", "proof"}, "statement record")
            if not (isinstance(item["file"], str) and type(item["proof"]) is list):
                raise Bad("statement record: file is a path, proof a list")
            integer(item["leaf_index"], "leaf_index")
        for item in st["attachments"]:
            shape(item, {"file", "sha256", "size"}, "statement attachment")
            if not isinstance(item["file"], str):
                raise Bad("statement attachment: file is a path")
        for item in st["consistency"]:
            shape(item, {"first_size", "first_root", "path"}, "consistency proof")
        if not st["records"] or (st["scope"]["kind"] == "record" and len(st["records"]) != 1):
            raise Bad("a record bundle holds one record, a chain bundle at least one")
        self.report.facts.update(scope=st["scope"], records=len(st["records"]))

    def _statement_signature(self):
        sig = self.statement_sig
        self.trust.check(sig["kid"], sig["alg"], self.statement_bytes, sig["value"],
                         instant(self.statement["exported_at"]))

    def _checkpoint(self):
        doc = canonical(self.files.get(CHECKPOINT), CHECKPOINT)
        shape(doc, {"body", "signature"}, "checkpoint")
        body = shape(doc["body"], CHECKPOINT_KEYS, "checkpoint body")
        integer(body["size"], "checkpoint size", 1)
        self.checkpoint = body
        self.report.facts["checkpoint"] = {k: body[k] for k in ("size", "root", "timestamp")}

    def _checkpoint_signature(self):
        _check_checkpoint(canonical(self.files[CHECKPOINT], CHECKPOINT), self.trust, "checkpoint")

    def _checkpoint_matches_statement(self):
        if self.statement["checkpoint"] != {"size": self.checkpoint["size"], "root": self.checkpoint["root"]}:
            raise Bad("the statement names another checkpoint")

    def _payload_complete(self):
        listed = {STATEMENT, CHECKPOINT} | {r["file"] for r in self.statement["records"]} | \
            {a["file"] for a in self.statement["attachments"]}
        present = {p for p in self.files if p.startswith("data/")}
        return [f"{p} missing" for p in sorted(listed - present)] + \
            [f"{p} not in the statement" for p in sorted(present - listed)]

    # records
    def _parse_records(self):
        problems = []
        for entry in self.statement["records"]:
            data = self.files.get(entry["file"])
            try:
                if data is None or (self.digests.get(entry["file"]) or bag.sha256_hex(data)) != entry["sha256"]:
                    raise Bad("missing or not the file the statement lists")
                env = shape(canonical(data, entry["file"]), ENVELOPE_KEYS, "envelope")
                sig = shape(env["sig"], SIG_KEYS, "record signature")
                if not all(type(v) is str for v in sig.values()):
                    raise Bad("signature fields must be strings")
                # canonical with exactly these two keys, so the file is {"payload":P,"sig":S}: P (the
                # signed bytes) ends at the last top-level ',"sig":' — S holds three plain strings,
                # in which an unescaped quote cannot occur, so no later occurrence exists
                cut = data.rfind(b',"sig":')
                if not data.startswith(b'{"payload":') or cut < 0:
                    raise Bad("envelope layout")
                self.records.append({"entry": entry, "bytes": data, "payload": env["payload"], "sig": sig,
                                     "payload_bytes": data[len(b'{"payload":'):cut]})
            except ERRORS as exc:
                problems.append(f"{entry['file']}: {exc}")
        return problems

    def _each(self, fn) -> list[str]:
        problems = []
        for rec in self.records:
            try:
                fn(rec)
            except ERRORS as exc:
                problems.append(f"{rec['entry']['file']}: {exc}")
        return problems

    def _record_format(self):
        def one(rec):
            p = shape(rec["payload"], PAYLOAD_KEYS, "record payload")
            if p["schema"] != RECORD_SCHEMA:
                raise Bad(f"unknown schema {p['schema']!r}")
            if p["seq"] != rec["entry"]["seq"] or p["chain"] != self.statement["scope"]["chain"]:
                raise Bad("chain or sequence number differs from the statement")
            integer(p["seq"], "seq", 1)
            shape(p["event"], EVENT_KEYS, "event")
            rec["archived_at"] = instant(p["archived_at"])
            if (p["data"] is None) == (p["sealed"] is None):
                raise Bad("exactly one of data and sealed must be set")
            for att in p["attachments"]:
                shape(att, ATTACHMENT_KEYS, "attachment")
        return self._each(one)

    def _record_signatures(self):
        def one(rec):
            sig = rec["sig"]
            when = rec.get("archived_at") or instant(rec["payload"]["archived_at"])
            self.trust.check(sig["kid"], sig["alg"], rec["payload_bytes"], sig["value"], when)
        return self._each(one)

    def _attachments(self):
        listed = {a["file"]: a for a in self.statement["attachments"]}
        referenced = set()

        def one(rec):
            for att in rec["payload"]["attachments"]:
                path = f"data/attachments/{att['sha256']}"
                referenced.add(path)
                data = self.files.get(path)
                if data is not None and (bag.sha256_hex(data) != att["sha256"] or len(data) != att["size"]):
                    raise Bad(f"attachment {att['name']!r} differs from its signed hash")
        problems = self._each(one)
        for path, item in listed.items():
            data = self.files.get(path, b"")
            if path not in referenced or bag.sha256_hex(data) != item["sha256"] or len(data) != item["size"]:
                problems.append(f"{path}: not referenced by a record or not as listed")
        self.report.facts["attachments"] = len(listed)
        return problems

    def _sealed_payloads(self):
        def one(rec):
            sealed = rec["payload"]["sealed"]
            if sealed is not None:
                shape(sealed, SEALED_KEYS, "sealed payload")
                if bag.sha256_hex(b64(sealed["ciphertext"])) != sealed["ciphertext_sha256"]:
                    raise Bad("ciphertext hash mismatch")
        return self._each(one)

    def _chain(self):
        ordered = sorted(self.records, key=lambda r: r["payload"]["seq"])
        problems = []
        if self.statement["scope"]["kind"] == "chain" and ordered[0]["payload"]["seq"] != 1:
            problems.append("a chain bundle must start at sequence number 1")
        if ordered[0]["payload"]["seq"] == 1 and ordered[0]["payload"]["prev"] is not None:
            problems.append("the first record of a chain has no predecessor")
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after["payload"]["seq"] != before["payload"]["seq"] + 1:
                problems.append(f"gap or repeat after sequence number {before['payload']['seq']}")
            elif after["payload"]["prev"] != hashlib.sha256(before["payload_bytes"]).hexdigest():
                problems.append(f"record {after['payload']['seq']} does not link to its predecessor")
        return problems

    def _inclusion(self):
        checker = merkle.InclusionChecker(self.checkpoint["size"], hex32(self.checkpoint["root"]))

        nodes = self.nodes

        def one(rec):
            entry = rec["entry"]
            refs = entry["proof"]  # positions in the statement's node table
            if not set(map(type, refs)) <= {int} or (refs and min(refs) < 0):
                raise Bad("proof: not a list of positions in the statement's node table")
            try:
                path = [nodes[i] for i in refs]
            except IndexError:
                raise Bad("proof: a position beyond the statement's node table") from None
            if not checker.check(entry["leaf_index"], merkle.leaf_hash(rec["bytes"]), path):
                raise Bad(f"not included at leaf {entry['leaf_index']} under the checkpoint root")
        leaves = [r["entry"]["leaf_index"] for r in self.records]
        return self._each(one) + (["two records claim the same leaf"] if len(set(leaves)) != len(leaves) else [])

    def _consistency_proofs(self):
        problems = []
        for item in self.statement["consistency"]:
            if not self._consistent(item["first_size"], item["first_root"], item["path"]):
                problems.append(f"consistency proof from size {item['first_size']} fails")
        return problems

    def _consistent(self, first_size, first_root, path) -> bool:
        return merkle.verify_consistency(first_size, self.checkpoint["size"], hex32(first_root),
                                         hex32(self.checkpoint["root"]), [hex32(h) for h in path])

    def _prior_consistency(self):
        if self.prior is None:
            self.report.facts["prior"] = None
            return []
        self.report.facts["prior"] = {"size": self.prior["size"], "root": self.prior["root"]}
        size, root = self.prior["size"], self.prior["root"]
        if size > self.checkpoint["size"]:
            raise Bad(f"the prior checkpoint (size {size}) is newer than the bundle's; export again")
        if size == self.checkpoint["size"]:
            return [] if root == self.checkpoint["root"] else ["same size, different root: the log forked"]
        for item in self.statement["consistency"]:
            if item["first_size"] == size:
                if item["first_root"] == root and self._consistent(size, root, item["path"]):
                    return []
                return [f"the log at size {self.checkpoint['size']} does not extend the prior checkpoint"]
        return [f"the bundle carries no consistency proof from size {size}; export with --prior"]


def verify_files(files: dict[str, bytes], trust: Trust, prior_doc=None) -> tuple[int, dict]:
    """Check an in-memory bundle; returns (exit code, report)."""
    prior = None
    if prior_doc is not None:
        try:
            prior = _check_checkpoint(prior_doc, trust, "prior checkpoint")
        except Bad as exc:
            return MALFORMED, {"valid": False, "exit_code": MALFORMED, "error": str(exc)}
    if "bagit.txt" not in files or STATEMENT not in files:
        return MALFORMED, {"valid": False, "exit_code": MALFORMED, "error": "not an archive bundle (bagit.txt "
                           "or data/statement.json missing)"}
    was = gc.isenabled()
    gc.disable()  # parsed JSON has no reference cycles: the collector would only rescan it, many times
    try:
        report = _Verifier(files, trust, prior).run()
    finally:
        if was:
            gc.enable()
    if not report.checks.get("statement_format", {}).get("ok", True) and not _is_json(files[STATEMENT]):
        return MALFORMED, {"valid": False, "exit_code": MALFORMED, "error": "data/statement.json is not JSON"}
    code = VALID if report.valid else INVALID
    return code, report.to_dict(code)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def verify_path(bundle: Path, trust_path: Path, prior_path: Path | None = None) -> tuple[int, dict]:
    """Check a bundle directory or .tar against TRUST.json (and a prior checkpoint file)."""
    try:
        trust = load_trust(Path(trust_path).read_bytes())
        prior = json.loads(Path(prior_path).read_bytes()) if prior_path else None
        files = bag.read(Path(bundle))
    except (Malformed, bag.BagError, OSError, ValueError) as exc:
        return MALFORMED, {"valid": False, "exit_code": MALFORMED, "error": str(exc)}
    code, report = verify_files(files, trust, prior)
    report["bundle"] = str(bundle)
    return code, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="archive.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--trust", type=Path, required=True)
    parser.add_argument("--prior", type=Path)
    args = parser.parse_args(argv)
    code, report = verify_path(args.bundle, args.trust, args.prior)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
