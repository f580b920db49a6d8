"""A filled-in PDF form's fields (AcroForm) as `Label: value` lines, and its page text
without what the fields already say.

A value typed in a field is not in the page text: only the printed label is, and a label
standing alone takes the next line of the page as its value (a footer, "Page 1 of 2", as
the number of centres). So the fields' lines come first, where the parser takes the first
value it finds for a label, and the page text after them loses every line that is only a
field's label, an option beside a box, a field's value or a field's line: each value is read
once, from the field.

Each field is named by its tooltip (/TU), else its own name (/T, as "Council" or
"Contact_name"). Text fields and lists give their values; a radio group the option chosen;
a check box is an option (intake/mail/form_text.py): ticked, it gives its name, or
`Group: name` when it belongs to a named group of boxes, or `Name: value` when its value
says more than "Yes"; unticked, nothing.

An XFA form (Adobe LiveCycle) keeps its answers in XML we do not read: one with no AcroForm
field filled in is named as unreadable, with what to send instead.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from intake.mail.unreadable import Unreadable

MAX_FIELDS = 1_000  # form fields and widgets walked: a form has dozens
MAX_DEPTH = 16  # levels of fields in fields
XFA_FORM = ("it is an XFA form (made with Adobe LiveCycle), whose answers we cannot read: please send "
            "the form as a Word document, or type your answers into an email")

_RADIO = 1 << 15
_PUSHBUTTON = 1 << 16
_YES = frozenset({"yes", "on", "1", "true", "x", "checked", "ticked", "ja", "oui", "si", "y"})
_BOXES = re.compile("[☐☑☒]")


@dataclass
class _Field:
    label: str
    group: str  # the label of the field it belongs to, "" when none
    kind: str  # Tx | Btn | Ch | Sig
    flags: int
    value: Any
    options: list[tuple[str, str]] = field(default_factory=list)  # (export value, shown) of a list
    states: list[str] = field(default_factory=list)  # a button's "on" appearances


@dataclass(frozen=True)
class FormText:
    """What the fields say: their lines, and every text of theirs the page may repeat."""

    lines: list[str]
    known: frozenset[str]


def form_text(reader: Any) -> FormText:
    """The AcroForm fields of a pypdf reader as lines; raise Unreadable for an XFA form
    whose AcroForm holds no answer."""
    fields = list(_fields(reader))
    lines = _lines(fields)
    if not lines and _xfa(reader):
        raise Unreadable(XFA_FORM)
    known = {_key(text) for f in fields for text in (f.label, f.group, *_shown_options(f), _text(f.value))}
    known |= {_key(line) for line in lines}
    return FormText(lines, frozenset(k for k in known if k))


def without_fields(page_text: str, known: frozenset[str]) -> str:
    """The page text without the lines the fields already gave, or that are only their labels."""
    return "\n".join(line for line in page_text.split("\n") if _key(line) not in known)


def _xfa(reader: Any) -> bool:
    form = _resolve(reader.trailer["/Root"].get("/AcroForm"))
    return isinstance(form, dict) and form.get("/XFA") is not None


# --- walking the fields ----------------------------------------------------------------


def _fields(reader: Any) -> Iterator[_Field]:
    form = _resolve(reader.trailer["/Root"].get("/AcroForm"))
    if not isinstance(form, dict):
        return
    seen: set[int] = set()
    budget = [MAX_FIELDS]
    for top in _resolve(form.get("/Fields")) or []:
        yield from _walk(_resolve(top), {}, "", 0, seen, budget)


def _walk(node: Any, inherited: dict[str, Any], group: str, depth: int, seen: set[int],
          budget: list[int]) -> Iterator[_Field]:
    if not isinstance(node, dict) or depth > MAX_DEPTH or id(node) in seen or budget[0] <= 0:
        return
    seen.add(id(node))
    budget[0] -= 1
    own = {key: node[key] for key in ("/FT", "/Ff", "/V", "/Opt") if key in node}
    values = {**inherited, **own}
    label = _label(node)
    kids = [_resolve(kid) for kid in (_resolve(node.get("/Kids")) or [])]
    fields = [kid for kid in kids if isinstance(kid, dict) and ("/T" in kid or "/FT" in kid and "/Kids" in kid)]
    if fields:
        for kid in fields:
            yield from _walk(kid, values, label or group, depth + 1, seen, budget)
        return
    widgets = [node, *(kid for kid in kids if isinstance(kid, dict))]
    yield _Field(
        label=label,
        group=group,
        kind=str(values.get("/FT", "")).lstrip("/"),
        flags=_int(values.get("/Ff")),
        value=_resolve(values.get("/V")),
        options=_options(_resolve(values.get("/Opt"))),
        states=[state for widget in widgets for state in _states(widget)],
    )


def _resolve(value: Any) -> Any:
    return value.get_object() if hasattr(value, "get_object") else value


def _label(node: dict[str, Any]) -> str:
    """The field's tooltip, else its own name made readable: "Contact_name[0]" reads
    "Contact name", "NumberOfCentres" "Number Of Centres"."""
    tooltip = _text(_resolve(node.get("/TU")))
    if tooltip:
        return tooltip
    name = re.sub(r"\[\d+\]", "", _text(_resolve(node.get("/T")))).replace("_", " ")
    if " " not in name:
        name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return " ".join(name.split())


def _states(widget: dict[str, Any]) -> list[str]:
    appearances = _resolve(widget.get("/AP"))
    normal = _resolve(appearances.get("/N")) if isinstance(appearances, dict) else None
    return [_name(key) for key in normal if _name(key) != "Off"] if isinstance(normal, dict) else []


def _options(value: Any) -> list[tuple[str, str]]:
    options = []
    for item in value if isinstance(value, list) else []:
        item = _resolve(item)
        if isinstance(item, list) and len(item) >= 2:
            options.append((_text(_resolve(item[0])), _text(_resolve(item[1]))))
        else:
            options.append((_text(item), _text(item)))
    return options


def _int(value: Any) -> int:
    try:
        return int(_resolve(value) or 0)
    except (TypeError, ValueError):
        return 0


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return " ".join(str(value).split())


def _name(value: Any) -> str:
    # A PDF name ("/PbR#20pathfinder", decoded by pypdf) as the text it stands for.
    return str(value).lstrip("/").strip()


# --- what the fields say ---------------------------------------------------------------


def _lines(fields: list[_Field]) -> list[str]:
    """A line for every field with a value, in the form's order; the ticked boxes of one
    group on the line of the first."""
    lines: list[str] = []
    groups: dict[str, int] = {}
    for f in fields:
        if f.kind == "Tx" and _text(f.value) and f.label:
            lines.append(f"{f.label}: {_text(f.value)}")
        elif f.kind == "Ch" and f.label:
            chosen = _chosen(f)
            if chosen:
                lines.append(f"{f.label}: {', '.join(chosen)}")
        elif f.kind == "Btn" and not f.flags & _PUSHBUTTON:
            picked = _button(f)
            if picked is None:
                continue
            question, option = picked
            if not question:
                lines.append(option)
            elif question in groups:
                lines[groups[question]] += f", {option}"
            else:
                groups[question] = len(lines)
                lines.append(f"{question}: {option}")
    return lines


def _chosen(f: _Field) -> list[str]:
    values = f.value if isinstance(f.value, list) else [f.value]
    shown = dict(f.options)
    return [shown.get(_text(v)) or _text(v) for v in (_resolve(v) for v in values) if _text(v)]


def _button(f: _Field) -> tuple[str, str] | None:
    """(question, option) of a radio group or a ticked box; None when nothing is chosen."""
    state = _name(f.value) if f.value is not None else ""
    if not state or state == "Off":
        return None
    if f.flags & _RADIO:
        return (f.label or f.group, state) if (f.label or f.group) else ("", state)
    if state.lower() in _YES:
        return (f.group, f.label) if f.label else None
    return (f.label, state) if f.label else (f.group, state)


def _shown_options(f: _Field) -> list[str]:
    return [*f.states, *(text for pair in f.options for text in pair)]


def _key(text: str) -> str:
    """A line as compared with the fields': boxes, punctuation and case aside."""
    return " ".join(re.sub(r"[^\w]+", " ", _BOXES.sub(" ", text).lower()).split())
