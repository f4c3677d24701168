"""FHIR bulk import: resources per second and peak memory, against a naive loop.

    .venv/bin/python bench/fhir_import.py [--size-mb 110] [--baseline-limit 20000]
                                          [--workers N] [--seed 1] [--fixtures DIR]

1. Generates (or reuses) a Synthea-like bulk-export folder of ``--size-mb`` and one a
   quarter of that size (``bench/fhir_data.py``).
2. Runs ``prm fhir import --json`` on the big folder into a fresh SQLite database, as a
   child process whose whole tree (main + worker processes) is sampled every 50 ms for
   VmRSS: resources/s, wall time, peak RSS (sum over the tree, and per process), and the
   summary counts, checking read = imported + unchanged + skipped + quarantined + waiting.
3. Runs the naive baseline on a sample of the same folder: every line ``json.loads``-ed,
   validated whole with its ``fhir.resources`` R4B model and inserted as one row
   (type, id, JSON text) in autocommit mode, i.e. one transaction per row.
4. Runs the import on the quarter-size folder, to show peak memory does not grow with
   the input.

Targets: ≥ 10,000 resources/s end-to-end into SQLite on 2 cores; peak memory independent
of the input's size and under 400 MB. The databases are deleted afterwards; the
generated input is kept under bench/out/ for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import fhir_data  # noqa: E402
from bench.common import OUT, machine  # noqa: E402

SAMPLE_SECONDS = 0.05
COUNT_COLUMNS = ("read", "imported", "unchanged", "skipped", "quarantined", "waiting")
_MB = 1024 * 1024


# --- memory of a process tree -------------------------------------------------------------


@dataclass
class TreePeak:
    """Peak VmRSS of a process and its descendants, sampled from /proc."""

    total_kb: int = 0
    per_process_kb: dict[int, int] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)
    samples: int = 0

    def by_role(self) -> dict[str, int]:
        """Largest peak per role ("main", "worker", …) in kB."""
        peaks: dict[str, int] = {}
        for pid, kb in self.per_process_kb.items():
            role = self.roles.get(pid, "other")
            peaks[role] = max(peaks.get(role, 0), kb)
        return peaks

    def count(self, role: str) -> int:
        return sum(1 for r in self.roles.values() if r == role)


class TreeSampler(threading.Thread):
    """Samples the tree under ``root`` every 50 ms until stopped."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peak, self._stop_event = root, TreePeak(), threading.Event()

    def run(self) -> None:
        while True:
            self.sample()
            if self._stop_event.wait(SAMPLE_SECONDS):
                return

    def stop(self) -> TreePeak:
        self._stop_event.set()
        self.join()
        return self.peak

    def sample(self) -> None:
        total = 0
        for pid in _tree(self.root):
            kb = _rss_kb(pid)
            if kb is None:
                continue  # exited between listing and reading
            total += kb
            peak = self.peak
            peak.per_process_kb[pid] = max(peak.per_process_kb.get(pid, 0), kb)
            if pid not in peak.roles:
                peak.roles[pid] = "main" if pid == self.root else _role(pid)
        self.peak.total_kb = max(self.peak.total_kb, total)
        self.peak.samples += 1


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                # "pid (comm) state ppid …": comm may hold spaces, so split after the ")".
                ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return found


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return 0  # a zombie has no VmRSS line


def _role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
    except OSError:
        return "other"
    if b"resource_tracker" in command:
        return "resource tracker"
    return "worker" if b"spawn_main" in command else "other"


# --- running a measured child process -----------------------------------------------------


@dataclass
class Run:
    label: str
    input_bytes: int
    resources: int
    seconds: float  # the work itself (the importer's own clock, or the baseline loop)
    wall: float  # the whole child process, start to exit
    peak: TreePeak
    report: dict

    @property
    def rate(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0


def _measured(command: list[str],
              env: dict[str, str] | None = None) -> tuple[dict, float, TreePeak]:
    """Run ``command``, sampling its process tree; its last stdout line is JSON."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env,
                               cwd=fhir_data.ROOT, text=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    stdout, _ = process.communicate()
    wall = time.perf_counter() - started
    peak = sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed with exit status {process.returncode}")
    return json.loads(stdout.strip().splitlines()[-1]), wall, peak


def _fresh_database(name: str) -> tuple[str, Path]:
    path = OUT / name
    _remove_database(path)
    return f"sqlite:///{path}", path


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _prm_command() -> list[str]:
    # The installed console script, as an operator runs it (its worker processes start
    # the same way, re-importing it); else the same entry point through -c.
    script = shutil.which("prm", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-c", "from prm.cli import main; main()"]


def run_prm(folder: Path, workers: int | None, label: str) -> Run:
    from prm.migrate import upgrade

    url, path = _fresh_database("fhir_import_prm.db")
    try:
        upgrade(url)
        command = [*_prm_command(), "fhir", "import", "--json", str(folder)]
        if workers:
            command += ["--workers", str(workers)]
        env = {**os.environ, "PRM_DATABASE_URL": url, "PRM_FHIR_IMPORT_SOURCE": "bench"}
        report, wall, peak = _measured(command, env)
    finally:
        _remove_database(path)
    read = sum(counts["read"] for counts in report["by_type"].values())
    return Run(label, _input_bytes(folder), read, report["seconds"], wall, peak, report)


def run_baseline(folder: Path, limit: int) -> Run:
    _url, path = _fresh_database("fhir_import_baseline.db")
    try:
        command = [sys.executable, __file__, "--baseline-child", str(folder), str(path),
                   str(limit)]
        report, wall, peak = _measured(command)
    finally:
        _remove_database(path)
    return Run(f"naive baseline ({report['lines']:,} lines)", report["bytes"],
               report["lines"], report["seconds"], wall, peak, report)


# --- the naive baseline (runs in its own process) -----------------------------------------


def baseline_child(folder: Path, database: Path, limit: int) -> None:
    """Every line parsed, validated whole and inserted alone; prints its figures as JSON."""
    import sqlite3

    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    connection = sqlite3.connect(database, isolation_level=None)  # autocommit
    # The pragmas PRM's own engine sets, so only the approach differs.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE resource (resource_type TEXT NOT NULL, id TEXT NOT NULL,"
                       " json TEXT NOT NULL, PRIMARY KEY (resource_type, id))")
    lines = read_bytes = invalid = 0
    started = time.perf_counter()
    for path, quota in _sample_quotas(folder, limit):
        with open(path, encoding="utf-8") as stream:
            for line in islice(stream, quota):
                resource = json.loads(line)
                try:
                    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
                except ValidationError:
                    invalid += 1
                    continue
                connection.execute("INSERT OR REPLACE INTO resource VALUES (?, ?, ?)",
                                   (resource["resourceType"], resource["id"], line))
                lines += 1
                read_bytes += len(line.encode())
    seconds = time.perf_counter() - started
    connection.close()
    print(json.dumps({"lines": lines, "invalid": invalid, "bytes": read_bytes,
                      "seconds": seconds}))


def _sample_quotas(folder: Path, limit: int) -> list[tuple[Path, int]]:
    """The first lines of each file, as many as its share of the export's resources."""
    outputs = _manifest(folder)["output"]
    total = sum(entry["count"] for entry in outputs)
    share = min(1.0, limit / total)
    return [(folder / entry["url"], max(1, round(entry["count"] * share)))
            for entry in outputs]


# --- reporting ------------------------------------------------------------------------------


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _input_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.ndjson"))


def print_input(folder: Path) -> None:
    outputs = _manifest(folder)["output"]
    total = sum(entry["count"] for entry in outputs)
    print(f"input: {folder.name}: {_input_bytes(folder) / _MB:.1f} MB, {len(outputs)} files, "
          f"{total:,} resources")
    for entry in sorted(outputs, key=lambda e: -e["count"]):
        print(f"  {entry['type']:<22} {entry['count']:>9,}  {entry['count'] / total:6.1%}")


def print_import(run: Run, folder: Path) -> None:
    print(f"\n{run.label}: {run.resources:,} resources in {run.seconds:.1f} s "
          f"→ {run.rate:,.0f} resources/s (process start to exit {run.wall:.1f} s → "
          f"{run.resources / run.wall:,.0f}/s)")
    _print_peak(run.peak)
    header = "  " + f"{'type':<22}" + "".join(f"{c:>12}" for c in COUNT_COLUMNS)
    print(header)
    totals = dict.fromkeys(COUNT_COLUMNS, 0)
    for name, counts in run.report["by_type"].items():
        print(f"  {name:<22}" + "".join(f"{counts[c]:>12,}" for c in COUNT_COLUMNS))
        for column in COUNT_COLUMNS:
            totals[column] += counts[column]
    print(f"  {'total':<22}" + "".join(f"{totals[c]:>12,}" for c in COUNT_COLUMNS))
    _check_counts(run, totals, folder)


def _check_counts(run: Run, totals: dict[str, int], folder: Path) -> None:
    accounted = sum(totals[c] for c in COUNT_COLUMNS[1:])
    in_manifest = sum(entry["count"] for entry in _manifest(folder)["output"])
    bad_types = [name for name, c in run.report["by_type"].items()
                 if c["read"] != sum(c[k] for k in COUNT_COLUMNS[1:])]
    ok = accounted == totals["read"] == in_manifest and not bad_types
    print(f"  check: read {totals['read']:,} = imported + unchanged + skipped + quarantined"
          f" + waiting {accounted:,}; manifest {in_manifest:,} → {'OK' if ok else 'MISMATCH'}"
          + (f" (per type: {', '.join(bad_types)})" if bad_types else ""))


def _print_peak(peak: TreePeak) -> None:
    roles = peak.by_role()
    parts = [f"{role} {kb / 1024:.0f} MB" + (f" (×{peak.count(role)})"
                                             if peak.count(role) > 1 else "")
             for role, kb in sorted(roles.items(), key=lambda item: -item[1])]
    print(f"  peak RSS, whole tree: {peak.total_kb / 1024:.0f} MB; per process: "
          f"{', '.join(parts)}  [{peak.samples} samples]")


def print_table(runs: list[Run]) -> None:
    print(f"\n{'':<34}{'input MB':>9}{'resources':>11}{'seconds':>9}{'res/s':>9}"
          f"{'cmd s':>7}{'peak tree MB':>14}{'main MB':>9}{'worker MB':>11}")
    for run in runs:
        roles = run.peak.by_role()
        worker = roles.get("worker")
        print(f"{run.label:<34}{run.input_bytes / _MB:>9.1f}{run.resources:>11,}"
              f"{run.seconds:>9.1f}{run.rate:>9,.0f}{run.wall:>7.1f}"
              f"{run.peak.total_kb / 1024:>14.0f}{roles.get('main', 0) / 1024:>9.0f}"
              f"{(f'{worker / 1024:.0f}' if worker else '-'):>11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=fhir_data.DEFAULT_SIZE_MB)
    parser.add_argument("--baseline-limit", type=int, default=20_000,
                        help="lines the naive baseline reads, sampled across the files")
    parser.add_argument("--workers", type=int, default=None,
                        help="prm fhir import --workers (default: its own, the CPU count)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fixtures", type=Path, default=fhir_data.DEFAULT_FIXTURES)
    parser.add_argument("--baseline-child", nargs=3, metavar=("FOLDER", "DB", "LIMIT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        folder, database, limit = args.baseline_child
        baseline_child(Path(folder), Path(database), int(limit))
        return
    measure(args)


def measure(args: argparse.Namespace) -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine: {machine()}; load average {load}")
    big = fhir_data.ensure(args.size_mb, args.seed, args.fixtures)
    small = fhir_data.ensure(round(args.size_mb / 4, 1), args.seed, args.fixtures)
    print_input(big)
    runs = [run_prm(big, args.workers, f"PRM import ({args.size_mb:g} MB)")]
    print_import(runs[0], big)
    runs.append(run_baseline(big, args.baseline_limit))
    print(f"\n{runs[1].label}: {runs[1].rate:,.0f} resources/s "
          f"({runs[1].report['invalid']} invalid); validation whole with the R4B model, "
          "one INSERT per row in autocommit (a transaction per row; WAL, synchronous=NORMAL)")
    _print_peak(runs[1].peak)
    runs.append(run_prm(small, args.workers, f"PRM import ({args.size_mb / 4:g} MB)"))
    print_import(runs[2], small)
    print_table(runs)
    print(f"\npeak RSS vs input size: {runs[0].input_bytes / _MB:.0f} MB → "
          f"{runs[0].peak.total_kb / 1024:.0f} MB; {runs[2].input_bytes / _MB:.0f} MB → "
          f"{runs[2].peak.total_kb / 1024:.0f} MB; speed-up over the naive loop "
          f"×{runs[0].rate / runs[1].rate:.1f}")


if __name__ == "__main__":
    main()
