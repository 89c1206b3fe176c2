"""``ggzy archive verify|export|check|trust|seal|delete``.

``verify`` runs without the app or the database (the offline verifier); the others need the
app context.  Exit codes of ``verify``: 0 valid, 1 invalid, 2 malformed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from archive import verify as verifier


@click.group(name="archive")
def cli():
    """Signed records, the Merkle log and offline verification (档案)."""


@cli.command("verify")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option("--trust", "trust", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TRUST.json pinned out of band (ggzy archive trust)")
@click.option("--prior", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a checkpoint you trusted before: the bundle's log must extend it")
def verify_cmd(bundle, trust, prior):
    """Check BUNDLE (a BagIt directory or .tar) offline; prints a JSON report of every check."""
    code, report = verifier.verify_path(bundle, trust, prior)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(code)


@cli.command("export")
@click.option("--record", "record_id", type=int, help="one record (its id)")
@click.option("--lot", "lot_id", type=int, help="every sealed record of a lot so far")
@click.option("--chain", help="a chain by name (lot:<id> or platform)")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="directory, or a file ending in .tar")
@click.option("--prior", "priors", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="checkpoint(s) the recipient holds: add consistency proofs from them")
@with_appcontext
def export_cmd(record_id, lot_id, chain, out, priors):
    """Write a verification bundle (BagIt) for a record, a lot or a chain."""
    from archive import bag, services
    from core.errors import DomainError

    if sum(x is not None for x in (record_id, lot_id, chain)) != 1:
        raise click.UsageError("give exactly one of --record, --lot, --chain")
    try:
        prior_bodies = [json.loads(Path(p).read_text())["body"] for p in priors]
        record = services.get_record(record_id) if record_id is not None else None
        files = services.build_bundle(record=record, chain=chain or (f"lot:{lot_id}" if lot_id else None),
                                      priors=prior_bodies)
    except DomainError as err:
        raise click.ClickException(err.detail) from None
    except (ValueError, KeyError) as err:
        raise click.ClickException(f"prior checkpoint unreadable: {err}") from None
    if out.suffix == ".tar":
        bag.write_tar(files, out)
    else:
        if out.exists() and any(out.iterdir()):
            raise click.ClickException(f"{out} exists and is not empty")
        bag.write_dir(files, out)
    click.echo(f"wrote {out} ({sum(p.startswith('data/records/') for p in files)} records)")


@cli.command("check")
@click.option("--limit", type=int, default=None, help="segments to re-hash (default: all)")
@with_appcontext
def check_cmd(limit):
    """Re-hash stored records and attachments against the log now; exit 1 on any mismatch."""
    from archive import services
    from core.events import commit

    result = services.audit_storage(limit=limit)
    commit()
    click.echo(json.dumps(result))
    sys.exit(1 if result["mismatches"] else 0)


@cli.command("trust")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@with_appcontext
def trust_cmd(out):
    """Write TRUST.json: the log origin and the platform's public signing keys, old ones included."""
    from archive import services

    text = json.dumps(services.trust_document(), ensure_ascii=False, indent=2)
    if out:
        out.write_text(text + "\n")
    else:
        click.echo(text)


@cli.command("seal")
@with_appcontext
def seal_cmd():
    """Run the sequencer once now (normally the scheduler does this every second)."""
    from archive import services

    sealed = services.run_sequencer(max_seconds=60)
    if sealed < 0:
        raise click.ClickException("another sequencer holds the lease")
    click.echo(f"sealed {sealed}; log size {services.log_size()}")


@cli.command("delete")
@click.argument("key")
@click.option("--reason", required=True)
@with_appcontext
def delete_cmd(key, reason):
    """Try to delete a stored object: refused (and audited) while retention or legal hold lasts."""
    from archive import services
    from core.errors import DomainError
    from core.events import commit

    try:
        services.delete_object(key=key, reason=reason)
    except DomainError as err:
        commit()  # keep the audit row of the refusal
        raise click.ClickException(f"{err.detail} ({err.rule})") from None
    commit()
    click.echo(f"deleted {key}")
