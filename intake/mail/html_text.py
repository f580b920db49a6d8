"""HTML bodies as plain text, for the MIME walk in intake.mail.mime (and so for
EmailContent.text and new_text): blocks and <br> as line breaks, two-column table rows (the
councils' Outlook and Word forms) as `label: value` lines, and optionally without the
quoted reply history that Gmail, Apple Mail and Outlook mark up in HTML. Pure: no I/O.
"""
from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from intake.mail.mail_text import tidy

_DROP_TAGS = ("style", "script", "head", "title", "meta", "link", "xml", "o:p", "template")
_BLOCK_TAGS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 ul ol li table thead tbody tfoot tr blockquote pre hr section article "
    "header footer dl dt dd address center form fieldset body html caption figure".split()
)


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """Readable text from an HTML body: blocks and <br> as line breaks, two-column table
    rows as `label: value` lines (councils' forms), Outlook and Word noise removed.
    With `drop_quotes`, Gmail/Apple quote blocks and everything from Outlook's reply
    header onwards are left out."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    if drop_quotes:
        _drop_quotes(soup)
    out: list[str] = []
    _render(soup, out)
    return tidy("\n".join(line.strip() for line in "".join(out).split("\n")))


def _drop_quotes(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(["blockquote"]) + soup.find_all(class_=re.compile(r"gmail_quote|yahoo_quoted|moz-cite-prefix")):
        if not tag.decomposed:
            tag.decompose()
    start = soup.find(id=re.compile(r"^(divRplyFwdMsg|appendonsend|x_divRplyFwdMsg)$")) or _outlook_border_div(soup)
    if start is None:
        return
    _drop_from(start)


def _outlook_border_div(soup: BeautifulSoup) -> Tag | None:
    """Outlook desktop's reply header: a div with a top border holding a bold "From:"."""
    for div in soup.find_all("div", style=re.compile(r"border-top\s*:\s*solid", re.IGNORECASE)):
        if re.match(r"\s*From\s*:", div.get_text(" ")):
            return div
    return None


def _drop_from(start: Tag) -> None:
    """Remove `start` and everything after it in document order."""
    node: Tag | None = start
    while node is not None and node.name not in ("body", "html", "[document]"):
        for sibling in list(node.next_siblings):
            sibling.extract()
        parent = node.parent
        if node is start:
            node.extract()
        node = parent


def _render(node: Tag, out: list[str], *, pre: bool = False) -> None:
    for child in node.children:
        if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(child, NavigableString):
            text = str(child).replace("\xa0", " ")
            out.append(text if pre else re.sub(r"\s+", " ", text))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name == "br":
            out.append("\n")
        elif name == "tr" and child.find("table") is None:
            out.append("\n" + _row_text(child) + "\n")
        elif name in ("td", "th"):
            _render(child, out, pre=pre)
            out.append("\t")
        elif name == "li":
            out.append("\n• ")
            _render(child, out, pre=pre)
            out.append("\n")
        elif name in _BLOCK_TAGS:
            out.append("\n")
            _render(child, out, pre=pre or name == "pre")
            out.append("\n")
        else:
            _render(child, out, pre=pre)


def _row_text(row: Tag) -> str:
    """`label: value` for a form row; other rows keep their cells apart with tabs."""
    cells = []
    for cell in row.find_all(["td", "th"], recursive=False):
        parts: list[str] = []
        _render(cell, parts)
        cells.append(" ".join("".join(parts).split()))
    cells = [c for c in cells if c] if len(cells) > 2 else cells
    if len(cells) == 2 and cells[0] and cells[1]:
        return f"{cells[0].rstrip(':').rstrip()}: {cells[1]}"
    return "\t".join(c for c in cells if c)
