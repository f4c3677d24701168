"""Records from the hospital's systems into PRM: the records ``fhir_adapter`` produces
(``prm.ingest.records``) and ``ingest()``, which upserts them.

``ingest`` is imported on first use: the import's worker processes only need the record
classes, and loading the database layer in each of them cost about half a second.
"""

from __future__ import annotations

__all__ = ["ingest"]


def __getattr__(name: str):
    if name == "ingest":
        from prm.ingest.service import ingest

        return ingest
    raise AttributeError(f"module 'prm.ingest' has no attribute {name!r}")
