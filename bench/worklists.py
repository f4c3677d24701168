"""Follow-up rules and worklist pages at hospital scale.

    .venv/bin/python bench/worklists.py [--patients 200000] [--backend sqlite|postgresql|both]

1. Runs every rule (set-based SQL) on the demo hospital (~5 appointments per patient) and
   prints seconds per rule and items created. Target: all rules < 10 s.
2. Runs them again (idempotent: nothing new, should be faster).
3. Measures the worklist page (each queue, and the combined "today" list) through HTTP.
   Target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, delete, func, select  # noqa: E402

from bench.common import REFERENCE, login, machine, prepare, server, summary_ms  # noqa: E402
from prm.db import make_engine  # noqa: E402
from prm.models.care import Appointment  # noqa: E402
from prm.models.worklist import FollowUpRule, WorklistItem  # noqa: E402


def run_rules_timed(url: str, *, fresh: bool) -> None:
    from prm.followups.rules import run_rules

    engine = make_engine(url)
    with Session(engine) as session:
        appointments = session.exec(select(func.count()).select_from(Appointment)).one()
        if fresh:
            session.exec(delete(WorklistItem))
            session.commit()
        started = time.perf_counter()
        results = run_rules(session, now=REFERENCE)
        session.commit()
        total = time.perf_counter() - started
    engine.dispose()
    label = "first run" if fresh else "re-run"
    print(f"  rules, {label} ({appointments:,} appointments): {total:.2f} s in all")
    for rule, run in results.items():
        print(f"    {rule:<24} {run.seconds:6.2f} s   created {run.created:6,}"
              f"   closed {run.closed:5,}")


def measure_pages(base: str, requests: int) -> None:
    client = login(base)
    for queue in ["today"] + [rule.value for rule in FollowUpRule]:
        client.get("/worklists", params={"queue": queue})
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/worklists", params={"queue": queue})
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
        print(f"  /worklists?queue={queue:<22} {summary_ms(timings)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"worklists, {args.patients:,} patients, {machine()}")
    for backend in backends:
        url = prepare(backend, args.patients)
        print(f"{backend}:")
        run_rules_timed(url, fresh=True)
        run_rules_timed(url, fresh=False)
        with server(url, workers=1) as base:
            measure_pages(base, args.requests)


if __name__ == "__main__":
    main()
