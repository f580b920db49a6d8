"""OpenDocument files (.odt from Writer, .ods from Calc), read from their content.xml with
the standard library: a text document into the blocks of intake/mail/form_text.py, like
Word; a spreadsheet into rows, like Excel.

Guarded as the Word path is: the zip is checked before it is opened (intake/mail/unreadable.py),
content.xml must be no larger than MAX_CONTENT, and an XML document type (the way to an
entity bomb) is refused before any of it is expanded. A sheet's repeated rows and columns
(Calc writes a million empty ones) are expanded no further than the caps.

What a text document's form may hold, read in order: paragraphs, headings, lists, sections,
tables (header rows and row groups), text frames; check boxes as glyphs, whether legacy form
fields (field:fieldmark FORMCHECKBOX), form controls (form:checkbox, drawn by draw:control)
or content controls; text fields and drop-downs as their values. Master pages (headers
and footers) are in styles.xml: not the form.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree import ElementTree
from xml.parsers import expat

from intake.mail.document_limits import MAX_COLUMNS, MAX_ROWS
from intake.mail.form_text import TICKED, UNTICKED, Block
from intake.mail.unreadable import DAMAGED, Unreadable, check_zip

MAX_CONTENT = 20 * 1024 * 1024  # bytes of content.xml read

OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
FORM = "{urn:oasis:names:tc:opendocument:xmlns:form:1.0}"
FIELD = "{urn:openoffice:names:experimental:ooo-ms-interop:xmlns:field:1.0}"
LOEXT = "{urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0}"
XML = "{http://www.w3.org/XML/1998/namespace}"

_SKIPPED = frozenset({"note", "annotation", "tracked-changes", "deletion", "bookmark-ref", "forms",
                      "sequence-decls", "variable-decls", "user-field-decls", "soft-page-break"})
_SHAPES = frozenset({"frame", "text-box", "custom-shape", "rect", "g"})


def content(data: bytes) -> ElementTree.Element:
    """The root of content.xml, parsed with no document type allowed."""
    check_zip(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("content.xml")
            if info.file_size > MAX_CONTENT:
                raise Unreadable("it is too large to read")
            raw = archive.read(info)
    except KeyError as error:
        raise Unreadable(DAMAGED) from error
    return _parse(raw)


def _parse(raw: bytes) -> ElementTree.Element:
    """The XML as elements ("{namespace}name"), built by expat with every document type
    declaration refused: ElementTree's own parser would expand internal entities."""
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = lambda name, attributes: builder.start(
        _qualified(name), {_qualified(key): value for key, value in attributes.items()})
    parser.EndElementHandler = lambda name: builder.end(_qualified(name))
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as error:
        raise Unreadable(DAMAGED) from error
    return builder.close()


def _qualified(name: str) -> str:
    return "{" + name if "}" in name else name


def _refuse(*_: object) -> None:
    raise Unreadable("it could not be opened (it declares an XML document type, which no office program writes)")


def _tag(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


# --- text documents --------------------------------------------------------------------


@dataclass
class _Document:
    """What the paragraphs need from the rest of content.xml: the form controls drawn in
    them, by id."""

    controls: dict[str, ElementTree.Element] = field(default_factory=dict)


def text_blocks(root: ElementTree.Element) -> list[Block]:
    """The blocks of a text document's body, in order."""
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        raise Unreadable("it holds no text")
    document = _Document({
        (control.get(f"{FORM}id") or control.get(f"{XML}id") or ""): control
        for forms in body.iter(f"{OFFICE}forms") for control in forms.iter()
        if control.get(f"{FORM}id") or control.get(f"{XML}id")
    })
    blocks: list[Block] = []
    for child in body:
        _block(child, blocks, document)
    return blocks


def _block(element: ElementTree.Element, blocks: list[Block], document: _Document) -> None:
    tag = _tag(element)
    if tag in ("p", "h"):
        text: list[str] = []
        floating: list[Block] = []
        _inline(element, text, floating, document)
        blocks.append("".join(text).strip())
        blocks.extend(floating)
    elif tag == "table":
        rows, inner = _table(element, document)
        blocks.append(rows)
        blocks.extend(inner)
    elif tag in ("list", "list-item", "list-header", "section", "index-body", "table-of-content",
                 "alphabetical-index", "illustration-index", "content-control", *_SHAPES):
        if tag == "content-control" and _placeholder(element):
            return
        for child in element:
            _block(child, blocks, document)


def _inline(element: ElementTree.Element, text: list[str], floating: list[Block], document: _Document) -> None:
    if element.text:
        text.append(element.text)
    for child in element:
        tag = _tag(child)
        if tag in _SKIPPED:
            pass
        elif tag == "s":
            text.append(" " * min(_count(child, f"{TEXT}c"), 100))
        elif tag == "tab":
            text.append("\t")
        elif tag == "line-break":
            text.append("\n")
        elif tag == "fieldmark":
            text.append(_fieldmark(child))
        elif tag == "control":
            text.append(_form_control(document.controls.get(child.get(f"{DRAW}control") or "")))
        elif tag == "content-control":
            text.append(_content_control(child, floating, document))
        elif tag in _SHAPES:
            _floating(child, floating, document)
        else:
            _inline(child, text, floating, document)
        if child.tail:
            text.append(child.tail)


def _floating(shape: ElementTree.Element, floating: list[Block], document: _Document) -> None:
    """A text frame or shape anchored in a paragraph: its paragraphs, after that one's."""
    for inner in shape:
        if _tag(inner) in _SHAPES:
            _floating(inner, floating, document)
        else:
            _block(inner, floating, document)


def _fieldmark(mark: ElementTree.Element) -> str:
    """A legacy form field: the glyph of a check box, the entry chosen in a drop-down."""
    kind = mark.get(f"{FIELD}type") or ""
    params: dict[str, list[str]] = {}
    for param in mark.iter(f"{FIELD}param"):
        params.setdefault(param.get(f"{FIELD}name") or "", []).append(param.get(f"{FIELD}value") or "")
    if kind.endswith("FORMCHECKBOX"):
        return TICKED if params.get("Checkbox_Checked", ["false"])[0].lower() == "true" else UNTICKED
    if kind.endswith("FORMDROPDOWN"):
        entries = params.get("Dropdown_ListEntry", [])
        try:
            index = int(params.get("Dropdown_Selected", ["0"])[0])
        except ValueError:
            index = 0
        return entries[index] if 0 <= index < len(entries) else ""
    return ""


def _form_control(control: ElementTree.Element | None) -> str:
    """A form control drawn in the text: a check box or radio button as a glyph and its
    label, a text box as its value, a list as the option chosen."""
    if control is None:
        return ""
    tag = _tag(control)
    label = control.get(f"{FORM}label") or ""
    if tag in ("checkbox", "radio"):
        state = control.get(f"{FORM}current-state") or control.get(f"{FORM}state") or ""
        ticked = state == "checked" or (tag == "radio" and (control.get(f"{FORM}current-selected")
                                                            or control.get(f"{FORM}selected")) == "true")
        return f"{TICKED if ticked else UNTICKED} {label}"
    if tag in ("listbox", "combobox"):
        chosen = [o.get(f"{FORM}label") or o.get(f"{FORM}value") or "" for o in control.iter(f"{FORM}option")
                  if (o.get(f"{FORM}current-selected") or o.get(f"{FORM}selected")) == "true"]
        return ", ".join(chosen) or control.get(f"{FORM}current-value") or ""
    if tag in ("text", "textarea", "formatted-text", "date", "time", "number"):
        return control.get(f"{FORM}current-value") or control.get(f"{FORM}value") or ""
    return ""


def _content_control(control: ElementTree.Element, floating: list[Block], document: _Document) -> str:
    """A content control (Writer 7.5 and later): a check box as its glyph; one still showing
    its placeholder gives nothing; any other, its text."""
    if control.get(f"{LOEXT}checkbox") == "true":
        return TICKED if control.get(f"{LOEXT}checked") == "true" else UNTICKED
    if _placeholder(control):
        return ""
    text: list[str] = []
    _inline(control, text, floating, document)
    return "".join(text)


def _placeholder(control: ElementTree.Element) -> bool:
    return control.get(f"{LOEXT}showing-place-holder") == "true"


def _table(table: ElementTree.Element, document: _Document) -> tuple[list[list[str]], list[Block]]:
    """Rows of cell texts: a cell spanning columns repeated in the cells it covers (as
    Word's are), one covered by a cell above empty; nested tables after it."""
    rows: list[list[str]] = []
    inner: list[Block] = []
    for row in _rows(table):
        cells: list[str] = []
        spanning, left = "", 0
        for cell in row:
            tag = _tag(cell)
            if tag == "covered-table-cell":
                cells.append(spanning if left > 0 else "")
                left -= 1
                continue
            if tag != "table-cell":
                continue
            blocks: list[Block] = []
            for child in cell:
                _block(child, blocks, document)
            text = " ".join(b for b in blocks if isinstance(b, str))
            inner.extend(b for b in blocks if not isinstance(b, str))
            spanning, left = text, _count(cell, f"{TABLE}number-columns-spanned") - 1
            cells.extend([text] * min(_count(cell, f"{TABLE}number-columns-repeated"), MAX_COLUMNS))
        rows.append(cells[:MAX_COLUMNS])
        if len(rows) >= MAX_ROWS:
            break
    return rows, inner


def _rows(table: ElementTree.Element) -> Iterator[ElementTree.Element]:
    for child in table:
        tag = _tag(child)
        if tag == "table-row":
            yield child
        elif tag in ("table-header-rows", "table-rows", "table-row-group"):
            yield from _rows(child)


def _count(element: ElementTree.Element, attribute: str) -> int:
    try:
        return max(1, int(element.get(attribute) or 1))
    except ValueError:
        return 1


# --- spreadsheets ----------------------------------------------------------------------


def sheets(root: ElementTree.Element) -> list[list[list[str]]]:
    """Each sheet's rows of cell texts, as many as the caps allow over all sheets; rows and
    cells Calc repeats (its empty tail) expanded only while they lead to content."""
    body = root.find(f"{OFFICE}body/{OFFICE}spreadsheet")
    if body is None:
        raise Unreadable("it holds no sheets")
    found: list[list[list[str]]] = []
    budget = MAX_ROWS
    for table in body.iter(f"{TABLE}table"):
        rows: list[list[str]] = []
        for row in _rows(table):
            if budget <= 0:
                break
            cells = _sheet_cells(row)
            repeat = _count(row, f"{TABLE}number-rows-repeated") if any(cells) else 1
            for _ in range(min(repeat, budget)):
                budget -= 1
                if any(cells):
                    rows.append(cells)
        found.append(rows)
    return found


def _sheet_cells(row: ElementTree.Element) -> list[str]:
    cells: list[str] = []
    for cell in row:
        if _tag(cell) not in ("table-cell", "covered-table-cell"):
            continue
        value = _cell_value(cell)
        # An empty cell repeated a thousand times to the sheet's edge costs nothing to skip.
        repeat = _count(cell, f"{TABLE}number-columns-repeated") if value else 1
        cells.extend([value] * min(repeat, MAX_COLUMNS - len(cells)))
        if len(cells) >= MAX_COLUMNS:
            break
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _cell_value(cell: ElementTree.Element) -> str:
    kind = cell.get(f"{OFFICE}value-type")
    if kind in ("float", "percentage", "currency"):
        raw = cell.get(f"{OFFICE}value") or ""
        try:
            number = float(raw)
            return str(int(number)) if number.is_integer() else raw
        except ValueError:
            pass
    if kind == "date" and cell.get(f"{OFFICE}date-value"):
        return (cell.get(f"{OFFICE}date-value") or "")[:10]
    paragraphs = []
    for paragraph in cell.findall(f"{TEXT}p"):
        text: list[str] = []
        _inline(paragraph, text, [], _Document())
        paragraphs.append("".join(text))
    return " ".join(" ".join(paragraphs).split())
