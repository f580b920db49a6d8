"""A form's paragraphs and tables, in document order, as the text the parser reads: `Label:
value` lines, and check boxes turned into the choices they make.

The readers of each format (word_forms.py, opendocument.py, pdf_forms.py) hand over blocks:
a paragraph is a string, a table a list of rows of cell texts, and every check box in them
is a glyph, ☒ (or ☑) ticked and ☐ not, whether the document drew it as a content control,
a legacy form field, a form control or a typed symbol. Pure.

Check boxes: a box and the text beside it are an option; a ticked option chooses, an
unticked one is dropped, so an offer named beside an empty box is never read as a mention.
The options of one question become one line, `Question: ticked, ticked`:

- in one paragraph or cell: "Which offer? ☒ PbR pathfinder ☐ Early adopter" gives
  `Which offer?: PbR pathfinder`; boxes after their text ("Yes ☒ No ☐") work too;
- in one table row: the row's cells without a box are the question
  (| Offer | ☒ PbR pathfinder ☐ Early adopter |);
- one option a paragraph or a row (| ☒ | PbR pathfinder |): the paragraph just before the
  options is their question if it ends as one ("Offer:", "Which offer are you applying
  for?"), and so is a table row of one cell just before them (| Which offer |);
- nothing ticked: no line at all, the question included (a label left alone would take the
  next line as its value).

A ticked option with no question is a line of its own ("PbR pathfinder"), which the parser
reads as the offer's heading. A table row with a label and an empty answer cell gives no
line, for the same reason as an unanswered question.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

TICKED = "☒"
UNTICKED = "☐"
_TICKED = frozenset("☒☑")
_BOX = re.compile("([☐☑☒])")
_LONGEST_QUESTION = 150  # characters: longer text before a list of options is prose, not its question

Table = list[list[str]]
Block = str | Table  # a paragraph (lines split by "\n"), or a table's rows of cell texts


# --- tables ----------------------------------------------------------------------------


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """A table as `Label: value` lines. Two cells a row: label and value. More, with a
    first row of headers: `Header: cell` for every cell under it. Cells repeated across
    a merged span count once."""
    cleaned = [[c for i, c in enumerate(row) if c and (i == 0 or c != row[i - 1])] for row in rows]
    cleaned = [row for row in cleaned if row]
    if not cleaned:
        return []
    width = max(len(row) for row in cleaned)
    lines: list[str] = []
    if width <= 2:
        for row in cleaned:
            lines.append(f"{row[0].rstrip(':')}: {row[1]}" if len(row) == 2 else row[0])
        return lines
    header = [" ".join(cell.split()) for cell in rows[0]]
    for row in rows[1:]:
        for title, cell in zip(header, row):
            if title and cell and cell != title:
                lines.append(f"{title.rstrip(':')}: {cell}")
    return lines


def cell_text(text: str) -> str:
    # A value on several lines stays one value (a paragraph break inside a cell).
    return " ".join(str(text).split())


# --- what a form's blocks become -------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    line: str


@dataclass(frozen=True)
class _Row:
    cells: tuple[str, ...]
    table: int
    first: bool  # the table's first row: its header, when it has one
    width: int  # the table's width, merged cells counted once


@dataclass(frozen=True)
class _Choice:
    question: str  # "" when the options have none of their own
    options: tuple[tuple[bool, str], ...]  # (ticked, text)
    table: int | None = None


_Entry = _Text | _Row | _Choice


def blocks_text(blocks: Sequence[Block]) -> str:
    """The text of a form's blocks, in order: tables as `Label: value` lines between blank
    lines, check boxes as the choices they make."""
    return "\n".join(_render(_ask_questions(_entries(blocks))))


def has_box(text: str) -> bool:
    return bool(_BOX.search(text))


def split_options(text: str) -> tuple[str, list[tuple[bool, str]]]:
    """(question, [(ticked, option)]) of a text with check boxes in it."""
    parts = _BOX.split(text)
    texts, boxes = parts[0::2], parts[1::2]
    if not texts[-1].strip() and texts[0].strip():
        # "Yes ☒ No ☐": each box follows its option; a question may lead the first.
        question, first = _question_and_rest(texts[0])
        labels = [first, *texts[1:-1]]
    else:
        question, labels = texts[0], texts[1:]
    options = [(box in _TICKED, _option(label)) for box, label in zip(boxes, labels)]
    return _question(question), options


def _question_and_rest(text: str) -> tuple[str, str]:
    cut = max(text.rfind(":"), text.rfind("?"))
    return (text[: cut + 1], text[cut + 1:]) if cut >= 0 else ("", text)


def _question(text: str) -> str:
    return " ".join(text.split()).rstrip(":").strip()


def _option(text: str) -> str:
    return " ".join(text.split()).strip(" :;,/|")


def _entries(blocks: Sequence[Block]) -> list[_Entry]:
    entries: list[_Entry] = []
    for number, block in enumerate(blocks):
        if isinstance(block, str):
            for line in block.split("\n"):
                entries.append(_Choice(*split_options(line)) if has_box(line) else _Text(line.strip()))
            continue
        rows = [[cell_text(cell) for cell in row] for row in block]
        header = rows[0] if rows and not any(has_box(cell) for cell in rows[0]) else []
        width = max((len(_distinct(row)) for row in rows), default=0)
        for index, row in enumerate(rows):
            choice = _row_choice(row, header, number) if any(has_box(cell) for cell in row) else None
            entries.append(choice or _Row(tuple(row), number, index == 0, width))
    return entries


def _row_choice(cells: list[str], header: list[str], table: int) -> _Choice | None:
    """A table row with check boxes: a box alone in its cell is the option named by the
    row's other cells (or, several in a row, by the header of its column); a cell of boxes
    and text holds options of its own, the row's other cells their question."""
    plain = _distinct([cell for cell in cells if cell and not has_box(cell)])
    lone = [(i, cell.strip() in _TICKED) for i, cell in enumerate(cells) if _BOX.fullmatch(cell.strip())]
    boxed = [cell for cell in cells if has_box(cell) and not _BOX.fullmatch(cell.strip())]
    if boxed:
        options: list[tuple[bool, str]] = []
        asked: list[str] = []
        for cell in boxed:
            question, found = split_options(cell)
            options += found
            asked += [question] if question else []
        return _Choice(_question(" ".join(plain) or " ".join(asked)), tuple(options), table)
    if len(lone) == 1:
        return _Choice("", ((lone[0][1], _option(" ".join(plain))),), table)
    named = [(ticked, _option(header[i]) if i < len(header) else "") for i, ticked in lone]
    return _Choice(_question(" ".join(plain)), tuple(named), table)


def _distinct(cells: Sequence[str]) -> list[str]:
    """Non-empty cells, one of each run repeated across a merged span."""
    return [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]


def _ask_questions(entries: list[_Entry]) -> list[_Entry]:
    """Options without a question of their own, one a paragraph or a row, joined under the
    paragraph or row just before them (their question), which they replace."""
    out: list[_Entry] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        if not _unasked(entry):
            out.append(entry)
            index += 1
            continue
        end = index
        while end < len(entries) and _unasked(entries[end]):
            end += 1
        run = [e for e in entries[index:end] if isinstance(e, _Choice)]
        asked = _asking(out, run[0].table)
        if asked is not None:
            question, at = asked
            del out[at:]  # the question, and blank lines after it
            out.append(_Choice(question, tuple(o for e in run for o in e.options), run[0].table))
        else:
            out.extend(run)
        index = end
    return out


def _unasked(entry: _Entry) -> bool:
    return isinstance(entry, _Choice) and not entry.question


def _blank(entry: _Entry) -> bool:
    return isinstance(entry, _Text) and not entry.line


def _asking(before: list[_Entry], table: int | None) -> tuple[str, int] | None:
    """The question asked just before a list of options, and where it stands in `before`."""
    at = len(before) - 1
    while at >= 0 and table is None and _blank(before[at]):
        at -= 1
    if at < 0:
        return None
    entry = before[at]
    if isinstance(entry, _Text) and table is None and _asks(entry.line):
        return _question(entry.line), at
    if isinstance(entry, _Row) and entry.table == table:
        cells = _distinct(entry.cells)
        # A row of one cell (merged, or the rest empty): a header row of two cells may as
        # well be a label and its value, which must not be lost.
        if len(cells) == 1 and _asks(cells[0], strict=False):
            return _question(cells[0]), at
    return None


def _asks(text: str, *, strict: bool = True) -> bool:
    """A short text that is no `Label: value` line: the prompt for the options after it.
    A paragraph must end as a prompt does ("Offer:", "Which offer?"): one that does not
    ("Signed J Smith") is text of its own."""
    text = text.strip()
    if not text or len(text) > _LONGEST_QUESTION:
        return False
    if strict:
        return text.endswith((":", "?"))
    return ":" not in text or text.endswith(":")  # "Council: Camden" answers; "Offer:" asks


def _render(entries: list[_Entry]) -> list[str]:
    headers = {e.table: e for e in entries if isinstance(e, _Row) and e.first}
    lines: list[str] = []
    rows: list[_Row] = []
    for entry in [*entries, None]:
        if isinstance(entry, _Row) and (not rows or rows[-1].table == entry.table):
            rows.append(entry)
            continue
        if rows:
            lines += ["", *_table_text(rows, headers.get(rows[0].table)), ""]
            rows = []
        if isinstance(entry, _Row):
            rows.append(entry)
        elif isinstance(entry, _Choice):
            lines += _choice_lines(entry)
        elif isinstance(entry, _Text):
            lines.append(entry.line)
    return lines


def _table_text(rows: list[_Row], header: _Row | None) -> list[str]:
    width = rows[0].width
    if width <= 2:
        # A label whose answer cell is empty: no line (alone, it would take the next
        # line of the document as its value).
        kept = [r.cells for r in rows if not (len(r.cells) >= 2 and r.cells[0] and not any(r.cells[1:]))]
        return table_lines(kept)
    cells = [r.cells for r in rows]
    if header is not None and rows[0] is not header:
        cells.insert(0, header.cells)  # rows after a list of options still read under the header
    return table_lines(cells)


def _choice_lines(choice: _Choice) -> list[str]:
    chosen = [text for ticked, text in choice.options if ticked and text]
    if not chosen:
        return []
    if choice.question:
        return [f"{choice.question}: {', '.join(chosen)}"]
    return chosen
