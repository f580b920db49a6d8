"""A Word document's body as Word writes it, read from its XML into the blocks of
intake/mail/form_text.py: paragraphs and tables in document order, every check box a glyph.

python-docx's paragraph text keeps only plain runs, so the values a person gave in a form
were lost. Read here, in order:

- content controls (`w:sdt`): check boxes (`w14:checkbox`, ticked by `w14:checked`), drop-down
  lists, combo boxes, date pickers, plain and rich text, and the tables and paragraphs inside
  them; one still showing its placeholder ("Click or tap here to enter text.") gives nothing;
- legacy form fields: FORMCHECKBOX (`w:checked`, else `w:default`), FORMTEXT (its result
  runs), FORMDROPDOWN (the entry `w:result` points at); other fields give their result;
- text boxes (`w:txbxContent`), after the paragraph that anchors them, once (a shape is
  written twice, for new Word and as a fallback for old);
- tracked changes as accepted: insertions kept, deletions dropped.

Headers, footers, notes and comments are other parts of the package: not the form.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from intake.mail.form_text import TICKED, UNTICKED, Block

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_OFF = ("0", "false", "off")
# Check boxes typed as symbols: Wingdings' boxes (private-use code points, as w:sym writes them).
_SYMBOL_BOXES = {"F0FE": "☑", "F0FD": "☒", "F078": "☒", "F0A8": UNTICKED, "F06F": UNTICKED, "F071": UNTICKED}
# Wrappers whose children are read as if they stood in their place.
_TRANSPARENT = frozenset({"hyperlink", "smartTag", "customXml", "ins", "moveTo", "fldSimple", "dir", "bdo"})
_SKIPPED = frozenset({"del", "moveFrom", "delText", "delInstrText", "footnoteReference",
                      "endnoteReference", "commentReference", "pPr", "rPr", "sdtPr", "sdtEndPr"})


def body_blocks(body: Any) -> list[Block]:
    """The blocks of a document's body (python-docx: `document.element.body`)."""
    blocks: list[Block] = []
    for child in body:
        _block(child, blocks)
    return blocks


def _tag(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _block(element: Any, blocks: list[Block]) -> None:
    tag = _tag(element)
    if tag == "p":
        text, floating = _paragraph(element)
        blocks.append(text)
        blocks.extend(floating)
    elif tag == "tbl":
        rows, inner = _table(element)
        blocks.append(rows)
        blocks.extend(inner)
    elif tag == "sdt":
        if not _placeholder(element):
            for child in _content(element):
                _block(child, blocks)
    elif tag in ("customXml", "ins", "moveTo"):
        for child in element:
            _block(child, blocks)


# --- tables ----------------------------------------------------------------------------


def _table(table: Any) -> tuple[list[list[str]], list[Block]]:
    """Rows of cell texts (a cell spanning columns repeated, as python-docx gives it; one
    continuing a vertical merge empty), and the tables nested in cells, after it."""
    rows: list[list[str]] = []
    inner: list[Block] = []
    for row in _children(table, "tr"):
        cells: list[str] = []
        for cell in _children(row, "tc"):
            blocks: list[Block] = []
            for child in cell:
                _block(child, blocks)
            text = " ".join(b for b in blocks if isinstance(b, str))
            inner.extend(b for b in blocks if not isinstance(b, str))
            properties = cell.find(f"{W}tcPr")
            span = _int(properties.find(f"{W}gridSpan") if properties is not None else None, 1)
            merge = properties.find(f"{W}vMerge") if properties is not None else None
            if merge is not None and merge.get(f"{W}val", "continue") != "restart":
                text = ""
            cells.extend([text] * max(1, min(span, 64)))
        rows.append(cells)
    return rows, inner


def _children(element: Any, tag: str) -> Iterator[Any]:
    """Children named `tag`, looking through content controls and custom XML around them
    (a repeating section wraps rows, a cell control wraps cells)."""
    for child in element:
        name = _tag(child)
        if name == tag:
            yield child
        elif name == "sdt" and not _placeholder(child):
            yield from _children(_content_element(child), tag)
        elif name == "customXml":
            yield from _children(child, tag)


def _int(element: Any, default: int) -> int:
    try:
        return int(element.get(f"{W}val")) if element is not None else default
    except (TypeError, ValueError):
        return default


# --- paragraphs ------------------------------------------------------------------------


@dataclass
class _Field:
    """A complex field being read: its instruction, its form field data, and whether its
    result (what Word shows) has begun."""

    data: Any = None
    instruction: str = ""
    showing: bool = False
    start: int = 0  # where its result begins in the paragraph's text

    @property
    def kind(self) -> str:
        words = self.instruction.split()
        return words[0].upper() if words else ""


@dataclass
class _Reading:
    """What a paragraph has given so far."""

    text: list[str] = field(default_factory=list)
    floating: list[Block] = field(default_factory=list)  # text boxes anchored in it
    fields: list[_Field] = field(default_factory=list)
    unanswered: bool = False  # a form field left blank, or a control showing its placeholder

    def shown(self) -> bool:
        """Text here is seen: every field around it shows its result, and none is a form
        field whose value is read from its data instead."""
        return all(f.showing and f.kind not in ("FORMCHECKBOX", "FORMDROPDOWN") for f in self.fields)

    def add(self, text: str) -> None:
        if self.shown():
            self.text.append(text)


def _paragraph(paragraph: Any) -> tuple[str, list[Block]]:
    reading = _Reading()
    _inline(paragraph, reading)
    text = "".join(reading.text).strip()
    if reading.unanswered and text.endswith(":"):
        # "Contact name: [blank]": a label alone would take the next line as its value.
        text = ""
    return text, reading.floating


def _inline(element: Any, reading: _Reading) -> None:
    for child in element:
        tag = _tag(child)
        if tag in _SKIPPED or not tag:
            continue
        if tag == "r":
            _inline(child, reading)
        elif tag == "t":
            reading.add(child.text or "")
        elif tag == "tab":
            reading.add("\t")
        elif tag in ("br", "cr"):
            reading.add("\n")
        elif tag == "noBreakHyphen":
            reading.add("-")
        elif tag == "sym":
            box = _SYMBOL_BOXES.get((child.get(f"{W}char") or "").upper())
            reading.add(box or "")
        elif tag == "fldChar":
            _field_char(child, reading)
        elif tag == "instrText":
            if reading.fields and not reading.fields[-1].showing:
                reading.fields[-1].instruction += child.text or ""
        elif tag == "sdt":
            _control(child, reading)
        elif tag == "AlternateContent":
            _alternate(child, reading)
        elif tag == "txbxContent":
            for inner in child:
                _block(inner, reading.floating)
        elif tag in _TRANSPARENT or tag in ("drawing", "pict", "inline", "anchor", "graphic", "graphicData",
                                            "wsp", "txbx", "shape", "rect", "roundrect", "textbox", "group",
                                            "wgp", "object"):
            _inline(child, reading)


def _field_char(element: Any, reading: _Reading) -> None:
    kind = element.get(f"{W}fldCharType")
    if kind == "begin":
        reading.fields.append(_Field(data=element.find(f"{W}ffData")))
    elif kind == "separate" and reading.fields:
        reading.fields[-1].showing = True
        reading.fields[-1].start = len(reading.text)
    elif kind == "end" and reading.fields:
        done = reading.fields.pop()
        value = _form_field_value(done)
        if value is not None:
            reading.add(value)
        elif done.kind == "FORMTEXT" and not "".join(reading.text[done.start:]).strip():
            reading.unanswered = True


def _form_field_value(done: _Field) -> str | None:
    """The glyph of a FORMCHECKBOX, the entry chosen in a FORMDROPDOWN; None for other
    fields (what they show was read as their result)."""
    data = done.data
    if data is None:
        return None
    box = data.find(f"{W}checkBox")
    if box is not None or done.kind == "FORMCHECKBOX":
        state = box.find(f"{W}checked") if box is not None else None
        if state is None and box is not None:
            state = box.find(f"{W}default")
        ticked = state is not None and (state.get(f"{W}val") or "1").lower() not in _OFF
        return TICKED if ticked else UNTICKED
    listing = data.find(f"{W}ddList")
    if listing is not None:
        entries = [e.get(f"{W}val") or "" for e in listing.findall(f"{W}listEntry")]
        chosen = listing.find(f"{W}result")
        if chosen is None:
            chosen = listing.find(f"{W}default")
        index = _int(chosen, 0)
        return entries[index] if 0 <= index < len(entries) else ""
    return None


def _alternate(element: Any, reading: _Reading) -> None:
    # The same shape for new Word (mc:Choice) and old (mc:Fallback): read one of them.
    for child in element:
        if _tag(child) in ("Choice", "Fallback"):
            _inline(child, reading)
            return


# --- content controls ------------------------------------------------------------------


def _control(control: Any, reading: _Reading) -> None:
    properties = control.find(f"{W}sdtPr")
    box = properties.find(f"{W14}checkbox") if properties is not None else None
    if box is not None:
        state = box.find(f"{W14}checked")
        ticked = state is not None and (state.get(f"{W14}val") or "0").lower() not in _OFF
        reading.add(TICKED if ticked else UNTICKED)
        return
    if _placeholder(control):
        reading.unanswered = True
        return
    _inline(_content_element(control), reading)


def _placeholder(control: Any) -> bool:
    """A content control still showing its prompt: nothing was entered in it."""
    properties = control.find(f"{W}sdtPr")
    shown = properties.find(f"{W}showingPlcHdr") if properties is not None else None
    return shown is not None and (shown.get(f"{W}val") or "1").lower() not in _OFF


def _content_element(control: Any) -> Any:
    content = control.find(f"{W}sdtContent")
    return content if content is not None else []


def _content(control: Any) -> list[Any]:
    return list(_content_element(control))
