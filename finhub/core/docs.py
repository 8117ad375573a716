"""FinHub's own documentation pages, rendered from the Markdown in ``docs/``.

The Markdown file is the one source: read on GitHub and served in the app (``/docs/metrics/``)
with the same heading anchors — GitHub's rule: lower case, punctuation dropped, spaces to
hyphens, ``-1``, ``-2`` … for a repeated heading — so a link such as
``docs/metrics.md#campaign-roi`` and ``/docs/metrics/#campaign-roi`` lead to the same place.
Raw HTML in the Markdown is not rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from markdown_it import MarkdownIt
from markdown_it.token import Token

DOCS_DIR = Path(settings.BASE_DIR) / "docs"
METRICS_DOC = DOCS_DIR / "metrics.md"


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    anchor: str


@dataclass(frozen=True)
class RenderedDoc:
    title: str
    html: str
    headings: tuple[Heading, ...]


def heading_anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, letters, digits, ``_``, ``-`` and spaces
    kept, spaces turned into hyphens."""
    kept = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return kept.replace(" ", "-")


def _plain_text(inline: Token) -> str:
    """The text of an inline token as a reader sees it (code spans without backticks)."""
    return "".join(
        child.content for child in inline.children or () if child.type in ("text", "code_inline")
    )


def render_markdown(text: str) -> RenderedDoc:
    """HTML of ``text`` (CommonMark with tables, no raw HTML) with an ``id`` on every heading,
    its headings in order and its first heading as the title."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = parser.parse(text)
    headings: list[Heading] = []
    used: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        title = _plain_text(tokens[index + 1])
        anchor = heading_anchor(title)
        if anchor in used:
            used[anchor] += 1
            anchor = f"{anchor}-{used[anchor]}"
        else:
            used[anchor] = 0
        token.attrSet("id", anchor)
        headings.append(Heading(level=int(token.tag[1]), title=title, anchor=anchor))
    html = parser.renderer.render(tokens, parser.options, {})
    title = headings[0].title if headings else ""
    return RenderedDoc(title=title, html=html, headings=tuple(headings))


@lru_cache(maxsize=8)
def _render_file(path: Path, modified: float) -> RenderedDoc:
    return render_markdown(path.read_text(encoding="utf-8"))


def doc_render(path: Path = METRICS_DOC) -> RenderedDoc:
    """The rendered document at ``path``, re-rendered only when the file changed."""
    return _render_file(path, path.stat().st_mtime)
