"""CORS for single-page apps on other origins.

Tokens travel in the Authorization header, not in cookies, so credentials are allowed only
for origins listed by name (never with ``*``), and only when switched on.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

ALLOWED_METHODS = "GET, POST, PATCH, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Accept, X-Request-ID, X-Auth-Token"
EXPOSED_HEADERS = "X-Request-ID"
PREFLIGHT_MAX_AGE = "600"


def parse_origins(value: str) -> frozenset[str]:
    """Comma-separated origins; ``*`` for any."""
    return frozenset(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())


def cors_middleware(origins: frozenset[str], *, allow_credentials: bool) -> Middleware:
    """Answer preflights and label responses for the allowed origins."""
    any_origin = "*" in origins

    def allowed_headers(origin: str) -> dict[str, str] | None:
        if origin in origins:
            headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            if allow_credentials:
                headers["Access-Control-Allow-Credentials"] = "true"
            return headers
        if any_origin:
            return {"Access-Control-Allow-Origin": "*"}
        return None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None:
            return await handler(request)
        headers = allowed_headers(origin)
        preflight = (
            request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        )
        if preflight:
            if headers is None:
                return web.Response(status=403, text="Origin not allowed")
            headers |= {
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            }
            return web.Response(status=204, headers=headers)
        response = await handler(request)
        if headers is not None and not response.prepared:
            response.headers.update(headers)
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response

    return middleware
