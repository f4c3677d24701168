"""Search latency through the HTTP endpoint staff type into (``/patients/suggest``).

    .venv/bin/python bench/search.py [--patients 200000] [--backend sqlite|postgresql|both]

Queries are drawn from the data itself: HN prefixes, phones in national format and their
last digits, parts of Thai and of English names. Prints p50/p95 per kind. Target: p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, col, func, select  # noqa: E402

from bench.common import login, machine, prepare, server, summary_ms  # noqa: E402
from prm.db import make_engine  # noqa: E402
from prm.models.patient import Patient  # noqa: E402


def sample_queries(url: str, per_kind: int) -> dict[str, list[str]]:
    engine = make_engine(url)
    rng = random.Random(7)
    with Session(engine) as session:
        highest = session.exec(select(func.max(Patient.id))).one()
        ids = rng.sample(range(1, highest + 1), per_kind * 3)
        rows = session.exec(select(Patient).where(col(Patient.id).in_(ids))).all()
    engine.dispose()
    with_phone = [p for p in rows if p.phone_e164 and p.phone_e164.startswith("+66")]
    thai = [p for p in rows if p.family_name_th]
    english = [p for p in rows if p.family_name_en]
    return {
        "HN (full)": [p.hn for p in rows[:per_kind]],
        "phone 0xx xxx xxxx": [f"0{p.phone_e164[3:5]} {p.phone_e164[5:8]} {p.phone_e164[8:]}"
                               for p in with_phone[:per_kind]],
        "phone last 7 digits": [f"{p.phone_e164[-7:-4]} {p.phone_e164[-4:]}"
                                for p in with_phone[:per_kind]],
        "Thai name part": [p.family_name_th[1:5] for p in thai[:per_kind]],
        "English name part": [p.family_name_en[:5].lower() for p in english[:per_kind]],
        "Thai given + family": [f"{p.given_name_th} {p.family_name_th[:3]}"
                                for p in thai[:per_kind]],
    }


def measure(base: str, queries: dict[str, list[str]]) -> None:
    client = login(base)
    client.get("/patients/suggest", params={"q": "warm up"})
    for kind, values in queries.items():
        timings, hits = [], 0
        for value in values:
            started = time.perf_counter()
            response = client.get("/patients/suggest", params={"q": value})
            timings.append(time.perf_counter() - started)
            hits += response.text.count('href="/patients/')
        print(f"  {kind:<22} {summary_ms(timings)}   results/query {hits / len(values):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--queries", type=int, default=200, help="per kind")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"search latency, {args.patients:,} patients, {machine()}")
    for backend in backends:
        url = prepare(backend, args.patients)
        queries = sample_queries(url, args.queries)
        with server(url, workers=1) as base:
            print(f"{backend}:")
            measure(base, queries)


if __name__ == "__main__":
    main()
