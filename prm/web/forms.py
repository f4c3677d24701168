"""The one sequence every form post follows, so routes stay three lines long:

parse the form (prm.forms) → call the service → commit and redirect (htmx-aware) — or, on a
field error or a PrmError, roll back and show the form again with the errors beside their
fields and everything as it was typed, with the error's status (422, 409, …). A form shown
again that shows a patient record audits it in ``show``, like the page it came from.

    @router.post("/notes")
    def add_note(request: Request, session: SessionDep, user: Editor, posted: Posted):
        return submit(
            request, session, NoteForm, posted,
            save=lambda form: notes.add(session, form=form, actor=actor_for(request, user)),
            show=lambda form, error: render(request, "notes/form.html",
                                            {"form": form, "error": error}),
            done=lambda form, note: f"/notes/{note.id}")

Routes are plain functions (FastAPI runs them in its thread pool); ``Posted`` reads the
request body before the route runs, the one thing that must be awaited. Each callback
gets the form first; ``done`` gets what ``save`` returned and gives the URL to go to, or
a response of its own (an htmx fragment).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from prm.errors import PrmError, ValidationFailed
from prm.forms import LAST_ROW_ID, Form
from prm.i18n import _
from prm.web import htmx

F = TypeVar("F", bound=Form)


async def posted_form(request: Request) -> FormData:
    """The posted form fields, read before the (sync) route runs."""
    return await request.form()


Posted = Annotated[FormData, Depends(posted_form)]
# A row id in a path (/patients/{patient_id}): one no row can have is a 404, not a query.
RowId = Annotated[int, Path(ge=1, le=LAST_ROW_ID)]


def submit(request: Request, session: Any, form_class: type[F], posted: FormData, *,
           save: Callable[[F], Any], show: Callable[[F, PrmError], Response],
           done: Callable[[F, Any], str | Response]) -> Response:
    """Parse the posted ``form_class``, then save or show it again (see the module)."""
    form = form_class.parse(posted, tz=request.app.state.settings.tz)
    if form.errors:  # the service never sees a form that did not parse
        return _shown(session, show, form, ValidationFailed(
            _("Please correct the marked fields."), field_errors=form.errors))
    try:
        result = save(form)
    except PrmError as error:
        session.rollback()
        for name, message in error.field_errors.items():
            form.add_error(name, message)
        return _shown(session, show, form, error)
    session.commit()
    outcome = done(form, result)
    return htmx.redirect(request, outcome) if isinstance(outcome, str) else outcome


def _shown(session: Any, show: Callable[[F, PrmError], Response], form: F, error: PrmError
           ) -> Response:
    """The form again. What ``show`` wrote is committed: the audit row of the patient
    record it shows again (what ``save`` wrote was rolled back, or never written)."""
    response = show(form, error)
    session.commit()
    response.status_code = error.status
    return response
