"""What /healthz reports: whether the database answers, and how fast."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text


def database_health(engine: Engine) -> dict:
    """``{"status": "ok", "dialect", "ms"}`` or ``{"status": "error", "error"}``; never
    raises, because monitors read the answer rather than a stack trace."""
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        return {"status": "error", "error": type(error).__name__}
    return {"status": "ok", "dialect": engine.dialect.name,
            "ms": round((time.perf_counter() - started) * 1000, 1)}
