"""The segments page: patients per payer segment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from prm.auth.deps import require
from prm.auth.service import StaffMember
from prm.db import SessionDep
from prm.roles import Permission
from prm.segments.service import segment_counts
from prm.web.templating import render

router = APIRouter()
Analyst = Annotated[StaffMember, require(Permission.segments_view)]


@router.get("/segments")
def segments_page(request: Request, session: SessionDep, user: Analyst):
    counts = segment_counts(session)
    total = sum(c.patients for c in counts)
    return render(request, "segments/index.html", {"counts": counts, "total": total})
