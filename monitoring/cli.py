"""``ggzy monitoring scan|simulate|evaluate`` (no Flask app, no database).

The root ``ggzy`` command registers :data:`cli` with ``root.add_command(monitoring.cli.cli)``.
Exit codes: 0 done, 2 unusable input (missing file, missing column, not JSON), 1 other
failures (also a feature whose extra is not installed: ``--train`` and ``evaluate`` need
``ggzy[train]``).  A progress bar is shown only when stderr is a terminal and rich (the
``cli`` extra) is installed; the evaluation tables fall back to plain text without rich.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from monitoring.engine.extras import MissingExtra

logger = logging.getLogger(__name__)


class _Stages:
    """Stage-wise progress on a terminal; silent otherwise (CI logs, pipes)."""

    def __init__(self, progress) -> None:
        self.progress = progress
        self.task = None

    def stage(self, name: str, total: float | None = None) -> None:
        if self.progress is None:
            logger.info("%s", name)
            return
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].total or 1)
            self.progress.stop_task(self.task)
        self.task = self.progress.add_task(name, total=total)

    def advance(self, n: float) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, n)


@contextmanager
def _stages(enabled: bool | None = None):
    enabled = sys.stderr.isatty() if enabled is None else enabled
    if not enabled or not _have_rich():
        yield _Stages(None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as progress:
        st = _Stages(progress)
        yield st
        st.stage("done", 1)
        st.advance(1)


def _have_rich() -> bool:
    return importlib.util.find_spec("rich") is not None


def _fail_input(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def _fail_extra(exc: MissingExtra) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.group(name="monitoring")
def cli() -> None:
    """Collusion monitoring: scan bids, simulate markets, evaluate against a truth."""


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["bids-csv", "ocds"]), default="bids-csv",
              show_default=True, help="Input format (DESIGN §7).")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Output JSON lines: one record per tender, then one per group.")
@click.option("--train", "train", type=click.Path(path_type=Path), default=None,
              help="Labelled bids-csv (column label) to calibrate the price/pattern score.")
@click.option("--seed", default=0, show_default=True, help="Seed of the community detection.")
def scan(input_path: Path, fmt: str, out: Path, train: Path | None, seed: int) -> None:
    """Scan INPUT for collusion flags and scores."""
    from monitoring.engine.export import write_jsonl
    from monitoring.engine.io import InputError, read_bids_csv, read_input
    from monitoring.engine.market import Market

    with _stages() as st:
        try:
            st.stage(f"reading {input_path.name}")
            table = read_input(input_path, fmt, st.advance)
            model = None
            if train is not None:
                from monitoring.engine.supervised import Calibrator

                st.stage(f"training on {train.name}")
                model = Calibrator().fit_table(read_bids_csv(train))
        except InputError as exc:
            _fail_input(exc)
        except MissingExtra as exc:
            _fail_extra(exc)
        st.stage(f"analysing {len(table):,} bids / {table.n_tenders:,} tenders")
        market = Market(table, seed=seed, model=model).analyse()
        st.stage(f"writing {out.name}")
        n = write_jsonl(_records(market), out)
    alerts = int((market.scores >= 0.5).sum())
    click.echo(f"{n} records written to {out} ({table.n_tenders} tenders, {alerts} alerts, "
               f"{len(table.warnings)} warning kinds)")
    for w in table.warnings:
        click.echo(f"warning: {w}", err=True)


def _records(market):
    yield from market.tender_json_lines()
    yield from market.group_records()


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Directory for bids.csv, ocds.jsonl, truth.csv, calibration.json.")
@click.option("--seed", default=0, show_default=True)
@click.option("--tenders", "n_tenders", default=2000, show_default=True, type=click.IntRange(50))
@click.option("--plant", "plant", default=None, type=click.IntRange(0),
              help="Planted lots per evidence kind (default: 1 % of the tenders, at least 4).")
@click.option("--reference", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Collusion data directory: report the KS distance of competitive screens.")
def simulate(out: Path, seed: int, n_tenders: int, plant: int | None, reference: Path | None) -> None:
    """Simulate a market with planted cartels (bids-csv, OCDS and a ground truth)."""
    from monitoring.engine import export
    from monitoring.engine.simulate import Simulator

    with _stages() as st:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            click.echo(f"error: cannot create {out}: {exc.strerror}", err=True)
            sys.exit(2)
        st.stage(f"simulating {n_tenders:,} tenders")
        sim = Simulator(n_tenders, seed, plant)
        market = sim.generate()
        st.stage("writing bids.csv / ocds.jsonl / truth.csv")
        export.write_bids_csv(market.cols, out / "bids.csv")
        export.write_ocds(market.cols, out / "ocds.jsonl")
        export.write_truth(market.truth, out / "truth.csv")
        if reference is not None:
            st.stage("calibration against the reference data")
            _write_calibration(market, reference, out / "calibration.json")
    click.echo(f"{len(market.cols['amount'])} bids, {n_tenders} tenders, "
               f"{len(market.truth)} planted lots written to {out}")


def _write_calibration(market, reference: Path, path: Path) -> None:
    from monitoring.engine.calibration import calibration_ks
    from monitoring.engine.io import InputError

    try:
        report = calibration_ks(market, reference)
    except InputError as exc:
        _fail_input(exc)
    path.write_text(json.dumps(report, indent=2))
    for name, ks in report["ks"].items():
        click.echo(f"KS({name}) = {ks}")


@cli.command()
@click.option("--scan", "scan_path", type=click.Path(path_type=Path), required=True)
@click.option("--truth", "truth_path", type=click.Path(path_type=Path), required=True)
@click.option("--threshold", default=0.5, show_default=True, type=click.FloatRange(0, 1))
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the metrics as JSON.")
def evaluate(scan_path: Path, truth_path: Path, threshold: float, json_out: Path | None) -> None:
    """Precision/recall per evidence kind, ROC-AUC per price-only kind."""
    from monitoring.engine.evaluate import evaluate as run
    from monitoring.engine.io import InputError

    try:
        report = run(scan_path, truth_path, threshold)
    except InputError as exc:
        _fail_input(exc)
    except MissingExtra as exc:
        _fail_extra(exc)
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2))
    _print_report(report)


EVIDENCE_COLUMNS = ("kind", "flag", "planted", "tp", "fp", "precision", "recall")
PRICE_COLUMNS = ("kind", "planted", "roc_auc", "pr_auc", "recall_at_threshold")


def _print_report(report: dict) -> None:
    tables = [(f"evidence kinds (alert threshold {report['threshold']})", EVIDENCE_COLUMNS,
               [[kind, m["flag"], *(str(m[k]) for k in EVIDENCE_COLUMNS[2:])]
                for kind, m in report["evidence"].items()]),
              ("price-only kinds", PRICE_COLUMNS,
               [[kind, *(str(m.get(k)) for k in PRICE_COLUMNS[1:])] for kind, m in report["price_only"].items()])]
    if not _have_rich():
        for title, columns, rows in tables:
            click.echo(_plain_table(title, columns, rows))
        click.echo(f"groups: {report['groups']}")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for title, columns, rows in tables:
        t = Table(title=title)
        for col in columns:
            t.add_column(col)
        for row in rows:
            t.add_row(*row)
        console.print(t)
    console.print(f"groups: {report['groups']}")


def _plain_table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(columns, *rows, strict=False)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)
