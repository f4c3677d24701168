"""``prm fhir import``: Bundle files, ndjson files and bulk-export folders into PRM.

Big ndjson inputs are read in chunks of lines. Worker processes parse, validate and
map each chunk (that is where the CPU goes); this process writes the records in
chunk order, one transaction per chunk that also moves the file's checkpoint, so an
import that crashes resumes after the last chunk it committed. Only a few chunks are
in flight at a time, which keeps memory flat whatever the input's size.
"""

from __future__ import annotations

import gzip
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from fhir_adapter.chunks import ChunkResult, map_bundle, map_lines
from fhir_adapter.mapping import MappingConfig
from fhir_adapter.sources import InputFile
from prm.ingest import ingest, progress
from prm.ingest.records import IngestSummary

CHUNK_LINES = 2000
# …and at most this many bytes of input: a chunk's lines stay in memory until it is
# written, a window of them at a time, so counting lines alone let big resources
# (ExplanationOfBenefit lines are ~6 KB, attachments far more) raise the peak.
CHUNK_BYTES = 2 * 1024 * 1024
# Below this much input, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024


@dataclass
class ImportResult:
    summary: IngestSummary = field(default_factory=IngestSummary)
    seconds: float = 0.0
    files: int = 0
    resumed_files: int = 0  # continued from a crashed or stopped run's checkpoint
    already_imported: int = 0  # finished by an earlier run, not read again

    def as_json(self) -> dict:
        by_type = {}
        for name, c in sorted(self.summary.by_type.items()):
            by_type[name] = {"read": c.read, "imported": c.imported, "unchanged": c.unchanged,
                             "quarantined": c.quarantined, "skipped": c.skipped,
                             "waiting": c.waiting, "linked": c.linked}
        return {"by_type": by_type, "seconds": round(self.seconds, 3),
                "files": {"total": self.files, "resumed": self.resumed_files,
                          "already_imported": self.already_imported}}


class Importer:
    def __init__(self, engine: Engine, *, tz: ZoneInfo, config: MappingConfig,
                 workers: int | None = None, chunk_lines: int = CHUNK_LINES,
                 on_progress: Callable[[int], None] | None = None, again: bool = False):
        self.engine, self.tz, self.config = engine, tz, config
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.chunk_lines = chunk_lines
        # Files an earlier run finished are skipped unless asked to read them again.
        self.again = again
        self.on_progress = on_progress or (lambda _bytes: None)
        self.result = ImportResult()

    def run(self, inputs: list[InputFile]) -> ImportResult:
        started = time.perf_counter()
        total = sum(item.path.stat().st_size for item in inputs)
        pool = self._pool() if self.workers > 1 and total >= PARALLEL_MIN_BYTES else None
        # In-process, each chunk is written as soon as it is mapped (a window of 1).
        flights = _Flights(self._commit, self.on_progress,
                           max(2, self.workers * 2) if pool else 1)
        seen: set[str] = set()
        try:
            for item in inputs:
                if item.file_key in seen:
                    flights.drain()  # the same file twice: let its checkpoint say it is done
                seen.add(item.file_key)
                self._import_file(item, pool, flights)
            flights.drain()
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: this process holds database connections and maybe threads.
        return ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))

    def _import_file(self, item: InputFile, pool, flights: _Flights) -> None:
        self.result.files += 1
        with Session(self.engine, expire_on_commit=False) as session:
            mark = progress.checkpoint(session, item.file_key)
        if mark.finished and not self.again:
            self.result.already_imported += 1
            self.on_progress(item.path.stat().st_size)
            return
        if mark.finished:
            mark = progress.Checkpoint()
        elif mark.byte_offset:
            self.result.resumed_files += 1
            self.on_progress(mark.byte_offset)
        if item.kind == "bundle":
            size = item.path.stat().st_size
            job = (pool.submit(map_bundle, item.path, self.config) if pool
                   else _Done(map_bundle(item.path, self.config)))
            flights.add(item, job, progress.Checkpoint(size, 0, finished=True), size)
            return
        self._import_lines(item, mark, pool, flights)

    def _import_lines(self, item: InputFile, mark: progress.Checkpoint, pool,
                      flights: _Flights) -> None:
        last = mark
        for lines, first_line, end_offset in _chunks(item, mark, self.chunk_lines):
            args = (lines, str(item.path), first_line, item.resource_type, self.config,
                    item.kind == "deleted")
            job = pool.submit(map_lines, *args) if pool else _Done(map_lines(*args))
            chunk_mark = progress.Checkpoint(end_offset, first_line + len(lines) - 1)
            flights.add(item, job, chunk_mark, end_offset - last.byte_offset)
            last = chunk_mark
        flights.add(item, _Done(ChunkResult()),
                    progress.Checkpoint(last.byte_offset, last.lines_done, finished=True), 0)

    def _commit(self, item: InputFile, chunk: ChunkResult, mark: progress.Checkpoint) -> None:
        """The chunk's records, its quarantine and the file's checkpoint: one transaction."""
        with Session(self.engine, expire_on_commit=False) as session:
            ctx = ingest(session, chunk.records, tz=self.tz)
            progress.quarantine(session, [*chunk.quarantined, *ctx.rejected])
            progress.save_checkpoint(session, item.file_key, mark)
            session.commit()
        merge_counts(self.result.summary, chunk, ctx.summary)


class _Flights:
    """Chunks being mapped, written strictly in input order. The window spans files, so
    the workers map the next file's first chunks while this one's last are written
    (draining at every file's end left them idle, most of all on small files); it also
    bounds how many chunks are held in memory."""

    def __init__(self, commit: Callable, on_progress: Callable[[int], None], window: int):
        self.commit, self.on_progress, self.window = commit, on_progress, window
        self.queue: deque = deque()

    def add(self, item: InputFile, job, mark: progress.Checkpoint, advanced: int) -> None:
        """``job`` maps the chunk; committing it moves the file's checkpoint to ``mark``
        and the progress on by ``advanced`` bytes."""
        self.queue.append((item, job, mark, advanced))
        while len(self.queue) >= self.window:
            self._finish_one()

    def drain(self) -> None:
        while self.queue:
            self._finish_one()

    def _finish_one(self) -> None:
        item, job, mark, advanced = self.queue.popleft()
        self.commit(item, job.result(), mark)
        self.on_progress(advanced)


class _Done:
    """A finished result that looks like a future (the in-process path)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def merge_counts(total: IngestSummary, chunk: ChunkResult, written: IngestSummary) -> None:
    for name, (read, skipped, quarantined) in chunk.counts.items():
        counts = total.counts(name)
        counts.read += read
        counts.skipped += skipped
        counts.quarantined += quarantined
    for name, c in written.by_type.items():
        counts = total.counts(name)
        counts.imported += c.imported
        counts.unchanged += c.unchanged
        counts.quarantined += c.quarantined
        counts.skipped += c.skipped
        counts.waiting += c.waiting
        counts.linked += c.linked


def _chunks(item: InputFile, mark: progress.Checkpoint, size: int,
            max_bytes: int = CHUNK_BYTES) -> Iterator[tuple[list[bytes], int, int]]:
    """(lines, number of the first line, byte offset after the chunk), from the
    checkpoint on: ``size`` lines or ``max_bytes`` bytes a chunk, whichever comes first."""
    opener = gzip.open if item.path.name.endswith(".gz") else open
    offset = mark.byte_offset
    with opener(item.path, "rb") as stream:
        stream.seek(offset)
        lines: list[bytes] = []
        first, start = mark.lines_done + 1, offset
        for line in stream:
            offset += len(line)
            lines.append(line)
            if len(lines) >= size or offset - start >= max_bytes:
                yield lines, first, offset
                first += len(lines)
                lines, start = [], offset
        if lines:
            yield lines, first, offset

