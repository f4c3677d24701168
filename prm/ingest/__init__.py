"""Records from the hospital's systems into PRM: the records ``fhir_adapter`` produces
(``prm.ingest.records``) and ``ingest()``, which upserts them."""

from prm.ingest.records import *  # noqa: F403
from prm.ingest.service import ingest

__all__ = ["ingest"]
