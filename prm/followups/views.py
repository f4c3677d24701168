"""Worklists: the queues staff clear, one row at a time, in place (htmx)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from prm.audit.service import Actor
from prm.auth.deps import actor_for, require
from prm.auth.service import StaffMember
from prm.care import appointments as appointment_desk
from prm.db import SessionDep
from prm.errors import PrmError, ValidationFailed
from prm.followups import causes, labels, queues, service
from prm.followups.forms import AttemptForm, RuleForm, WorklistQuery
from prm.followups.queues import WorklistFilter
from prm.i18n import _, current_language
from prm.models.types import utcnow
from prm.models.worklist import ItemStatus
from prm.patients import service as patients
from prm.roles import Permission
from prm.web import htmx
from prm.web.forms import Posted, RowId, submit
from prm.web.templating import render

router = APIRouter()
Worker = Annotated[StaffMember, require(Permission.worklists)]
RuleAdmin = Annotated[StaffMember, require(Permission.rules_manage)]


def _list_url(filters: WorklistFilter, *, after: int | None = None) -> str:
    params = {"queue": filters.queue, "clinic": filters.clinic_id or "",
              "segment": filters.segment, "priority": filters.priority}
    return "/worklists?" + urlencode(params | ({"after": after} if after else {}))


def _rows_context(session, request, filters: WorklistFilter, actor: Actor) -> dict:
    """What a page of rows needs (worklists/_rows.html), the rows audited: ``more_url`` is
    the next page's, when this one is full."""
    tz = request.app.state.settings.tz
    rows = queues.show_items(session, filters=filters, now=utcnow(), tz=tz, actor=actor)
    full = len(rows) == queues.PAGE_SIZE
    waiting, back_at = (0, None) if rows or filters.after_id else queues.held_back(
        session, filters=filters, now=utcnow(), tz=tz)
    return {
        "filters": filters, "rows": rows, "waiting": waiting, "first_back_at": back_at,
        "clear_url": "/worklists?" + urlencode({"queue": filters.queue}),
        "more_url": _list_url(filters, after=rows[-1].item.id) if full else None,
        "outcome_labels": labels.outcome_labels(),
        "rule_labels": labels.rule_labels(), "rule_reasons": labels.rule_reasons(),
        "priority_labels": labels.priority_labels(),
        "segment_names": patients.segment_names(session),
        "page_size": queues.PAGE_SIZE,
    }


def _page_context(session, request, filters: WorklistFilter, actor: Actor) -> dict:
    counts = queues.queue_counts(session, now=utcnow(), tz=request.app.state.settings.tz)
    return _rows_context(session, request, filters, actor) | {
        "counts": {queue: labels.count_label(count, queues.COUNT_LIMIT)
                   for queue, count in counts.items()},
        "clinics": appointment_desk.clinics(session),
        "queues": queues.QUEUES, "queue_url": _list_url(filters),
    }


@router.get("/worklists")
def worklists(request: Request, session: SessionDep, user: Worker):
    """The queues; with htmx, only the queue (a filter changed) or, with ``after``, only
    the next page of rows ("Show more")."""
    filters = WorklistQuery.parse(request.query_params).to_filter()
    actor = actor_for(request, user)
    if htmx.is_htmx(request) and filters.after_id:
        template, context = "worklists/_rows.html", _rows_context(session, request, filters,
                                                                   actor)
    else:
        template = "worklists/_queue.html" if htmx.is_htmx(request) else "worklists/index.html"
        context = _page_context(session, request, filters, actor)
    session.commit()
    return render(request, template, context)


@router.get("/worklists/count")
def today_count(request: Request, session: SessionDep, user: Worker):
    """The top bar's badge: items due today across all lists."""
    today = queues.queue_counts(session, now=utcnow(), tz=request.app.state.settings.tz)[
        queues.TODAY]
    return HTMLResponse(labels.count_label(today, queues.COUNT_LIMIT) if today else "")


def _row_context(session, request, item, **extra) -> dict:
    return {
        "row": queues.row_for(session, item=item, now=utcnow(),
                              tz=request.app.state.settings.tz),
        "outcome_labels": labels.outcome_labels(),
        "rule_labels": labels.rule_labels(), "rule_reasons": labels.rule_reasons(),
        "priority_labels": labels.priority_labels(),
        "segment_names": patients.segment_names(session), **extra,
    }


def _after_change(request, session, item, **extra):
    """htmx: the row again (or nothing when it was closed: the queue reloads); otherwise
    back to the list. A held-back item keeps its row until the queue next reloads, saying
    what was recorded and when it comes back."""
    if not htmx.is_htmx(request):
        return htmx.redirect(request, "/worklists")
    if item.status == ItemStatus.closed:
        return htmx.trigger(HTMLResponse(""), "worklist-changed")
    return render(request, "worklists/_row.html", _row_context(session, request, item, **extra))


@router.post("/worklists/items/{item_id}/claim")
def claim_item(request: Request, session: SessionDep, user: Worker, item_id: RowId):
    item = service.get_item(session, item_id)
    try:
        service.take(session, item=item, user=user, actor=actor_for(request, user))
    except PrmError as error:
        session.rollback()
        item = service.get_item(session, item_id)
        return render(request, "worklists/_row.html",
                      _row_context(session, request, item, error=error.message),
                      status=error.status)
    session.commit()
    return _after_change(request, session, item)


@router.post("/worklists/items/{item_id}/release")
def release_item(request: Request, session: SessionDep, user: Worker, item_id: RowId):
    item = service.get_item(session, item_id)
    service.hand_back(session, item=item, user=user, actor=actor_for(request, user))
    session.commit()
    return _after_change(request, session, item)


def _work_context(session, request, item, **extra) -> dict:
    row_context = _row_context(session, request, item)
    return {
        **row_context, "item": item, "patient": row_context["row"].patient,
        "attempts": service.attempts(session, item=item),
        "cause": causes.describe(session, items=[item],
                                 tz=request.app.state.settings.tz)[item.id],
        "clinic_options": _options(appointment_desk.clinics(session)),
        "clinician_options": _options(appointment_desk.clinicians(session)),
        "form": {}, "errors": {}, **extra,
    }


def _options(records) -> list[tuple[str, str]]:
    """(id, name in the current language) pairs for a select."""
    thai = current_language.get() == "th"
    return [(str(r.id), (r.name_th if thai and r.name_th else r.name_en)) for r in records]


@router.get("/worklists/items/{item_id}")
def work_item(request: Request, session: SessionDep, user: Worker, item_id: RowId):
    """The outcome form, in place under the row (htmx) or as a page of its own."""
    item = service.open_item(session, item_id, actor=actor_for(request, user))
    context = _work_context(session, request, item)
    session.commit()
    template = "worklists/_work.html" if htmx.is_htmx(request) else "worklists/item.html"
    return render(request, template, context)


@router.post("/worklists/items/{item_id}/attempts")
def record_attempt(request: Request, session: SessionDep, user: Worker, item_id: RowId,
                   posted: Posted):
    item = service.get_item(session, item_id)

    def save(form: AttemptForm):
        return service.record_attempt(
            session, item=item, user=user, actor=actor_for(request, user),
            outcome=form.outcome, note=form.note, rebooking=form.rebooking(),
            call_back_at=form.call_back_at)

    def show(form: AttemptForm, error: PrmError):
        shown = service.open_item(session, item_id, actor=actor_for(request, user))
        context = _work_context(session, request, shown,
                                form=form.typed, errors=form.errors, error=error.message)
        if not htmx.is_htmx(request):
            return render(request, "worklists/item.html", context)
        # The form targets the whole row; the refused form goes back inside the row, so
        # the row (who, why, claim) stays and the corrected form can be sent again.
        return htmx.retarget(render(request, "worklists/_work.html", context),
                             f"#work-{item_id}")

    def done(form: AttemptForm, _attempt):
        if not htmx.is_htmx(request):
            return "/worklists"
        return _after_change(request, session, item, done=True)

    return submit(request, session, AttemptForm, posted, save=save, show=show, done=done)


@router.post("/worklists/items/{item_id}/close")
def close_item(request: Request, session: SessionDep, user: Worker, item_id: RowId):
    item = service.get_item(session, item_id)
    service.close(session, item=item, user=user, actor=actor_for(request, user))
    session.commit()
    return _after_change(request, session, item)


@router.get("/admin/rules")
def rules_page(request: Request, session: SessionDep, user: RuleAdmin):
    return render(request, "worklists/rules.html", _rules_context(session))


def _rules_context(session, **extra) -> dict:
    return {"settings": service.rule_settings(session), "rule_labels": labels.rule_labels(),
            "units": labels.rule_threshold_units(),
            "segment_names": patients.segment_names(session), "errors": {}, "form": None,
            **extra}


@router.post("/admin/rules")
def save_rules(request: Request, session: SessionDep, user: RuleAdmin, posted: Posted):
    forms = {setting.rule: RuleForm.for_rule(posted, setting.rule)
             for setting in service.rule_settings(session)}
    known = set(patients.segment_names(session))
    try:
        errors = {name: message for rule, form in forms.items()
                  for name, message in form.errors_for(rule).items()}
        if errors:
            raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
        for rule, form in forms.items():
            service.update_rule_setting(
                session, rule=rule, enabled=form.enabled, threshold=form.threshold,
                segments=form.segments, known_segments=known, actor=actor_for(request, user),
                retry_minutes=form.retry_minutes)
    except PrmError as error:
        session.rollback()
        # Re-render what was typed (every rule's fields), not what is stored.
        return render(request, "worklists/rules.html",
                      _rules_context(session, errors=error.field_errors, error=error.message,
                                     form=posted),
                      status=error.status)
    session.commit()
    return render(request, "worklists/rules.html", _rules_context(session, saved=True))
