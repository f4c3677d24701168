"""create_app(): middleware, routers, static files, the embedded worker."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from prm.admin import views as admin_views
from prm.auth import views as auth_views
from prm.care import views as care_views
from prm.config import PROJECT_ROOT, Settings, get_settings
from prm.db import make_engine
from prm.fhir import views as fhir_views
from prm.followups import views as worklist_views
from prm.home import router as home_router
from prm.logs import configure_logging
from prm.messaging import views as messaging_views
from prm.patient_page import views as patient_page_views
from prm.patients import views as patient_views
from prm.segments import views as segment_views
from prm.timeline_registry import register_all
from prm.web.errors import install_error_handlers
from prm.web.middleware import BodyLimitMiddleware, CsrfMiddleware, RequestContextMiddleware


def limit_request_threads(threads: int) -> None:
    """Sync routes run in a thread pool (anyio's default: 40 threads). Under load, dozens of
    threads in one process fight over the GIL and each page costs far more CPU (measured:
    6.0 ms of CPU per patient page with 40 threads and 8 connections, 4.7 ms with 4,
    3.3 ms with 1). A few threads per process, and more processes, serve more pages; a
    few rather than one, so a request waiting on the database does not stall the rest."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads


def create_app(settings: Settings | None = None, *, embedded_worker: bool | None = None):
    settings = settings or get_settings()
    register_all()
    run_worker = settings.embedded_worker if embedded_worker is None else embedded_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        limit_request_threads(settings.web_threads)
        worker = None
        if run_worker:
            from prm.jobs.worker import start_embedded

            worker = start_embedded(app.state.engine, settings)
        yield
        if worker:
            worker.stopping.set()
        app.state.engine.dispose()

    app = FastAPI(title="PRM", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    # Outermost last: headers and the 500 page around everything, then the body limit,
    # then CSRF (which may read a form body, now known to be small).
    app.add_middleware(CsrfMiddleware, secret_key=settings.secret_key.get_secret_value(),
                       secure_cookies=settings.cookie_secure)
    # Request bodies over prm.web.middleware.DEFAULT_BODY_LIMIT, by path prefix.
    app.add_middleware(BodyLimitMiddleware, limits={
        "/fhir/subscription": settings.fhir_notification_max_bytes})
    app.add_middleware(RequestContextMiddleware, secure_transport=settings.cookie_secure)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    # patient_views before patient_page_views: /patients/new and /patients/suggest must
    # be tried before /patients/{patient_id}.
    for module in (auth_views, patient_views, patient_page_views, admin_views, segment_views,
                   worklist_views, care_views, fhir_views, messaging_views):
        app.include_router(module.router)
    app.include_router(home_router)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory prm.app:app_factory`` (several web processes)."""
    configure_logging()
    return create_app()
