"""Throughput of the 360° patient page for a logged-in nurse, 16 connections, against a
bare endpoint (``/healthz``) measured in the same run as the ceiling.

    .venv/bin/python bench/pages.py [--patients 200000] [--backend sqlite|postgresql|both]

Uses wrk (Debian package ``wrk``) to generate load; the two endpoints take turns
(``ROUNDS``). Target: patient page ≥ 0.25 × ceiling.
Each patient-page request does what a real one does: session check, audit row, commit,
timeline from every source, full render.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import login, machine, prepare, server, warm_file_cache  # noqa: E402

CONNECTIONS = 16
# The two endpoints take turns, ROUNDS times, so a machine that speeds up or slows down
# during the run (shared virtual machines do) moves both alike; each figure is the
# median over the rounds, the ratio the median of each round's ratio.
ROUNDS = 3
SECONDS = 6
# Unmeasured load first, for each endpoint alike: pools filled, statements prepared.
# Other patients than the measured rounds' (other seeds), so no page is read warm.
WARM_UP_SECONDS = 3
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
    match = re.search(r"RESULT rps=([\d.]+) p50=([\d.]+) p95=([\d.]+) errors=(\d+)", output)
    return {key: float(value) for key, value in zip(("rps", "p50", "p95", "errors"),
                                                    match.groups(), strict=True)}


def measure(base: str, highest: int) -> None:
    client = login(base)
    cookie = f"prm_session={client.cookies['prm_session']}"
    assert client.get("/patients/1").status_code == 200
    warm_up = {"highest": highest, "seconds": WARM_UP_SECONDS, "seed": WARM_UP_SEED}
    run_wrk(base, cookie, path="/healthz", **warm_up)
    run_wrk(base, cookie, path="", **warm_up)
    ceilings, pages = [], []
    for round_ in range(ROUNDS):
        ceilings.append(run_wrk(base, cookie, path="/healthz", highest=highest))
        pages.append(run_wrk(base, cookie, path="", highest=highest, seed=SEED + round_))
    for name, rounds in (("bare /healthz", ceilings), ("patient page", pages)):
        figures = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        print(f"  {name:<14} {figures['rps']:8.1f} req/s   p50 {figures['p50']:6.1f} ms"
              f"   p95 {figures['p95']:6.1f} ms   errors {int(sum(r['errors'] for r in rounds))}")
    ratios = [page["rps"] / ceiling["rps"] for page, ceiling in zip(pages, ceilings,
                                                                     strict=True)]
    print(f"  ratio patient page / ceiling: {statistics.median(ratios):.2f}"
          f"   (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"patient page, {CONNECTIONS} connections, {args.workers} web workers, "
          f"{args.patients:,} patients, {machine()}")
    for backend in backends:
        url = prepare(backend, args.patients)
        warm_file_cache(url)
        with server(url, workers=args.workers) as base:
            print(f"{backend}:")
            measure(base, args.patients)


if __name__ == "__main__":
    main()
