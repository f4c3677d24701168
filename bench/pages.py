"""What staff feel at a steady load: an open-loop mix of the pages they open, at a fixed
offered rate, on the demo hospital.

    .venv/bin/python bench/pages.py [--backend sqlite|postgresql|both]
        [--layout serve|production|both] [--patients 200000] [--rps 50] [--seconds 60]

Requests are sent at fixed intervals (``--rps``), each at its time whether or not the
earlier ones have finished, like staff who do not wait for each other. The mix (seeded):
40 % patient page (``/patients/{id}``, random patient), 30 % search as you type
(``/patients/suggest``, queries drawn as ``bench/search.py`` draws them), 20 % worklist
(``/worklists``, the default queue), 10 % a day of appointments (``/appointments?day=``,
no clinic: what a desk opens first). Latency runs from each request's scheduled start,
so a server that falls behind shows it; a request that fails (not 2xx, a 10 s timeout,
a connection error) is an error and keeps the latency it had. An uncounted warm-up at
the same rate comes first (``WARM_UP_SECONDS``), then ``--seconds`` are measured.

Layouts: ``serve`` is what ``make run`` starts (``prm serve``: one process, worker
embedded); ``production`` is the README's (``uvicorn --workers 4``, production settings,
one ``prm worker`` beside it). In the production layout the closed-loop ratio is also
measured as before (wrk, 16 connections, patient page against ``/healthz`` taking turns),
on the same server just before its open loop.

Targets: p95 < 50 ms for each kind of page and no errors at 50 requests/s on both
databases; patient page / ``/healthz`` ≥ 0.12. The database is read into the file cache
first, and the follow-up rules are run once before measuring (``settle``), so every
configuration finds the same data whichever runs first; each server's worker runs them
again as it starts, and the load begins once that round is done (rounds are 5 min
apart). The last line printed is one JSON object: the figures of one configuration, or
the worst over several with ``runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    REFERENCE,
    login,
    machine,
    percentile,
    prepare,
    prm_command,
    server,
    warm_file_cache,
)
from bench.search import sample_queries  # noqa: E402

# --- the open-loop mix ------------------------------------------------------------------

MIX = {"patient": 0.4, "search": 0.3, "worklist": 0.2, "appointments": 0.1}
TIMEOUT = 10.0
WARM_UP_SECONDS = 10
MIX_SEED = 42
WEB_WORKERS = 4  # the README's production command
# The demo's care records are laid out around REFERENCE: its day is a full clinic day.
DEMO_DAY = REFERENCE.astimezone(ZoneInfo("Asia/Bangkok")).date().isoformat()


@dataclass(frozen=True)
class Request:
    at: float  # seconds after the start of the schedule
    kind: str
    path: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    request: Request
    seconds: float  # completion - scheduled start
    ok: bool
    size: int  # bytes of body
    lag: float  # how late the generator sent it (a busy client shows here)


@dataclass(frozen=True)
class Targets:
    """What each kind of request picks from."""

    highest: int
    queries: list[str]
    day: str

    def pick(self, kind: str, rng: random.Random) -> tuple[str, dict[str, str]]:
        if kind == "patient":
            return f"/patients/{rng.randint(1, self.highest)}", {}
        if kind == "search":
            return "/patients/suggest", {"q": rng.choice(self.queries)}
        if kind == "worklist":
            return "/worklists", {}
        return "/appointments", {"day": self.day}


def schedule(targets: Targets, rps: float, seconds: float, seed: int) -> list[Request]:
    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    plan = []
    for index in range(round(rps * seconds)):
        kind = rng.choices(kinds, weights)[0]
        plan.append(Request(index / rps, kind, *targets.pick(kind, rng)))
    return plan


async def _send(client: httpx.AsyncClient, request: Request, due: float) -> Outcome:
    lag, ok, size = time.perf_counter() - due, False, 0
    try:
        response = await client.get(request.path, params=request.params)
        ok, size = 200 <= response.status_code < 300, len(response.content)
    except httpx.HTTPError:  # timeouts and connection errors alike
        pass
    return Outcome(request, time.perf_counter() - due, ok, size, lag)


async def _open_loop(base: str, cookies: dict[str, str], plan: list[Request]) -> list[Outcome]:
    # No pool limit worth the name: a request must never wait for a free connection on
    # our side, or the generator would slow down with the server (closed loop again).
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=TIMEOUT,
                                 limits=limits) as client:
        start = time.perf_counter() + 0.5
        tasks = []
        for request in plan:
            due = start + request.at
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(_send(client, request, due)))
        return await asyncio.gather(*tasks)


def open_loop(base: str, cookies: dict[str, str], targets: Targets, rps: float,
              seconds: float) -> tuple[list[Outcome], float]:
    """One continuous schedule (warm-up then measured part, no gap in between); returns
    the measured outcomes and the seconds from their first due time to the last end."""
    plan = schedule(targets, rps, WARM_UP_SECONDS + seconds, MIX_SEED)
    outcomes = asyncio.run(_open_loop(base, cookies, plan))
    measured = [o for o in outcomes if o.request.at >= WARM_UP_SECONDS]
    # From the first measured request's due time to the last answer (or give-up).
    span = max(o.request.at + o.seconds for o in measured) - WARM_UP_SECONDS
    return measured, max(span, seconds)


# --- the closed-loop ratio (wrk), as the earlier bench measured it ----------------------

CONNECTIONS = 16
# The two endpoints take turns, ROUNDS times, so a machine that speeds up or slows down
# during the run (shared virtual machines do) moves both alike; each figure is the
# median over the rounds, the ratio the median of each round's ratio.
ROUNDS = 3
SECONDS = 6
# Unmeasured load first, for each endpoint alike: pools filled, statements prepared.
# Other patients than the measured rounds' (other seeds), so no page is read warm.
WRK_WARM_UP_SECONDS = 3
WARM_UP_SEED, SEED = 7, 42
LUA = """
math.randomseed(%(seed)d)
local highest = %(highest)d
request = function()
  local path = "%(path)s"
  if path == "" then path = "/patients/" .. math.random(1, highest) end
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%%.1f p50=%%.2f p95=%%.2f errors=%%d\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def run_wrk(base: str, cookie: str, *, path: str, highest: int, seconds: int = SECONDS,
            seed: int = SEED) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"highest": highest, "path": path, "seed": seed})
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "-H", f"Cookie: {cookie}",
         "-s", script.name, base], capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    match = re.search(r"RESULT rps=([\d.]+) p50=([\d.]+) p95=([\d.]+) errors=(\d+)", output)
    return {key: float(value) for key, value in zip(("rps", "p50", "p95", "errors"),
                                                    match.groups(), strict=True)}


def page_ratio(base: str, cookie: str, highest: int) -> float:
    warm_up = {"highest": highest, "seconds": WRK_WARM_UP_SECONDS, "seed": WARM_UP_SEED}
    run_wrk(base, cookie, path="/healthz", **warm_up)
    run_wrk(base, cookie, path="", **warm_up)
    ceilings, pages = [], []
    for round_ in range(ROUNDS):
        ceilings.append(run_wrk(base, cookie, path="/healthz", highest=highest))
        pages.append(run_wrk(base, cookie, path="", highest=highest, seed=SEED + round_))
    print(f"  closed loop (wrk, {CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS} s):")
    for name, rounds in (("bare /healthz", ceilings), ("patient page", pages)):
        figures = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        print(f"    {name:<14} {figures['rps']:8.1f} req/s   p50 {figures['p50']:6.1f} ms"
              f"   p95 {figures['p95']:6.1f} ms   errors {int(sum(r['errors'] for r in rounds))}")
    # A server that answered nothing at all has no ratio worth the name: 0, the worst.
    ratios = [page["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0
              for page, ceiling in zip(pages, ceilings, strict=True)]
    print(f"    ratio patient page / ceiling: {statistics.median(ratios):.2f}"
          f"   (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    return round(statistics.median(ratios), 3)


# --- one configuration --------------------------------------------------------------------

def settle(url: str) -> None:
    """Run the worker until its first round is done, then stop it. The demo's records
    end at a fixed day; the first round after it marks every no-show since then, once.
    Done here, that one-off write does not land inside whichever run comes first."""
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as log, \
            server(url, workers=1, layout="production", log=Path(log.name)):
        _wait_for_round(Path(log.name), 600)
        jobs = _job_lines(Path(log.name))
    _vacuum(url)
    print(f"  worker round before measuring ({time.perf_counter() - started:.0f} s): "
          + ("; ".join(jobs) or "no job report seen"), flush=True)


def _vacuum(url: str) -> None:
    """PostgreSQL: VACUUM ANALYZE after that round's bulk writes (147,000 worklist items
    the first time), as autovacuum would have done long before staff open the pages. A
    table never vacuumed has no visibility map, so every index scan also reads the heap:
    measured without it, the worklist's p95 was 57-70 ms instead of 40."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    from prm.db import make_engine

    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()


def _wait_for_round(log: Path, seconds: float) -> None:
    """Until the worker (embedded or beside) has run the follow-up rules once: it runs
    them as it starts, and the bench measures the steady state between its rounds."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not _job_lines(log, "follow"):
        time.sleep(0.5)


def _job_lines(log: Path, job: str = "") -> list[str]:
    """The worker's "job done" reports in a JSON log, as "name count ms"."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("msg") == "job done" \
                and job in str(entry.get("job")):
            lines.append(f"{entry.get('job')} {entry.get('count')} in {entry.get('ms')} ms"
                         f" at {str(entry.get('ts', ''))[11:19]}")
    return lines


def check_pages(base: str, cookies: dict[str, str], targets: Targets) -> None:
    """Each kind of page answers 200 before load starts; the day has appointments."""
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
        for kind in MIX:
            path, params = targets.pick(kind, random.Random(1))
            response = client.get(path, params=params)
            if response.status_code != 200:
                sys.exit(f"{kind} page {path} answered {response.status_code}")
        links = len(re.findall(r'href="/patients/\d+', client.get(
            "/appointments", params={"day": targets.day}).text))
    print(f"  appointments day {targets.day}: {links} patient links on the page")


def measure(backend: str, layout: str, url: str, targets: Targets, args) -> dict:
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as log, \
            server(url, workers=WEB_WORKERS, layout=layout, log=Path(log.name)) as base:
        _wait_for_round(Path(log.name), 300)
        client = login(base)
        cookies = dict(client.cookies)
        check_pages(base, cookies, targets)
        ratio = None
        if layout == "production":
            # Closed loop first: an open loop the server cannot keep up with leaves it a
            # backlog of abandoned requests to work through, which wrk would then measure.
            cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
            ratio = page_ratio(base, cookie, targets.highest)
        outcomes, elapsed = open_loop(base, cookies, targets, args.rps, args.seconds)
        jobs = _job_lines(Path(log.name))
    print(f"  worker rounds while the server ran: {'; '.join(jobs) or 'none reported'}")
    return report(backend, layout, outcomes, elapsed, args.rps, ratio)


def report(backend: str, layout: str, outcomes: list[Outcome], elapsed: float,
           rps: float, ratio: float | None) -> dict:
    def ms(values: list[float], share: float) -> float:
        return round(percentile(values, share) * 1000, 1)

    print(f"  open loop: offered {rps:g} req/s, achieved "
          f"{sum(o.ok for o in outcomes) / elapsed:.1f} req/s (2xx over {elapsed:.1f} s)")
    print(f"    {'page':<13}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'KB/page':>9}")
    by_kind = {kind: [o for o in outcomes if o.request.kind == kind] for kind in MIX}
    for kind, rows in [*by_kind.items(), ("all", outcomes)]:
        times, sizes = [o.seconds for o in rows], [o.size for o in rows if o.ok]
        print(f"    {kind:<13}{len(rows):>6}{ms(times, .5):>9}{ms(times, .95):>9}"
              f"{ms(times, .99):>9}{sum(not o.ok for o in rows):>8}"
              f"{statistics.fmean(sizes) / 1024 if sizes else 0:>9.0f}")
    print(f"    generator sent late by p99 {ms([o.lag for o in outcomes], .99)} ms"
          " (more than a few ms: the client machine was short of CPU)")
    times = [o.seconds for o in outcomes]
    figures = {"database": backend, "layout": layout, "offered_rps": rps,
               "p50_ms": ms(times, .5), "p95_ms": ms(times, .95), "p99_ms": ms(times, .99),
               "errors": sum(not o.ok for o in outcomes),
               "p95_by_page": {kind: ms([o.seconds for o in rows], .95)
                               for kind, rows in by_kind.items()},
               "page_ratio": ratio}
    print(json.dumps(figures, ensure_ascii=False), flush=True)
    return figures


def worst(runs: list[dict]) -> dict:
    """The pinned summary: each figure the worst any configuration had."""
    if len(runs) == 1:
        return {key: value for key, value in runs[0].items() if key != "layout"}
    ratios = [run["page_ratio"] for run in runs if run["page_ratio"] is not None]
    return {"database": "+".join(dict.fromkeys(run["database"] for run in runs)),
            "offered_rps": runs[0]["offered_rps"],
            **{key: max(run[key] for run in runs) for key in ("p50_ms", "p95_ms", "p99_ms",
                                                             "errors")},
            "p95_by_page": {kind: max(run["p95_by_page"][kind] for run in runs) for kind in MIX},
            "page_ratio": min(ratios) if ratios else None,
            "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--layout", default="both", choices=["serve", "production", "both"])
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--rps", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--day", default=DEMO_DAY, help="appointments day (YYYY-MM-DD)")
    args = parser.parse_args()
    layouts = ["serve", "production"] if args.layout == "both" else [args.layout]
    if "production" in layouts and not shutil.which("wrk"):
        sys.exit("wrk is needed for the production layout's ratio: apt-get install wrk")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"pages at {args.rps:g} req/s offered (open loop), {args.seconds:g} s measured "
          f"after {WARM_UP_SECONDS} s warm-up, {args.patients:,} patients, {machine()}, "
          f"prm at {prm_command()}", flush=True)
    runs = []
    for backend in backends:
        url = prepare(backend, args.patients)
        queries = [q for kind in sample_queries(url, 200).values() for q in kind]
        targets = Targets(args.patients, queries, args.day)
        settle(url)
        for layout in layouts:
            warm_file_cache(url)
            print(f"{backend}, {layout}:", flush=True)
            runs.append(measure(backend, layout, url, targets, args))
    print(json.dumps(worst(runs), ensure_ascii=False))


if __name__ == "__main__":
    main()
