"""The fenced code blocks of a Markdown page, as the doc tests read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent.parent
DOCS = REPOSITORY / "docs"
FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int

    @property
    def where(self) -> str:
        return f"line {self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order; a fence it cannot read fails."""
    text = page.read_text(encoding="utf-8")
    found = [
        Block(match[1], match[2], text.count("\n", 0, match.start()) + 1)
        for match in FENCE.finditer(text)
    ]
    # Every fence line belongs to one of the blocks found: no stray or tilde fences.
    fences = len(re.findall(r"^\s*(```|~~~)", text, re.MULTILINE))
    assert fences == 2 * len(found), f"{page}: a fence the doc tests cannot read"
    return found
