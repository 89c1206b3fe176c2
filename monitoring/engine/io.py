"""Readers for the two scan input formats (DESIGN §7): ``bids-csv`` and OCDS compiled releases.

Parsing is tolerant on purpose: real exports carry odd values, and one bad optional cell
must never cost a supervisor the whole scan.  Bad optional values become warnings; a row
whose required values cannot be read is skipped with a warning; only an unreadable file or
a missing required column is an error (:class:`InputError`).
"""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import math
import mmap
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter, methodcaller
from pathlib import Path

import numpy as np

from monitoring.engine.table import IDENTITY_COLUMNS, BidTable, CodeBook, from_columns

logger = logging.getLogger(__name__)

REQUIRED = ("tender_id", "bidder_id", "amount", "winner")
NUMERIC_OPTIONAL = ("estimate", "label")
_TRUE = {"1", "true", "t", "yes", "y", "1.0"}
_FALSE = {"0", "false", "f", "no", "n", "0.0", ""}
_MAX_EXAMPLES = 3


class InputError(ValueError):
    """The input cannot be used at all (missing file, missing required column, not JSON)."""


class WarningLog:
    """Counts bad values per column and keeps a few examples, so warnings stay readable."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[tuple[str | int, str]]] = {}

    def add(self, column: str, where: str | int, value: object) -> None:
        """``where``: a place ("line 3") or a line number, kept as a number so that a part
        of a file read by a helper process can be renumbered (:func:`_join_parts`)."""
        self.counts[column] += 1
        ex = self.examples.setdefault(column, [])
        if len(ex) < _MAX_EXAMPLES:
            ex.append((where, repr(value)))

    def messages(self) -> list[str]:
        def example(where: str | int, value: str) -> str:
            return f"{'line ' if isinstance(where, int) else ''}{where}: {value}"

        return [f"{col}: {n} bad value(s) ignored (e.g. {'; '.join(example(*e) for e in self.examples[col])})"
                for col, n in sorted(self.counts.items())]


def parse_bool(value: str) -> bool | None:
    """1/0/true/false (any case); None when unreadable."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def parse_float(value: str) -> float | None:
    """A finite float or None (empty, NaN, text)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def parse_date(value: str) -> float | None:
    """Epoch seconds from ISO 8601, ``YYYY``, ``YYYYMMDD`` or epoch seconds; None if unreadable."""
    v = value.strip()
    if not v:
        return None
    try:
        if v.isdigit() and len(v) == 4:
            return datetime(int(v), 1, 1, tzinfo=UTC).timestamp()
        if v.isdigit() and len(v) == 8:
            return datetime(int(v[:4]), int(v[4:6]), int(v[6:]), tzinfo=UTC).timestamp()
        if "-" not in v[1:]:
            f = parse_float(v)
            if f is not None:
                return f
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    except (ValueError, OverflowError):
        return None


def _cached(fn: Callable[[str], float | None]) -> Callable[[str], float | None]:
    """Dates and estimates repeat within a tender; parse each distinct string once."""
    cache: dict[str, float | None] = {}

    def wrapper(value: str) -> float | None:
        if value not in cache:
            cache[value] = fn(value)
        return cache[value]

    return wrapper


def _open_text(path: Path):
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror or exc}") from exc


def read_bids_csv(path: str | Path, progress: Callable[[int], None] | None = None) -> BidTable:
    """Read a bids-csv file (DESIGN §7).

    :raises InputError: file missing/unreadable, or a required column absent.
    """
    path = Path(path)
    with _gc_paused():
        return _read_bids_csv(path, progress)


def _read_bids_csv(path: Path, progress: Callable[[int], None] | None) -> BidTable:
    with _open_text(path) as fh:
        try:
            text = fh.read()
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not a readable UTF-8 CSV file ({exc})") from exc
    try:
        if _plain_csv(text):
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            lines = text.split("\n")
            del text
            if lines and lines[-1] == "":
                lines.pop()
            header = [h.strip().lower() for h in (lines[0].split(",") if lines else [])]
            lines[:1] = []
            reader: Iterable[list[str]] = map(methodcaller("split", ","), lines)
        else:
            reader = csv.reader(io.StringIO(text, newline=""))
            header = [h.strip().lower() for h in next(reader, [])]
        return _rows_to_table(header, reader, path, progress)
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable UTF-8 CSV file ({exc})") from exc


def _plain_csv(text: str) -> bool:
    """True when splitting on newlines and commas reads the text exactly as ``csv.reader``
    does: no quote characters, no NUL and no line break but ``\n`` or ``\r\n``."""
    return '"' not in text and "\x00" not in text and text.count("\r") == text.count("\r\n")


def _rows_to_table(header: list[str], reader: Iterable[list[str]], path: Path,
                   progress: Callable[[int], None] | None) -> BidTable:
    """Columnar parse: rows are read once, then each column is converted in one pass
    (a per-row loop over 15 columns costs ~3x more at a million rows)."""
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{path}: missing required column(s): {', '.join(missing)}")
    known = set(REQUIRED) | {"date"} | set(NUMERIC_OPTIONAL) | set(IDENTITY_COLUMNS)
    pos = {c: header.index(c) for c in header if c in known}
    width = max(pos.values()) + 1
    rows = _read_rows(reader, width, progress)
    log = WarningLog()
    names = list(pos)
    if rows:
        picked = zip(*map(itemgetter(*pos.values()), rows), strict=True) if len(pos) > 1 else \
            ([r[next(iter(pos.values()))] for r in rows],)
        raw = {c: list(col) for c, col in zip(names, picked, strict=True)}
    else:
        raw = {c: [] for c in names}
    amount = _floats(raw["amount"])
    winner = list(map({v: parse_bool(v) for v in set(raw["winner"])}.__getitem__, raw["winner"]))
    tids = list(map(str.strip, raw["tender_id"]))
    bids = list(map(str.strip, raw["bidder_id"]))
    if None in amount or None in winner or "" in tids or "" in bids:
        ok = [a is not None and w is not None and t != "" and b != ""
              for a, w, t, b in zip(amount, winner, tids, bids, strict=True)]
    else:
        ok = None
    if ok is not None:
        for n, good in enumerate(ok):
            if not good:
                log.add("row", f"line {n + 2}", ",".join(rows[n][:width])[:80])
    keep = None if ok is None or all(ok) else [i for i, good in enumerate(ok) if good]
    cols: dict[str, list] = {"tender_id": tids, "bidder_id": bids, "amount": amount, "winner": winner}
    for c in pos:
        if c not in REQUIRED:
            cols[c] = _convert(c, raw[c], log)
    if keep is not None:
        cols = {c: [v[i] for i in keep] for c, v in cols.items()}
    return _finish(cols, log, path)


def _floats(values: list[str]) -> list[float | None]:
    """:func:`parse_float` over a column: one C-level ``float`` pass when every value is a
    finite number (the usual case), the tolerant per-value parse otherwise."""
    try:
        out = list(map(float, values))
    except ValueError:
        return [parse_float(v) for v in values]
    if all(map(math.isfinite, out)):
        return out
    return [parse_float(v) for v in values]


def _read_rows(reader: Iterable[list[str]], width: int,
               progress: Callable[[int], None] | None) -> list[list[str]]:
    rows = list(reader)
    if rows and min(map(len, rows)) < width:
        rows = [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]
    if progress is not None:
        for _ in range(len(rows) // 50_000):
            progress(50_000)
    return rows


def _convert(column: str, values: list[str], log: WarningLog) -> list:
    """Optional column: numbers/dates parsed once per distinct string, identities stripped."""
    parsers = {"date": parse_date, "estimate": parse_float, "label": parse_float}
    if column not in parsers:
        return list(map(str.strip, values))
    parsed = {v: parsers[column](v) for v in set(values)}
    for v, p in parsed.items():
        if p is None and v.strip():
            first = values.index(v)
            for _ in range(values.count(v)):
                log.add(column, f"line {first + 2}", v)
    return [parsed[v] for v in values]


def _finish(cols: dict[str, list], log: WarningLog, path: Path | str) -> BidTable:
    warnings = log.messages()
    for w in warnings:
        logger.warning("%s: %s", path, w)
    if not cols["amount"]:
        raise InputError(f"{path}: no usable bid rows")
    return from_columns(cols, warnings, all_str=True)


def iter_jsonl(path: Path) -> Iterator[tuple[int, str]]:
    """Non-empty lines with their numbers (a whole-file JSON package is one 'line')."""
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                yield lineno, line


def _obj(value) -> dict:
    """Tolerant parsing: a member that should be an object and is not counts as absent."""
    return value if isinstance(value, dict) else {}


def _seq(value) -> list | tuple:
    """Tolerant parsing: a member that should be an array and is not counts as empty."""
    return value if isinstance(value, list) else ()


def _winners(release: dict) -> set[str]:
    """Supplier ids of active awards (the OCDS notion of the winner)."""
    out: set[str] = set()
    for award in _seq(release.get("awards")):
        if isinstance(award, dict) and award.get("status") in ("active", None):
            for s in _seq(award.get("suppliers")):
                if isinstance(s, dict) and s.get("id") is not None:
                    out.add(str(s["id"]))
    return out


def _contacts(release: dict) -> dict[str, dict]:
    """Party id -> contactPoint: the telephone/email a bidder declared (Art.40(2) signal)."""
    out = {}
    for p in _seq(release.get("parties")):
        if isinstance(p, dict) and isinstance(p.get("contactPoint"), dict):
            out[str(p.get("id"))] = p["contactPoint"]
    return out


def _release_date(release: dict) -> float | None:
    tender = _obj(release.get("tender"))
    period = _obj(tender.get("tenderPeriod"))
    for raw in (period.get("endDate"), release.get("date")):
        if isinstance(raw, str):
            d = parse_date(raw)
            if d is not None:
                return d
    return None


class OcdsColumns:
    """The bid rows read from OCDS lines, in typed ``array.array`` buffers (numpy takes them
    without a conversion pass): numbers (NaN for a missing date or estimate), and ids and
    contacts as codes of :class:`~monitoring.engine.table.CodeBook`, coded while reading (the codes
    :func:`~monitoring.engine.table.factorize` gives the same strings in row order)."""

    def __init__(self) -> None:
        self.books = {"tender_id": CodeBook(), "bidder_id": CodeBook(),
                      "phone": CodeBook(missing=True), "email": CodeBook(missing=True)}
        self.codes = {c: array("q") for c in self.books}
        self.amount = array("d")
        self.winner = array("b")
        self.date = array("d")
        self.estimate = array("d")

    def add_row(self, ocid: str, tid: str, amount: float, winner: bool, date: float | None,
                est: float | None, phone: str, email: str) -> None:
        """One bid (the per-bid paths; the clean path extends whole releases)."""
        for col, value in (("tender_id", ocid), ("bidder_id", tid), ("phone", phone), ("email", email)):
            self.codes[col].append(self.books[col][value])
        self.amount.append(amount)
        self.winner.append(winner)
        self.date.append(math.nan if date is None else date)
        self.estimate.append(math.nan if est is None else est)

    def arrays(self, log: WarningLog, parsed: int, lines: int) -> dict:
        """numpy columns, (codes, values) per coded column, warnings, the JSON line count and
        the line count: what a helper process sends back (a part of the file)."""
        out = {"parsed": parsed, "lines": lines, "counts": dict(log.counts), "examples": log.examples,
               "amount": np.array(self.amount, dtype=np.float64),
               "winner": np.array(self.winner, dtype=np.int8).astype(bool),
               "date": np.array(self.date, dtype=np.float64),
               "estimate": np.array(self.estimate, dtype=np.float64)}
        for col, book in self.books.items():
            out[col] = (np.array(self.codes[col], dtype=np.int64), book.values)
        return out


def _release_rows(release: dict, cols: OcdsColumns, log: WarningLog, where: str | int) -> None:
    ocid = release.get("ocid")
    if not isinstance(ocid, str):
        log.add("ocid", where, ocid)
        return
    if release.get("bids") is not None and not isinstance(release.get("bids"), dict):
        log.add("bids", where, type(release.get("bids")).__name__)
    details = _seq(_obj(release.get("bids")).get("details"))
    winners, contacts = _winners(release), _contacts(release)
    tender = _obj(release.get("tender"))
    est = parse_float(str(_obj(tender.get("value")).get("amount")))
    date = _release_date(release)
    for bid in details:
        if not isinstance(bid, dict) or bid.get("status") in ("withdrawn", "invited"):
            continue
        tenderers = _seq(bid.get("tenderers"))
        amount = parse_float(str(_obj(bid.get("value")).get("amount")))
        if not tenderers or not isinstance(tenderers[0], dict) or amount is None:
            log.add("bid", where, bid.get("id"))
            continue
        tid = str(tenderers[0].get("id") or tenderers[0].get("name") or "")
        if not tid:
            log.add("bid", where, bid.get("id"))
            continue
        cp = contacts.get(tid, {})
        cols.add_row(ocid, tid, amount, tid in winners, date, est, str(cp.get("telephone") or ""),
                     str(cp.get("email") or "").lower())


#: OCDS files from this size on are read by two processes (one per half of the lines)
PARALLEL_MIN_BYTES = 64 << 20


@contextmanager
def _gc_paused():
    """Readers allocate millions of acyclic objects; the cyclic collector would rescan the
    growing heap many times over while they do (seconds at 10⁶ rows) and finds nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_ocds(path: str | Path, progress: Callable[[int], None] | None = None,
              parallel: bool | None = None) -> BidTable:
    """Read OCDS compiled releases, one per line (also accepts a release package file).

    Each line is first decoded by :mod:`monitoring.engine.ocds_fast` (msgspec, only the fields the
    scan uses); a line that does not fit that schema (odd types, a release package, not
    JSON for msgspec) goes through the tolerant ``json.loads`` path, so both paths give the
    same rows and warnings.  A big file (``parallel`` None: ≥ :data:`PARALLEL_MIN_BYTES` on
    ≥ 2 CPUs) is read by two processes, one per half of its lines; the halves are joined in
    file order, so the table is the same as a one-process read.

    :raises InputError: file missing or no line is JSON.
    """
    with _gc_paused():
        return _read_ocds(Path(path), progress, parallel)


def _read_ocds(path: Path, progress: Callable[[int], None] | None, parallel: bool | None) -> BidTable:
    data = _map_file(path)
    bom = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    if parallel is None:
        parallel = len(data) - bom >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) >= 2
    mid = 0
    if parallel and data.find(b"\r", bom) < 0:
        mid = data.find(b"\n", bom + int((len(data) - bom) * _OWN_SHARE)) + 1
    if mid <= 0:
        part = _ocds_part_rows(data, progress, start=bom)
    else:
        child = _start_part(path, mid)
        mine = _ocds_part_rows(data, progress, start=bom, stop=mid)
        theirs = _part_result(child)
        if theirs is None:  # the helper process failed: read the second half here
            theirs = _ocds_part_rows(data, start=mid)
        part = _join_parts(mine, theirs)
    del data
    if not part["parsed"]:
        cols, log = OcdsColumns(), WarningLog()
        _read_whole_package(path, cols, log)
        part = cols.arrays(log, 0, 0)
    return _part_table(part, path)


#: share of the lines the scanning process reads itself when a helper reads the rest (the
#: helper starts at once, before anything is read, and pays ~0.1 s of interpreter start)
_OWN_SHARE = 0.55


def _map_file(path: Path) -> mmap.mmap | bytes:
    """The file's bytes, memory-mapped: the lines are decoded where the page cache holds
    them, instead of being copied into a 350 MB bytes object first."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror or exc}") from exc


_CHILD = ("import pickle, sys; from monitoring.engine.io import _ocds_part; "
          "sys.stdout.buffer.write(pickle.dumps(_ocds_part(sys.argv[1], int(sys.argv[2])), protocol=5))")


def _start_part(path: Path, offset: int):
    """A helper interpreter reading the lines from byte ``offset`` on (a plain subprocess,
    not multiprocessing: callers need no ``if __name__ == "__main__"`` guard)."""
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    try:
        return subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(offset)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    except OSError:
        return None


def _part_result(child) -> dict | None:
    if child is None:
        return None
    import pickle

    with child:
        out = child.stdout.read()
    if child.returncode != 0:
        logger.warning("OCDS helper process failed (exit %s); reading its half here", child.returncode)
        return None
    return pickle.loads(out)


def _ocds_part_rows(data: bytes | mmap.mmap, progress: Callable[[int], None] | None = None,
                    start: int = 0, stop: int | None = None) -> dict:
    """The rows of the lines in ``data[start:stop]`` as :meth:`OcdsColumns.arrays` (with the
    warnings, the number of JSON lines and the number of lines, numbered from 1)."""
    from monitoring.engine import ocds_fast

    cols = OcdsColumns()
    log = WarningLog()
    parsed = lineno = 0
    fast = ocds_fast.Reader(cols, log)
    for lineno, line in enumerate(_byte_lines(data, start, stop), start=1):
        if progress is not None and lineno % 10_000 == 0:
            progress(10_000)
        if fast.release(line, lineno):
            parsed += 1
            continue
        line = bytes(line)
        if not line.strip():
            continue
        try:
            doc = json.loads(line.decode("utf-8"))
        except ValueError:
            log.add("json", lineno, line.decode("utf-8", "replace")[:40])
            continue
        parsed += 1
        releases = doc.get("releases") if isinstance(doc, dict) and "releases" in doc else [doc]
        for rel in releases or ():
            if isinstance(rel, dict):
                _release_rows(rel, cols, log, lineno)
    return cols.arrays(log, parsed, lineno)


def _ocds_part(path: str, offset: int) -> dict:
    """Helper process: the rows of the lines of ``path`` from byte ``offset`` on."""
    with _gc_paused():
        return _ocds_part_rows(_map_file(Path(path)), start=offset)


def _join_codes(a: tuple[np.ndarray, list[str]], b: tuple[np.ndarray, list[str]]):
    """Codes of two factorised halves under one code book in first-seen order of a + b."""
    index = {v: i for i, v in enumerate(a[1])}
    values = list(a[1])
    remap = np.empty(len(b[1]) + 1, dtype=np.int64)
    remap[-1] = -1
    for j, v in enumerate(b[1]):
        i = index.get(v)
        if i is None:
            i = index[v] = len(values)
            values.append(v)
        remap[j] = i
    return np.concatenate((a[0], remap[b[0]])), values


def _join_parts(a: dict, b: dict) -> dict:
    """Two parts (first and second half of the lines) as one, in file order."""
    out = {"parsed": a["parsed"] + b["parsed"], "lines": a["lines"] + b["lines"],
           "counts": dict(a["counts"]), "examples": {}}
    for col, n in b["counts"].items():
        out["counts"][col] = out["counts"].get(col, 0) + n
    for col in out["counts"]:
        ex = list(a["examples"].get(col, []))
        ex.extend((w + a["lines"] if isinstance(w, int) else w, v)  # b's lines follow a's
                  for w, v in b["examples"].get(col, [])[:_MAX_EXAMPLES - len(ex)])
        out["examples"][col] = ex
    for c in ("amount", "winner", "date", "estimate"):
        out[c] = np.concatenate((a[c], b[c]))
    for c in ("tender_id", "bidder_id", "phone", "email"):
        out[c] = _join_codes(a[c], b[c])
    return out


def _part_table(part: dict, path: Path) -> BidTable:
    """The table of the rows of a whole file (:meth:`OcdsColumns.arrays` layout); the
    warnings are logged.

    :raises InputError: no usable bid row.
    """
    log = WarningLog()
    log.counts.update(part["counts"])
    log.examples.update(part["examples"])
    warnings = log.messages()
    for w in warnings:
        logger.warning("%s: %s", path, w)
    if len(part["amount"]) == 0:
        raise InputError(f"{path}: no usable bid rows")
    (tender, tender_ids), (bidder, bidder_ids) = part["tender_id"], part["bidder_id"]
    table = BidTable(tender=tender, bidder=bidder, tender_ids=tender_ids, bidder_ids=bidder_ids,
                     **{c: part[c] for c in ("amount", "winner", "date", "estimate")},
                     warnings=warnings)
    for c in ("phone", "email"):
        table.attrs[c], table.attr_values[c] = part[c]
    return table


def _byte_lines(data: bytes | mmap.mmap, start: int = 0,
                stop: int | None = None) -> Iterator[bytes | memoryview]:
    """Lines of ``data[start:stop]`` as a text file opened with ``newline=""`` yields them
    (``\n``, ``\r\n`` or a lone ``\r`` end a line).  Without ``\r`` they are views into
    ``data``: splitting the file into bytes objects would copy all of it once more."""
    stop = len(data) if stop is None else stop
    if data.find(b"\r", start, stop) >= 0:
        text = data[start:stop].decode("utf-8")
        yield from (ln.encode("utf-8") for ln in io.StringIO(text, newline=""))
        return
    view, find, pos = memoryview(data), data.find, start
    while pos < stop:
        nl = find(b"\n", pos, stop)
        if nl < 0:
            nl = stop
        yield view[pos:nl]
        pos = nl + 1


def _read_whole_package(path: Path, cols: OcdsColumns, log: WarningLog) -> None:
    """Fallback for a pretty-printed release package (not JSON lines)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: neither JSON lines nor a JSON release package") from exc
    releases = doc.get("releases", [doc]) if isinstance(doc, dict) else []
    log.counts.pop("json", None)
    log.examples.pop("json", None)
    for rel in releases:
        if isinstance(rel, dict):
            _release_rows(rel, cols, log, str(path))


def read_input(path: str | Path, fmt: str,
               progress: Callable[[int], None] | None = None) -> BidTable:
    """Dispatch on ``fmt`` (``bids-csv`` or ``ocds``)."""
    if fmt == "bids-csv":
        return read_bids_csv(path, progress)
    if fmt == "ocds":
        return read_ocds(path, progress)
    raise InputError(f"unknown format {fmt!r}")
