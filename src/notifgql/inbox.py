"""``GET /inbox`` and ``/static/...``: the ``<notifgql-inbox>`` web component and a page using it.

The files live in ``notifgql/static`` (shipped in the wheel) and are served from memory with a
strict Content-Security-Policy: scripts and styles come from this server only, nothing inline,
and the page talks to no other host, so it works without internet access.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

# Scripts and styles from this origin only; fetch and WebSocket to this origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
COMPONENT_PATH = "/static/notifgql-inbox.js"
PAGE_PATH = "/inbox"
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}
# The files served under /static/: nothing else in the package is reachable.
STATIC_FILES = ("notifgql-inbox.js", "inbox.js", "inbox.css", "favicon.svg")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _load(name: str) -> Asset:
    body = resources.files("notifgql").joinpath("static", name).read_bytes()
    suffix = name[name.rindex(".") :]
    return Asset(body, _TYPES[suffix], '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _respond(request: web.Request, asset: Asset) -> web.Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=asset.body, content_type=asset.content_type, charset="utf-8", headers=headers
    )


def add_routes(app: web.Application) -> None:
    """Serve the component, the page's own script and style, the page and an icon."""
    assets = {name: _load(name) for name in STATIC_FILES}
    page = _load("inbox.html")
    icon = assets["favicon.svg"]

    async def static(request: web.Request) -> web.Response:
        asset = assets.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound(text="Not found", headers={"X-Content-Type-Options": "nosniff"})
        return _respond(request, asset)

    async def inbox(request: web.Request) -> web.Response:
        return _respond(request, page)

    async def favicon(request: web.Request) -> web.Response:
        # Browsers ask every page's origin for one; a bell beats a 404 in their console.
        return _respond(request, icon)

    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/static/{name}", static)
    app.router.add_get(PAGE_PATH, inbox)
