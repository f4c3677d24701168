"""The routes the app serves, read from the app itself: the tests that must cover every
route (the role matrix, audit of patient views, hostile input) all start here."""

from __future__ import annotations

from fastapi.routing import APIRoute


def served_routes(app) -> list[tuple[str, set[str], APIRoute]]:
    """(path, methods, route) of every API route, however deeply routers were included."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied onto app.routes
        return [(r.path, set(r.methods), r) for r in app.routes if isinstance(r, APIRoute)]
    return [(c.path, set(c.methods), c.original_route) for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)]
