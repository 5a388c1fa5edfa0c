"""GraphiQL, served by notifgql itself: our page, and GraphiQL's browser files from npm.

Set-up (scripts/bootstrap.sh, and the Dockerfile) installs the files graphiql/package.json
pins into ``vendor/`` here; nothing is fetched from a CDN. Without them, the GraphiQL address
answers with a page that says how to install them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from string import Template

from aiohttp import web

from notifgql.demo import DEMO_ORGANIZATION, DEMO_RECIPIENT

HERE = Path(__file__).resolve().parent
VENDOR_DIR = HERE / "vendor"
# Relative to the GraphiQL page (/graphql), so that a path prefix in front of it keeps working.
STATIC_PATH = "static/graphiql/"
ROUTE = "/static/graphiql/{name}"

JAVASCRIPT = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
# GraphiQL's files from npm, as graphiql/package.json's "notifgql.assets" names them.
VENDOR_FILES = {
    "react.production.min.js": JAVASCRIPT,
    "react-dom.production.min.js": JAVASCRIPT,
    "graphiql.min.js": JAVASCRIPT,
    "graphiql.min.css": CSS,
    "graphql-ws.min.js": JAVASCRIPT,
}
# Ours: the script that starts GraphiQL, and the style of the line above it.
OWN_FILES = {"notifgql-graphiql.js": JAVASCRIPT, "notifgql-graphiql.css": CSS}

# The page runs no inline script and loads nothing from elsewhere. GraphiQL sets inline
# styles (React style attributes, CodeMirror), and its fonts are data: URLs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# Asset URLs carry their content's digest (?v=), so a long cache life is safe.
ASSET_CACHE_CONTROL = "public, max-age=604800"

DEFAULT_QUERY = """\
# The demo inbox of notifgql serve --demo.
# In Headers below, replace <token> with a
# token, then run this: ▶ or Ctrl-Enter.
# Live updates come over WebSocket too:
# subscription { notificationCounts { unread } }
query DemoInbox {
  notificationCounts {
    total
    unread
    unseen
  }
  notifications(first: 5) {
    edges {
      node {
        id
        title
        read
        createdAt
        actor {
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""
DEFAULT_HEADERS = '{\n  "Authorization": "Bearer <token>"\n}'
TOKEN_COMMAND = f"notifgql token --recipient {DEMO_RECIPIENT} --organization {DEMO_ORGANIZATION}"
INSTALL_COMMAND = "bash scripts/graphiql-assets.sh"


@dataclass(frozen=True, slots=True)
class _Digest:
    mtime_ns: int
    size: int
    value: str


class GraphiQL:
    """The page at /graphql for browsers, and the files it loads from /static/graphiql/."""

    def __init__(self, vendor_dir: Path | None = None) -> None:
        self.vendor_dir = vendor_dir or VENDOR_DIR
        self._digests: dict[Path, _Digest] = {}
        self._page = Template((HERE / "page.html").read_text(encoding="utf-8"))
        self._missing = Template((HERE / "missing.html").read_text(encoding="utf-8"))

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(ROUTE, self.asset)

    def _path(self, name: str) -> Path | None:
        if name in VENDOR_FILES:
            return self.vendor_dir / name
        if name in OWN_FILES:
            return HERE / name
        return None

    def missing(self) -> list[str]:
        """GraphiQL's files that are not installed."""
        return [name for name in VENDOR_FILES if not (self.vendor_dir / name).is_file()]

    def _url(self, name: str) -> str:
        path = self._path(name)
        if path is None:
            raise KeyError(name)
        stat = path.stat()
        known = self._digests.get(path)
        if known is None or (known.mtime_ns, known.size) != (stat.st_mtime_ns, stat.st_size):
            value = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            known = self._digests[path] = _Digest(stat.st_mtime_ns, stat.st_size, value)
        return f"{STATIC_PATH}{name}?v={known.value}"

    def page(self) -> web.Response:
        """The GraphiQL page, or, without GraphiQL's files, how to install them."""
        if missing := self.missing():
            text = self._missing.substitute(files=", ".join(missing), command=INSTALL_COMMAND)
            return web.Response(
                status=404, text=text, content_type="text/html", headers=PAGE_HEADERS
            )
        config = {"defaultQuery": DEFAULT_QUERY, "defaultHeaders": DEFAULT_HEADERS}
        text = self._page.substitute(
            # Data, not script: the browser runs none of it. "<" escaped keeps it in its tag.
            config=json.dumps(config).replace("<", "\\u003c"),
            token_command=TOKEN_COMMAND,
            react=self._url("react.production.min.js"),
            react_dom=self._url("react-dom.production.min.js"),
            graphiql_js=self._url("graphiql.min.js"),
            graphiql_css=self._url("graphiql.min.css"),
            graphql_ws=self._url("graphql-ws.min.js"),
            own_js=self._url("notifgql-graphiql.js"),
            own_css=self._url("notifgql-graphiql.css"),
        )
        return web.Response(text=text, content_type="text/html", headers=PAGE_HEADERS)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        """One of the files the page loads: a fixed list, never a path from the request."""
        name = request.match_info["name"]
        path = self._path(name)
        if path is None or not path.is_file():
            reason = "not installed" if name in VENDOR_FILES else "no such file"
            raise web.HTTPNotFound(text=f"GraphiQL file {reason}: {name}\n")
        content_type = VENDOR_FILES.get(name) or OWN_FILES[name]
        return web.FileResponse(
            path,
            headers={
                "Content-Type": content_type,
                "Cache-Control": ASSET_CACHE_CONTROL,
                "X-Content-Type-Options": "nosniff",
            },
        )
