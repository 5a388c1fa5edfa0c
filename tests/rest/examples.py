"""The request/response examples of the two REST APIs the dialects reproduce, from their text."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCUMENTS = Path(os.environ.get("NOTIFGQL_DIALECTS_DIR", Path(__file__).parents[1] / "dialects"))
JSONAPI_DOCUMENT = DOCUMENTS / "jsonapi.txt"
CRM_DOCUMENT = DOCUMENTS / "crm.txt"

_REQUEST = re.compile("^(GET|PATCH)[ \u00a0]{2,}(/api/v2/notifications\\S*)$", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    method: str
    path: str
    status: int
    body: Any

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def _json_after(text: str, start: int) -> tuple[Any, int]:
    brace = text.index("{", start)
    return json.JSONDecoder().raw_decode(text, brace)


def jsonapi_examples() -> list[Example]:
    """Every request of the JSON:API document with the status and body it answers."""
    text = JSONAPI_DOCUMENT.read_text()
    examples = []
    for match in _REQUEST.finditer(text):
        status = int(re.search(r"Responses(\d{3})", text[match.end() :]).group(1))  # type: ignore[union-attr]
        body, _ = _json_after(text, text.index("Body", match.end()))
        examples.append(Example(match.group(1), match.group(2), status, body))
    return examples


def crm_example() -> Any:
    """The JSON response example of the CRM document's GET /notifications."""
    text = CRM_DOCUMENT.read_text()
    body, _ = _json_after(text, text.index("JSON response example"))
    return body


def crm_patch_example() -> Any:
    """The JSON request example of the CRM document's PATCH /notifications."""
    text = CRM_DOCUMENT.read_text()
    body, _ = _json_after(text, text.index("JSON request example"))
    return body
