"""Sync routes share a small thread pool per process (PRM_WEB_THREADS)."""

from __future__ import annotations

import anyio.to_thread
from fastapi.testclient import TestClient

from prm.app import create_app


def test_the_app_limits_its_request_threads_to_the_setting(settings):
    app = create_app(settings.model_copy(update={"web_threads": 3}), embedded_worker=False)
    with TestClient(app) as client:
        tokens = client.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert client.get("/healthz").status_code == 200
    app.state.engine.dispose()
    assert tokens == 3
