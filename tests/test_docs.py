"""docs/: what its pages say is true of the code, and every example in them is checked.

docs/rest.md explains the REST dialects in prose and points to their OpenAPI documents; it has
no code blocks, so that nothing in it goes unexecuted. docs/graphql.md and docs/clients.md have
examples, each run or checked exactly as written by its own module in tests/docs/, which fails on
any block it does not know. docs/inbox.md has one, the page that embeds the inbox web component,
which tests/browser/test_inbox.py serves exactly as written and drives in a browser. A page with
blocks that no test checks fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from notifgql.rest import crm, jsonapi, openapi
from tests.browser.test_inbox import documented_embedding
from tests.client import Api

REPOSITORY = Path(__file__).resolve().parent.parent
DOCS = REPOSITORY / "docs"
REST = DOCS / "rest.md"
INBOX = DOCS / "inbox.md"
README = REPOSITORY / "README.md"
# Pages whose every block a module of tests/docs/ runs or checks (and fails on any other block).
CHECKED = {
    DOCS / "graphql.md": REPOSITORY / "tests" / "docs" / "test_graphql_doc.py",
    DOCS / "clients.md": REPOSITORY / "tests" / "docs" / "test_clients_doc.py",
}


def test_no_unchecked_example() -> None:
    pages = sorted(DOCS.glob("**/*.md"))
    assert REST in pages
    assert set(CHECKED) <= set(pages)
    for page, checker in CHECKED.items():
        assert checker.exists(), checker
        assert f'DOCS / "{page.name}"' in checker.read_text(encoding="utf-8"), checker
    assert INBOX in pages
    for page in pages:
        if page in CHECKED:
            continue
        text = page.read_text(encoding="utf-8")
        if page == INBOX:
            # The one block there is the embedding the browser tests serve as written.
            checked = f"```html\n{documented_embedding()}```"
            assert text.count(checked) == 1
            text = text.replace(checked, "")
        assert not re.search(r"^\s*(```|~~~)", text, re.MULTILINE), f"{page}: an unchecked block"


def test_names_every_declared_parameter_and_route() -> None:
    text = REST.read_text(encoding="utf-8")
    names = [*jsonapi.FILTERS, *jsonapi.PAGING, *crm.FILTERS, *crm.PAGING]
    for name in names:
        assert f"`{name}`" in text or f"`{name}=" in text, name
    for operation in (*jsonapi.OPERATIONS, *crm.OPERATIONS):
        described = operation.path.replace(jsonapi.BASE + "/{id}/", ".../")
        assert f"{operation.method} {operation.path}" in text or described in text, operation
    for limit in ("at most 200", "1 to 1,000 operations", "default 30", "default 100"):
        assert limit in text, limit
    assert jsonapi.MAX_PAGE_SIZE == crm.PAGING["per_page"].high == 200
    assert crm.MAX_CRM_OPERATIONS == 1_000
    assert (jsonapi.PAGING["page[size]"].default, crm.PAGING["per_page"].default) == (30, 100)


def test_readme_lists_every_page() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Documentation\n", 1)[1].split("\n## ", 1)[0]
    for page in sorted(DOCS.glob("*.md")):
        assert f"`docs/{page.name}`" in section, page.name


def test_readme_links_it_from_each_dialect_section() -> None:
    text = README.read_text(encoding="utf-8")
    for heading in ("## JSON:API dialect", "## CRM dialect"):
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        assert "`docs/rest.md`" in section, heading


@pytest.mark.parametrize("path", [openapi.JSONAPI_PATH, openapi.CRM_PATH])
async def test_the_documents_it_names_are_served(api: Api, path: str) -> None:
    assert f"`GET {path}`" in REST.read_text(encoding="utf-8")
    response = await api.client.get(path)
    assert response.status == 200
    assert (await response.json())["openapi"] == "3.1.0"
