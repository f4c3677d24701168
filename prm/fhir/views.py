"""/admin/fhir — sync status, quarantine with retry, segment mapping rules — and the
rest-hook endpoint POST /fhir/subscription."""

from __future__ import annotations

import hmac
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember
from prm.db import SessionDep
from prm.fhir import notifications, service
from prm.fhir.forms import QuarantineFilter, SegmentRuleForm
from prm.fhir.labels import rule_kind_labels
from prm.ingest import codec
from prm.patients.service import segment_names
from prm.roles import Permission
from prm.web import htmx
from prm.web.forms import Posted, RowId, submit
from prm.web.templating import render

router = APIRouter()
Integrator = Annotated[StaffMember, require(Permission.integration_manage)]


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
# processes do not pay for it at start-up: most never retry a quarantined resource. A
# notification needs only its parser, which loads no FHIR models.


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
async def subscription(request: Request, session: SessionDep):
    """Rest-hook: checks the secret, parses and records the notification for the worker
    (202). Never calls the FHIR server: a request thread must not wait on it."""
    from fhir_adapter.notifications import MalformedNotification, parse_notification

    settings = request.app.state.settings
    secret = settings.fhir_subscription_secret.get_secret_value()
    if not secret or not settings.fhir_base_url:
        return JSONResponse({"error": "FHIR subscriptions are not configured"}, status_code=404)
    refused = _refused_credentials(request.headers.get("authorization", ""), secret)
    if refused is not None:
        return refused
    # At most PRM_FHIR_NOTIFICATION_MAX_BYTES: the body limit of this route (prm.app).
    body = await request.body()
    try:
        notification = parse_notification(body)
    except MalformedNotification as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    if not notification.needs_work:
        return JSONResponse({"accepted": True, "recorded": False}, status_code=202)
    # Async so the body can be read as it arrives. The database work runs in threads of
    # its own, never more than a few: a burst of notifications must not take the
    # threads every other page (/healthz, /login) waits for.
    return await anyio.to_thread.run_sync(_record, session, request.app.state.settings,
                                          body, notification,
                                          limiter=_notification_threads(request.app))


NOTIFICATION_THREADS = 2


def _notification_threads(app) -> anyio.CapacityLimiter:
    """One limiter per app, made on first use inside the app's event loop."""
    if not hasattr(app.state, "notification_threads"):
        app.state.notification_threads = anyio.CapacityLimiter(NOTIFICATION_THREADS)
    return app.state.notification_threads


def _refused_credentials(header: str, secret: str) -> JSONResponse | None:
    """Only "Authorization: Bearer <secret>": a bare secret is refused too, so the secret
    has one spelling and a proxy's own Authorization scheme is never mistaken for it."""
    scheme, _, sent = header.partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        return JSONResponse({"error": "send the shared secret as Authorization: Bearer"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(sent.strip().encode(), secret.encode()):
        return JSONResponse({"error": "wrong shared secret"}, status_code=403)
    return None



def _record(session, settings, body: bytes, notification) -> JSONResponse:
    try:
        received = notifications.receive(
            session, body=body.decode(), key=notification.key,
            max_pending=settings.fhir_notification_max_pending)
    except notifications.QueueFull as error:
        return JSONResponse({"error": error.message}, status_code=error.status,
                            headers={"Retry-After": str(error.retry_after_seconds)})
    session.commit()
    return JSONResponse({"accepted": True, "recorded": True, "duplicate": received.duplicate,
                         "notification": received.notification.id}, status_code=202)
