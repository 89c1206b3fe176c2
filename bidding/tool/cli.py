"""``ggzy bid keygen|pack|inspect|unseal|submit|withdraw|verify-receipt|confirm-record`` and
``ggzy bid custody fetch|decrypt-share``.

The bidder's and custodians' side: offline commands need neither the Flask app nor the database
(only ``--platform`` talks to a server, over its public HTTP API).  Exit codes: 0 done, 1 the
package or share is refused (reason on stderr, JSON report on stdout where there is one), 2 unusable
input (missing file, bad option).
"""
from __future__ import annotations

import json
import logging
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.package import container, custody
from bidding.package.priced_schedule import ScheduleError
from bidding.tool import actions as tool

logger = logging.getLogger(__name__)


@click.group(name="bid")
def cli():
    """Bidder tool: make keys, seal a bid package, inspect and unseal it; custodians' shares."""


def _fail(err: Exception, code: int = 1):
    detail = getattr(err, "detail", None) or str(err)
    click.echo(f"error: {getattr(err, 'code', 'error')}: {detail}", err=True)
    for line in getattr(err, "errors", [])[1:]:
        click.echo(f"  {line}", err=True)
    sys.exit(code)


@contextmanager
def _refusals():
    """PackageError/ScheduleError → exit 1 with the reason; missing files → exit 2."""
    try:
        yield
    except (container.PackageError, ScheduleError) as err:
        _fail(err, 1)
    except (FileNotFoundError, FileExistsError, IsADirectoryError, PermissionError) as err:
        _fail(err, 2)


def _http(method: str, url: str, *, token: str | None = None, body=None, length: int | None = None,
          json_body: dict | None = None) -> dict:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif body is not None:
        headers.update({"Content-Type": "application/octet-stream", "Content-Length": str(length)})
    try:
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=600) as resp:  # noqa: S310 (the user's platform URL)
            return _json_object(resp.read(), url, resp.status)
    except urllib.error.HTTPError as err:
        try:
            payload = json.loads(err.read() or b"{}")
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        raise container.PackageError(payload.get("error", f"http_{err.code}"),
                                     payload.get("detail", str(err))) from None
    except ValueError as err:  # a URL urllib cannot use (no scheme, bad port)
        raise container.PackageError("bad_platform", f"{url}: {err}") from None
    except (urllib.error.URLError, OSError) as err:
        raise container.PackageError("platform_unreachable", str(err)) from None


def _json_object(data: bytes, url: str, status: int) -> dict:
    """A success that is not the API's JSON object (a wrong --platform serving a web page) is named
    as such, not blamed on the receipt or the package."""
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise container.PackageError("bad_response", f"{url} did not answer as the platform's API does "
                                     f"(HTTP {status}); is --platform the platform's address?")
    return body


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="directory for the key files")
@click.option("--force", is_flag=True, help="overwrite existing key files")
def keygen(out_dir, force):
    """Make a signing (Ed25519) and an encryption (X25519) key pair; prints the public halves."""
    with _refusals():
        click.echo(json.dumps(tool.keygen(out_dir, overwrite=force), indent=2))


def _opening_public(opening_key: str | None, platform: str | None, lot: int) -> bytes:
    if bool(opening_key) == bool(platform):
        raise click.UsageError("give exactly one of --opening-key and --platform")
    if opening_key:
        return tool.parse_public(opening_key)
    found = _http("GET", f"{platform.rstrip('/')}/api/bidding/lots/{lot}/opening-key")
    raw = tool.parse_public(found["public_key"])
    if container.key_id("x25519", raw) != found.get("kid"):
        raise container.PackageError("bad_opening_key", "the platform's opening key does not match its id")
    return raw


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--lot", type=click.IntRange(1, 2**31 - 1), required=True, help="lot id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="package file")
@click.option("--schedule", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="priced schedule, CSV or .xlsx (columns item and amount at least)")
@click.option("--sign-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--encrypt-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--opening-key", help="the lot's opening public key (base64), for offline packing")
@click.option("--platform", help="platform URL to fetch the lot's opening key from")
@click.option("--dongle-serial", multiple=True, help="pricing-software dongle serial (repeatable)")
@click.option("--segment-size", type=click.IntRange(container.MIN_SEGMENT, container.MAX_SEGMENT),
              default=container.DEFAULT_SEGMENT, show_default=True)
def pack(folder, lot, out, schedule, sign_key, encrypt_key, opening_key, platform, dongle_serial, segment_size):
    """Seal FOLDER (every file in it) and the priced schedule into a package for one lot."""
    with _refusals():
        opening = _opening_public(opening_key, platform, lot)
        total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) + (
            schedule.stat().st_size if schedule else 0)
        with click.progressbar(length=total, label="sealing", file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            manifest = tool.pack_folder(folder=folder, out=out, lot_id=lot, opening_public=opening,
                                        sign_key=sign_key, encrypt_key=encrypt_key, schedule=schedule,
                                        dongle_serials=list(dongle_serial), segment_size=segment_size,
                                        progress=bar.update)
        click.echo(json.dumps({"package": str(out), "bidder_key_id": manifest["bidder_key_id"],
                               "opening_key_id": manifest["opening_key_id"],
                               "files": len(manifest["files"]) - 1,
                               "ciphertext_sha256": manifest["payload"]["sha256"]}, indent=2))


@cli.command()
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="the Ed25519 public key (base64) the signer must have")
@click.option("--platform", help="also check online: lot, opening key, registered and valid signer")
@click.option("--token", envvar="GGZY_TOKEN", help="API token for --platform (or GGZY_TOKEN)")
def inspect(package, public_key, platform, token):
    """Show the manifest and verify it without any private key (signature, sizes, hashes)."""
    with _refusals():
        report = tool.inspect(package, expected_public_key=public_key)
        if platform:
            lot = report["manifest"]["lot_id"]
            with open(package, "rb") as fh:
                report["platform"] = _http("POST", f"{platform.rstrip('/')}/api/bidding/lots/{lot}/package-check",
                                           token=token, body=fh, length=package.stat().st_size)
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))


@cli.command()
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="new directory (unseal locally)")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="X25519 private key (the bidder's encrypt.pem)")
@click.option("--share", "shares", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a custodian's decrypted share (give two; the key is rebuilt in memory only)")
@click.option("--submit", is_flag=True, help="at the opening: send the data key to the platform (needs --key)")
@click.option("--platform", help="platform URL (with --submit)")
@click.option("--token", envvar="GGZY_TOKEN", help="API token (or GGZY_TOKEN), with --submit")
def unseal(package, out_dir, key, shares, submit, platform, token):
    """Open PACKAGE into a new directory with the bidder's key or two custodians' shares; with
    --submit, unseal it at the online opening instead: the data key is unwrapped here with your
    key and sent, never your private key (电子招标投标办法 第三十条)."""
    if bool(key) == bool(shares):
        raise click.UsageError("give --key or at least two --share files")
    if submit:
        if not (key and platform and token):
            raise click.UsageError("--submit needs --key, --platform and --token")
        with _refusals():
            _submit_data_key(package, key, platform, token)
        return
    if out_dir is None:
        raise click.UsageError("give --out (or --submit)")
    with _refusals():
        if key:
            result = tool.unseal(package, out_dir, key=key)
        else:
            opening = custody.rebuild_opening_key([custody.ClearShare.from_json(p.read_text()) for p in shares])
            with open(package, "rb") as fh:
                from bidding.package import sealing

                result = sealing.unseal(fh, out_dir, private_key=opening)
        out_dir.with_name(f"{out_dir.name}.info.json").write_text(
            json.dumps({"manifest": result.manifest, "info": result.info, "files": result.files},
                       indent=2, ensure_ascii=False))
        click.echo(json.dumps({"out": str(out_dir), "files": result.files,
                               "schedule_total": (result.info.get("schedule") or {}).get("total")},
                              indent=2, ensure_ascii=False))


def _submit_data_key(package: Path, key: Path, platform: str, token: str) -> None:
    from bidding.package import sealing

    with open(package, "rb") as fh:
        manifest = sealing.read_manifest(fh).manifest
    data_key = sealing.data_key_for(manifest, tool.load_private(key, X25519PrivateKey))
    result = _http("POST", f"{platform.rstrip('/')}/api/bidding/lots/{manifest['lot_id']}/opening/unseal",
                   token=token, json_body={"data_key": container.b64e(data_key)})
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    if result.get("status") != "unsealed":
        sys.exit(1)


@cli.command("confirm-record")
@click.option("--lot", type=click.IntRange(1, 2**31 - 1), required=True)
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="your organisation's Ed25519 signing key (sign.pem)")
@click.option("--platform", required=True, help="platform URL")
@click.option("--token", envvar="GGZY_TOKEN", required=True, help="API token (or GGZY_TOKEN)")
def confirm_record(lot, key, platform, token):
    """Check the platform's signature on the lot's opening table, then confirm it with your signature."""
    from bidding.package.records import confirm_message, digest_of, verify_record

    base = platform.rstrip("/")
    with _refusals():
        table = _http("GET", f"{base}/api/bidding/lots/{lot}/opening-record?kind=table")
        try:
            verify_record(table, _http("GET", f"{base}/api/keys/platform"))
        except ValueError as err:
            raise container.PackageError("bad_record_signature", str(err)) from None
        if digest_of(table["body"]) != table["digest"]:
            raise container.PackageError("bad_record_digest", "the digest is not the body's")
        sign = tool.load_private(key, Ed25519PrivateKey)
        result = _http("POST", f"{base}/api/bidding/lots/{lot}/opening-record/confirmations", token=token,
                       json_body={"key_id": container.key_id("ed25519", container.raw_public(sign)),
                                  "signature": container.b64e(sign.sign(confirm_message(table["digest"])))})
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@cli.group(name="custody")
def custody_group():
    """Custodians: fetch your sealed shares and decrypt them on your own machine."""


@custody_group.command()
@click.option("--platform", required=True, help="platform URL")
@click.option("--token", envvar="GGZY_TOKEN", required=True, help="API token (or GGZY_TOKEN)")
@click.option("--lot", type=click.IntRange(1, 2**31 - 1), help="only this lot")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def fetch(platform, token, lot, out_dir):
    """Download your encrypted shares (they stay encrypted until decrypt-share)."""
    with _refusals():
        query = f"?lot_id={lot}" if lot else ""
        shares = _http("GET", f"{platform.rstrip('/')}/api/bidding/shares{query}", token=token)
        out_dir.mkdir(parents=True, exist_ok=True)
        for share in shares:
            path = out_dir / f"share-lot{share['lot_id']}-x{share['x']}.json"
            path.write_text(json.dumps(share, indent=2))
            click.echo(str(path))


@custody_group.command("decrypt-share")
@click.argument("share", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="your X25519 private key (encrypt.pem)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="where to write the decrypted share (mode 0600)")
def decrypt_share(share, key, out):
    """Decrypt one share with your private key; keep the result as secret as the key itself."""
    import os

    with _refusals():
        try:
            record = json.loads(share.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise custody.CustodyError("bad_share", f"{share} is not JSON") from None
        clear = custody.decrypt_share(record, tool.load_private(key, X25519PrivateKey))
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(clear.to_json())
        click.echo(json.dumps({"lot_id": clear.lot_id, "opening_key_id": clear.opening_key_id, "x": clear.x,
                               "out": str(out)}))


# --- submission (issue 5) -------------------------------------------------------------------------

@contextmanager
def _online():
    from bidding.tool.client import SubmitError

    try:
        yield
    except SubmitError as err:
        click.echo(json.dumps(err.body or {"error": err.code, "detail": err.detail}, ensure_ascii=False), err=True)
        _fail(err, 2 if err.code == "bad_platform" else 1)


@cli.command()
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lot", type=click.IntRange(1, 2**31 - 1), required=True, help="lot id")
@click.option("--platform", required=True, help="platform URL")
@click.option("--token", envvar="GGZY_TOKEN", required=True, help="API token (or GGZY_TOKEN)")
@click.option("--receipt", "receipt_out", type=click.Path(dir_okay=False, path_type=Path),
              help="write the signed receipt here (default: PACKAGE.receipt.json)")
@click.option("--chunk-mb", type=click.IntRange(1, 64), default=8, show_default=True, help="chunk size")
def submit(package, lot, platform, token, receipt_out, chunk_mb):
    """Upload PACKAGE in chunks and submit it; re-run the same command to resume after a failure.

    The server clock decides: an upload not finished before the deadline is not a bid.  The
    platform's signed receipt is verified and saved."""
    from bidding.package import receipts
    from bidding.tool.client import Client

    with _online(), _refusals():
        api = Client(platform, token)
        size = package.stat().st_size
        with click.progressbar(length=size, label="uploading", file=sys.stderr,
                               hidden=not sys.stderr.isatty()) as bar:
            bid = api.submit(lot, package, chunk=chunk_mb * 1024 * 1024, progress=bar.update)
        receipt = bid["receipt"]
        try:
            receipts.verify(receipt, api.platform_keys())
            receipts.check_package(receipt, package)
        except receipts.ReceiptError as err:
            _fail(err, 1)
        out = receipt_out or package.with_name(package.name + ".receipt.json")
        out.write_text(json.dumps(receipt, indent=2, ensure_ascii=False))
        click.echo(json.dumps({"bid_id": bid["id"], "receipt": str(out), "received_at": receipt["received_at"],
                               "package_sha256": receipt["package_sha256"],
                               "already_submitted": bool(bid.get("already_submitted"))}, indent=2))


@cli.command()
@click.argument("bid_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--platform", required=True, help="platform URL")
@click.option("--token", envvar="GGZY_TOKEN", required=True, help="API token (or GGZY_TOKEN)")
def withdraw(bid_id, platform, token):
    """Withdraw your bid BID_ID before the deadline (招标投标法 第二十九条)."""
    from bidding.tool.client import Client

    with _online():
        bid = Client(platform, token).withdraw(bid_id)
        click.echo(json.dumps({"bid_id": bid["id"], "state": bid["state"], "ended_at": bid["ended_at"]}))


def _json_file(path: Path, code: str):
    """A JSON file the user named, or exit 2 naming that file (not another one)."""
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        _fail(container.PackageError(code, f"{path} is not JSON"), 2)


@cli.command()
@click.argument("bid_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--platform", required=True, help="platform URL")
@click.option("--token", envvar="GGZY_TOKEN", required=True, help="API token (or GGZY_TOKEN)")
def confirm(bid_id, platform, token):
    """Re-confirm your bid BID_ID as it stands after the tender documents were amended."""
    from bidding.tool.client import Client

    with _online():
        bid = Client(platform, token).confirm(bid_id)
        click.echo(json.dumps({"bid_id": bid["id"], "state": bid["state"],
                               "needs_reconfirmation": bid.get("needs_reconfirmation"),
                               "confirmed_at": bid.get("confirmed_at")}))


@cli.command("verify-receipt")
@click.argument("receipt", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--platform", help="platform URL (fetches its public keys)")
@click.option("--platform-keys", "keys_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the platform's public key manifest (platform-keys.json), for offline checks")
@click.option("--package", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="also check that this file is the package the receipt names")
def verify_receipt(receipt, platform, keys_file, package):
    """Check a receipt's platform signature (and optionally the package's size and SHA-256)."""
    from bidding.package import receipts

    if bool(platform) == bool(keys_file):
        raise click.UsageError("give exactly one of --platform and --platform-keys")
    record = _json_file(receipt, "bad_receipt")
    try:
        manifest = (_json_file(keys_file, "bad_manifest") if keys_file
                    else _http("GET", f"{platform.strip().rstrip('/')}/api/keys/platform"))
        receipts.verify(record, manifest)
        if package:
            receipts.check_package(record, package)
    except (receipts.ReceiptError, container.PackageError) as err:
        _fail(err, 2 if err.code == "bad_platform" else 1)
    click.echo(json.dumps({"valid": True, "bid_id": record["bid_id"], "lot_id": record["lot_id"],
                           "received_at": record["received_at"], "package_sha256": record["package_sha256"],
                           "platform_kid": record["platform_kid"], "package_checked": bool(package)}, indent=2))
