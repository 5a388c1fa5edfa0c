"""``GET /``: where everything is, for a person in a browser or for a program."""

from __future__ import annotations

from html import escape
from typing import Any

from aiohttp import web

from notifgql import appkeys
from notifgql.accept import accepted
from notifgql.rest import openapi


def _links(graphiql: bool) -> dict[str, Any]:
    graphql = "/graphql"
    return {
        "name": "notifgql",
        "graphql": graphql,
        "graphiql": graphql if graphiql else None,
        "rest": {"jsonapi": "/api/v2/notifications", "crm": "/notifications"},
        "openapi": {"jsonapi": openapi.JSONAPI_PATH, "crm": openapi.CRM_PATH},
        "health": {"live": "/healthz", "ready": "/readyz"},
        "metrics": "/metrics",
        "inbox": "/inbox",
    }


def _wants_html(request: web.Request) -> bool:
    """Whether the client ranks text/html above JSON (a browser does; curl does not)."""
    best: dict[str, float] = {}
    for media, quality in accepted(request.headers.get("Accept", "")):
        best[media] = max(best.get(media, 0.0), quality)
    html = best.get("text/html", 0.0)
    json = max(best.get("application/json", 0.0), best.get("*/*", 0.0) * 0.99)
    return html > 0 and html >= json


def _page(links: dict[str, Any]) -> str:
    rows = [
        ("GraphQL endpoint" + (" and GraphiQL" if links["graphiql"] else ""), links["graphql"]),
        ("The JSON:API dialect", links["rest"]["jsonapi"]),
        ("The CRM dialect", links["rest"]["crm"]),
        ("The JSON:API dialect's OpenAPI document", links["openapi"]["jsonapi"]),
        ("The CRM dialect's OpenAPI document", links["openapi"]["crm"]),
        ("Liveness", links["health"]["live"]),
        ("Readiness", links["health"]["ready"]),
        ("Prometheus metrics", links["metrics"]),
        ("The inbox in your browser (the notifgql-inbox web component)", links["inbox"]),
    ]
    items = "\n".join(
        f'<li>{escape(label)}: <a href="{escape(href)}">{escape(href)}</a></li>'
        for label, href in rows
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>notifgql</title></head>\n<body><h1>notifgql</h1>\n"
        "<p>In-app notifications over GraphQL. Requests carry "
        "<code>Authorization: Bearer &lt;token&gt;</code>.</p>\n"
        f"<ul>\n{items}\n</ul>\n</body></html>\n"
    )


async def home(request: web.Request) -> web.Response:
    """Point to /graphql, the REST dialects and the probes: HTML for browsers, else JSON."""
    links = _links(request.app[appkeys.SETTINGS].graphiql)
    if _wants_html(request):
        return web.Response(text=_page(links), content_type="text/html")
    return web.json_response(links)
