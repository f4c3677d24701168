"""/admin/fhir — sync status, quarantine with retry, segment mapping rules — and the
rest-hook endpoint POST /fhir/subscription."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import JSONResponse

from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember
from prm.db import SessionDep
from prm.fhir import service
from prm.fhir.forms import QuarantineFilter, SegmentRuleForm
from prm.i18n import _
from prm.ingest import codec
from prm.patients.service import segment_names
from prm.roles import Permission
from prm.web import htmx
from prm.web.forms import Posted, RowId, submit
from prm.web.templating import render

router = APIRouter()
Integrator = Annotated[StaffMember, require(Permission.integration_manage)]


def rule_kind_labels() -> dict[str, str]:
    return {"code": _("Coverage code (system|code)"),
            "payor": _("Payor identifier (system|value)"),
            "payor_name": _("Words in the payor's name")}


def _page(request: Request, session, *, form: SegmentRuleForm | None = None, **extra):
    filters = QuarantineFilter.parse(request.query_params)
    form = form or SegmentRuleForm()
    context = {"overview": service.overview(session, status=filters.status,
                                            resource_type=filters.type),
               "rules": service.segment_rules(session), "segment_names": segment_names(session),
               "rule_kinds": rule_kind_labels(),
               "status_filter": filters.status, "type_filter": filters.type,
               "configured": bool(request.app.state.settings.fhir_base_url),
               "form": form, "errors": form.errors, **extra}
    return render(request, "admin/fhir.html", context)


@router.get("/admin/fhir")
def fhir_admin(request: Request, session: SessionDep, user: Integrator):
    return _page(request, session)


@router.get("/admin/fhir/quarantine/{row_id}")
def quarantined(request: Request, session: SessionDep, user: Integrator, row_id: RowId):
    row = service.quarantined(session, row_id=row_id, actor=actor_for(request, user))
    session.commit()
    return render(request, "admin/fhir_quarantined.html",
                  {"row": row, "mapped_record": codec.is_encoded_record(row.raw)})


# fhir_adapter (and the FHIR models it loads) is imported where it is used, so web
# processes do not pay for it at start-up: most never retry or receive a notification.


@router.post("/admin/fhir/quarantine/{row_id}/retry")
def retry_one(request: Request, session: SessionDep, user: Integrator, row_id: RowId):
    from fhir_adapter import quarantine as fhir_quarantine

    outcome = fhir_quarantine.retry(session, request.app.state.settings, [row_id])
    session.commit()
    return _page(request, session, retried=outcome)


@router.post("/admin/fhir/quarantine/retry")
def retry_all(request: Request, session: SessionDep, user: Integrator):
    from fhir_adapter import quarantine as fhir_quarantine

    ids = service.open_quarantine_ids(session)
    outcome = fhir_quarantine.retry(session, request.app.state.settings, ids)
    session.commit()
    return _page(request, session, retried=outcome)


@router.post("/admin/fhir/quarantine/{row_id}/dismiss")
def dismiss(request: Request, session: SessionDep, user: Integrator, row_id: RowId):
    service.dismiss(session, row_id=row_id, actor=actor_for(request, user))
    session.commit()
    return htmx.redirect(request, "/admin/fhir")


@router.post("/admin/fhir/rules")
def add_rule(request: Request, session: SessionDep, user: Integrator, posted: Posted):
    return submit(
        request, session, SegmentRuleForm, posted,
        save=lambda form: service.add_segment_rule(session, rule=form,
                                                   actor=actor_for(request, user)),
        show=lambda form, error: _page(request, session, form=form, error=error.message),
        done=lambda form, rule: _page(request, session, rule_saved=True))


@router.post("/admin/fhir/rules/{rule_id}/active")
def rule_active(request: Request, session: SessionDep, user: Integrator, rule_id: RowId,
                active: Annotated[str, Form()] = "no"):
    service.set_rule_active(session, rule_id=rule_id, active=active == "yes",
                            actor=actor_for(request, user))
    session.commit()
    return htmx.redirect(request, "/admin/fhir")


@router.post("/fhir/subscription")
async def subscription(request: Request, background: BackgroundTasks):
    """Rest-hook: answers at once and fetches what changed in the background."""
    from fhir_adapter.subscription import handle_notification, parse_notification

    settings = request.app.state.settings
    secret = settings.fhir_subscription_secret.get_secret_value()
    if not secret or not settings.fhir_base_url:
        return JSONResponse({"error": "FHIR subscriptions are not configured"}, status_code=404)
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), secret.encode()):
        return JSONResponse({"error": "wrong or missing shared secret"}, status_code=403)
    body = await request.body()
    try:
        parse_notification(body)
    except ValueError:
        return JSONResponse({"error": "the notification is not valid JSON"}, status_code=400)
    background.add_task(handle_notification, request.app.state.engine, settings, body)
    return JSONResponse({"accepted": True})
