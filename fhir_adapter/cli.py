"""``prm fhir import`` and ``prm fhir sync`` (registered on the ``prm`` command)."""

from __future__ import annotations

import json
import sys

import typer

fhir_app = typer.Typer(help="Hospital records through FHIR R4.", no_args_is_help=True)

COLUMNS = ("read", "imported", "unchanged", "quarantined", "skipped", "waiting", "linked")


@fhir_app.command("import")
def import_command(
    paths: list[str] = typer.Argument(..., help="Bundle .json, .ndjson files or bulk folders"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object"),
    source: str = typer.Option(None, help="Source name records are keyed by "
                               "(default PRM_FHIR_IMPORT_SOURCE)"),
    workers: int = typer.Option(None, help="Mapping processes (default: CPU count)"),
    again: bool = typer.Option(False, "--again", help="Read files an earlier import "
                               "finished again (unchanged records are counted, not written)"),
) -> None:
    """Import FHIR resources from files; quarantined resources are not a failure."""
    from fhir_adapter.importer import Importer
    from fhir_adapter.settings import mapping_config
    from fhir_adapter.sources import SourceError, collect
    from prm.config import get_settings
    from prm.db import make_engine

    settings = get_settings()
    try:
        inputs = collect(paths)
    except SourceError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    engine = make_engine(settings.database_url)
    config = mapping_config(settings, source or settings.fhir_import_source)
    total = sum(item.path.stat().st_size for item in inputs)
    with _progress(total, enabled=not as_json and sys.stderr.isatty()) as advance:
        result = Importer(engine, tz=settings.tz, config=config, workers=workers,
                          on_progress=advance, again=again).run(inputs)
    _audit(engine, "import", result.as_json())
    engine.dispose()
    _report(result.as_json(), as_json)


@fhir_app.command("sync")
def sync_command(
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object"),
    bulk: bool = typer.Option(False, "--bulk", help="Use $export instead of REST search"),
    group: str = typer.Option(None, help="Bulk export of one Group only"),
) -> None:
    """Pull what changed on the configured FHIR server since the last sync."""
    from fhir_adapter.client import FhirError
    from fhir_adapter.sync import run_bulk_sync, run_sync
    from prm.config import get_settings
    from prm.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        if bulk:
            summary = run_bulk_sync(engine, settings, group_id=group)
        else:
            summary = run_sync(engine, settings)
        _audit(engine, "bulk sync" if bulk else "sync", summary)
    except (FhirError, ValueError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    _report(summary, as_json)
    for resource_type, message in summary.get("errors", {}).items():
        typer.echo(f"error: {resource_type}: {message}", err=True)
    if summary.get("errors"):
        raise typer.Exit(1)


def _audit(engine, what: str, summary: dict) -> None:
    from sqlmodel import Session

    from prm.ingest.progress import audit_run

    with Session(engine) as session:
        audit_run(session, what=what, summary=summary)
        session.commit()


class _progress:
    """A progress bar on a terminal (rich); nothing when output goes to a script."""

    def __init__(self, total: int, *, enabled: bool):
        self.total, self.enabled, self._bar = total, enabled, None

    def __enter__(self):
        if not self.enabled:
            return lambda _done: None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress("importing", BarColumn(), DownloadColumn(),
                             TransferSpeedColumn(), TimeRemainingColumn(), transient=True)
        self._bar.start()
        task = self._bar.add_task("import", total=self.total)
        return lambda done: self._bar.advance(task, done)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()


def _report(summary: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"FHIR records — {summary.get('seconds', 0):.1f} s")
    table.add_column("resource type")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    totals = dict.fromkeys(COLUMNS, 0)
    for name, counts in summary["by_type"].items():
        table.add_row(name, *(f"{counts.get(c, 0):,}" for c in COLUMNS))
        for column in COLUMNS:
            totals[column] += counts.get(column, 0)
    table.add_row("total", *(f"{totals[c]:,}" for c in COLUMNS), style="bold")
    Console().print(table)
    files = summary.get("files", {})
    if files.get("already_imported"):
        Console().print(f"{files['already_imported']} file(s) were imported before and skipped "
                        "(use --again to read them again)")
    if totals["quarantined"]:
        Console().print(f"{totals['quarantined']:,} quarantined: see Admin → Hospital records")
