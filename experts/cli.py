"""``ggzy experts``: import the pool, make a contribution and its commitment, verify a draw."""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group(name="experts")
def cli():
    """Expert pool and verifiable draws."""


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor-email", default="", help="pool manager recorded in the audit trail")
@with_appcontext
def import_pool(file: Path, actor_email: str):
    """Admit experts from a CSV (UTF-8) or .xlsx file; bad rows are listed, good rows kept."""
    from core.db import db
    from core.events import commit
    from core.models import User
    from experts import services

    actor = db.session.scalar(db.select(User).where(User.email == actor_email)) if actor_email else None
    result = services.import_rows(actor=actor, rows=services.read_rows(file))
    commit()
    click.echo(f"admitted {len(result['admitted'])}, refused {len(result['errors'])}")
    for err in result["errors"]:
        click.echo(f"  row {err['row']}: {err['error']} {err['detail']}", err=True)
    sys.exit(1 if result["errors"] and not result["admitted"] else 0)


@cli.command("contribution")
@click.option("--party", type=click.Choice(["operator", "supervisor"]), required=True)
@click.option("--lot", "lot_id", type=int, required=True)
@click.option("--draw-number", type=int, required=True)
def contribution(party: str, lot_id: int, draw_number: int):
    """Make a random contribution on this machine and print it with its commitment (keep it secret
    until the reveal; submit only the commitment first)."""
    from experts import selection as sel

    value = secrets.token_hex(sel.CONTRIBUTION_BYTES)
    click.echo(json.dumps({"contribution": value, "commitment": sel.commitment(
        party=party, lot_id=lot_id, draw_number=draw_number, contribution_hex=value)}))


@cli.command("verify-draw")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--recorded", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="hashes recorded at draw time (e.g. from the archived experts.draw_committed and "
                   "committee_drawn records); they replace the bundle's own 'recorded' block")
def verify_draw(bundle: Path, recorded: Path | None):
    """Recompute a published draw; exit 0 valid, 1 invalid, 2 unreadable.  JSON report on stdout."""
    from experts.verify import verify_bundle

    try:
        doc = json.loads(bundle.read_text(encoding="utf-8"))
        if recorded is not None:
            doc["recorded"] = json.loads(recorded.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        click.echo(json.dumps({"valid": False, "error": f"unreadable: {err}"}))
        sys.exit(2)
    report = verify_bundle(doc) if isinstance(doc, dict) else {"valid": False, "checks": []}
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(0 if report["valid"] else 1)
