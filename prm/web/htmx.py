"""The only code that reads or writes HX-* headers."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request
from starlette.responses import Response


def is_htmx(request: Request) -> bool:
    """True for an htmx request that wants a fragment (boosted page loads want the page)."""
    # A history restore (back button after the cache missed) wants the whole page too.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def redirect(request: Request, url: str) -> Response:
    """303 for a normal form post; HX-Redirect for htmx so the whole page changes."""
    # Headers are Latin-1: an address with Thai in it (a search kept in the query string)
    # travels percent-encoded; what is already encoded stays as it is.
    url = quote(url, safe="/?&=%#:;,+@!$'()*-._~[]")
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return Response(status_code=303, headers={"Location": url})


def page_it_came_from(referer: str, *, host: str) -> str:
    """The path of the page a request came from, when it is one of PRM's, else "/"."""
    parts = urlsplit(referer)
    path = parts.path if parts.netloc in ("", host) else ""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def trigger(response: Response, event: str) -> Response:
    response.headers["HX-Trigger"] = event
    return response


def retarget(response: Response, target: str, swap: str = "innerHTML") -> Response:
    """Swap this response somewhere else than the element that asked for it."""
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response
