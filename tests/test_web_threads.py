"""Sync routes share a small thread pool per process (PRM_WEB_THREADS)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
from fastapi.testclient import TestClient
from sqlmodel import Session

from prm import db
from prm.app import create_app
from tests.factories import sign_in


def test_the_app_limits_its_request_threads_to_the_setting(settings):
    app = create_app(settings.model_copy(update={"web_threads": 3}), embedded_worker=False)
    with TestClient(app) as client:
        tokens = client.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert client.get("/healthz").status_code == 200
    app.state.engine.dispose()
    assert tokens == 3


def test_requests_never_wait_for_each_other_over_connections(settings, monkeypatch):
    """One thread and one pooled connection: a request holding the connection while it waits
    for the thread, and a thread waiting for that connection, would stall every request
    until the pool timeout and then fail them (the session dependency and current_user
    give the connection back before a request waits for a thread)."""
    monkeypatch.setattr(db, "POOL_SIZE", 1)
    monkeypatch.setattr(db, "MAX_OVERFLOW", 0)
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 3)
    app = create_app(settings.model_copy(update={"web_threads": 1}), embedded_worker=False)
    with TestClient(app, follow_redirects=False) as client:
        with Session(app.state.engine, expire_on_commit=False) as session:
            sign_in(client, session, role="nurse")
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: client.get("/patients/new").status_code,
                                     range(24)))
    app.state.engine.dispose()
    assert statuses == [200] * 24
