"""Evidence the bidder tool captures for collusion checks (条例 第四十条(一)): the device fingerprint
and each document's author metadata.

Best effort and tolerant: a missing /sys entry, an unreadable file or a malformed document yields
fewer components, never an error, because a bid must not fail for lack of evidence.  No heavy
dependencies: OOXML core properties are read with zipfile + ElementTree, PDF /Author with a small
scan of the file's head and tail (where the Info dictionary lives in practice).
"""
from __future__ import annotations

import logging
import re
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree

logger = logging.getLogger(__name__)

MAX_COMPONENTS = 64
MAX_XML = 1024 * 1024
PDF_WINDOW = 1024 * 1024
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


# --- device fingerprint -------------------------------------------------------------------------

def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _serial(value: str) -> str:
    return " ".join(value.split()).upper()[:200]


def _macs(root: Path) -> list[str]:
    found = set()
    for iface in sorted((root / "sys/class/net").glob("*")):
        mac = _read(iface / "address").lower()
        if iface.name != "lo" and _MAC.fullmatch(mac) and mac != "00:00:00:00:00:00":
            found.add(mac)
    if root == Path("/"):
        node = uuid.getnode()
        if not node & (1 << 40):  # the multicast bit marks a random fallback, not a real MAC
            found.add(":".join(f"{(node >> s) & 0xFF:02x}" for s in range(40, -8, -8)))
    return sorted(found)


def _cpu_serials(root: Path) -> list[str]:
    found = [line.split(":", 1)[1] for line in _read(root / "proc/cpuinfo").splitlines()
             if line.lower().startswith("serial") and ":" in line]
    found += [_read(root / "sys/devices/virtual/dmi/id" / name) for name in ("product_uuid", "board_serial")]
    return sorted({_serial(s) for s in found if _serial(s) and set(_serial(s)) - set("0-")})


def _disk_serials(root: Path) -> list[str]:
    found = []
    for block in sorted((root / "sys/block").glob("*")):
        if block.name.startswith(("loop", "ram", "zram", "dm-")):
            continue
        found += [_read(block / "device/serial"), _read(block / "serial"), _read(block / "device/wwid")]
    return sorted({_serial(s) for s in found if _serial(s)})


def collect_device(*, root: Path = Path("/"), dongle_serials: list[str] = ()) -> dict[str, list[str]]:
    """Raw device components by kind (MAC addresses, CPU/board serial, disk serials, the pricing
    software's dongle serial as given by the bidder, machine id); absent kinds are omitted."""
    raw = {
        "mac": _macs(root),
        "cpu_serial": _cpu_serials(root),
        "disk_serial": _disk_serials(root),
        "dongle_serial": sorted({_serial(s) for s in dongle_serials if _serial(s)}),
        "machine_id": [m for m in [_read(root / "etc/machine-id").lower()] if m],
    }
    return {kind: values[:MAX_COMPONENTS] for kind, values in raw.items() if values}


# --- author metadata ----------------------------------------------------------------------------

_OOXML = {
    "docProps/core.xml": {"creator": "{http://purl.org/dc/elements/1.1/}creator",
                          "last_modified_by": "{http://schemas.openxmlformats.org/package/2006/"
                                              "metadata/core-properties}lastModifiedBy",
                          "created": "{http://purl.org/dc/terms/}created",
                          "modified": "{http://purl.org/dc/terms/}modified"},
    "docProps/app.xml": {"application": "{http://schemas.openxmlformats.org/officeDocument/2006/"
                                        "extended-properties}Application",
                         "company": "{http://schemas.openxmlformats.org/officeDocument/2006/"
                                    "extended-properties}Company"},
}


def author_metadata(path: Path) -> dict[str, str]:
    """Author fields of a docx/xlsx/pptx or pdf; ``{}`` for other files or when unreadable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(5)
        if head.startswith(b"PK"):
            return _ooxml(path)
        if head == b"%PDF-":
            return _pdf(path)
    except (OSError, zipfile.BadZipFile, ElementTree.ParseError, ValueError, KeyError):
        logger.info("no author metadata from %s", path, exc_info=True)
    return {}


def _ooxml(path: Path) -> dict[str, str]:
    found = {}
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        for part, fields in _OOXML.items():
            if part not in names or z.getinfo(part).file_size > MAX_XML:
                continue
            tree = ElementTree.fromstring(z.read(part))
            for key, tag in fields.items():
                node = tree.find(tag)
                if node is not None and (node.text or "").strip():
                    found[key] = node.text.strip()[:200]
    return found


_PDF_FIELDS = {"author": b"Author", "creator": b"Creator", "producer": b"Producer"}


def _pdf(path: Path) -> dict[str, str]:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        data = fh.read(PDF_WINDOW)
        if size > 2 * PDF_WINDOW:
            fh.seek(size - PDF_WINDOW)
        data += fh.read(PDF_WINDOW)
    found = {}
    for key, name in _PDF_FIELDS.items():
        value = _pdf_value(data, name)
        if value:
            found[key] = value[:200]
    return found


def _pdf_value(data: bytes, name: bytes) -> str | None:
    at = data.rfind(b"/" + name)  # the last Info dictionary wins (incremental updates)
    if at < 0:
        return None
    rest = data[at + len(name) + 1:].lstrip()
    if rest.startswith(b"("):
        return _decode_pdf_string(_literal(rest))
    if rest.startswith(b"<") and not rest.startswith(b"<<"):
        hexdigits = re.sub(rb"\s", b"", rest[1:rest.find(b">")])
        return _decode_pdf_string(bytes.fromhex((hexdigits + b"0" * (len(hexdigits) % 2)).decode()))
    return None


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}


def _literal(data: bytes) -> bytes:
    """A PDF literal string from its opening parenthesis: nesting, escapes and octal codes."""
    out, depth, i = bytearray(), 0, 0
    while i < len(data):
        ch = data[i]
        if ch == 0x5C and i + 1 < len(data):  # backslash
            nxt = data[i + 1]
            octal = re.match(rb"[0-7]{1,3}", data[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            out += _ESCAPES.get(nxt, bytes([nxt]) if nxt not in (0x0A, 0x0D) else b"")
            i += 2
            continue
        if ch == 0x28:
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif ch == 0x29:
            depth -= 1
            if depth == 0:
                break
        out.append(ch)
        i += 1
    return bytes(out)


def _decode_pdf_string(raw: bytes) -> str:
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", errors="replace").strip()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace").strip()
    return raw.decode("latin-1").strip()
