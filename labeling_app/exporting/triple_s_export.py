"""The coded responses as Triple-S XML 2.0: a metadata file (`.sss`) and the fixed-width data file it names
(`<record ident="A" href="<stem>.asc">`), one line per respondent.

Variables, in this order: `RESPID` (character, the record's serial), the metadata columns (character), `SOURCE`
(single: 1 coded by people, 2 the model's own codes, 3 a model estimate; blank when nobody coded it), `CODES`
(multiple: the code numbers of the respondent, labelled with the codes' names) and `NETS` (multiple: the nets'
numbers, a net when the respondent has any of its codes). The multiple variables are in spread format, which
carries a codeframe's numbers as they are (bitstring format would need the codes to run 1 to n): as many
sub-fields as the most codes one respondent has, each as wide as the largest number, right-justified with
leading zeros, unused sub-fields 0. A respondent nobody coded has a blank `CODES` and `NETS` field (missing);
one coded with no code has zeros (no code). Both files are UTF-8 (declared in the metadata file); positions
count bytes, as readers of `.asc` files do, so a text with accents takes more columns than characters; data
lines end with CR LF.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.text import slugify

from labeling_app.exporting.services import (
    LABEL_SOURCE_CODES,
    LABEL_SOURCE_LABELS,
    Codeframe,
    ascii_fold,
    codeframe_build,
    name_unique,
)
from labeling_app.insights.selectors.insights import InsightsScope

RECORD_IDENT = "A"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")
NAME_CHARS = 32


@dataclass(frozen=True)
class SssField:
    """One variable's place on a data line and how each respondent's value is written into it."""

    start: int  # first column, from 1
    width: int  # in bytes
    values: list[bytes]  # each respondent's value in UTF-8, padded with spaces to exactly `width` bytes


def sss_name_make(text: str, taken: set[str]) -> str:
    """A Triple-S name for `text` (ASCII letters, digits and `_`, a letter first), unique among `taken` without
    regard to case; adds it to `taken`."""
    base = _NOT_NAME.sub("_", ascii_fold(text)).strip("_") or "V"
    if not base[0].isalpha():
        base = "V_" + base
    return name_unique(base[:NAME_CHARS - 4], taken)


def spread_field_render(numbers: frozenset[int] | None, *, subfields: int, width: int) -> str:
    """A multiple variable's field in spread format: the numbers in ascending order, zero-padded, then 0 in the
    unused sub-fields; blank (missing) for None."""
    if numbers is None:
        return " " * (subfields * width)
    cells = [str(n).zfill(width) for n in sorted(numbers)]
    return "".join(cells + ["0" * width] * (subfields - len(cells)))


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _variable(record: ET.Element, ident: int, kind: str, name: str, label: str, field: SssField,
              use: str | None = None) -> ET.Element:
    attrs = {"ident": str(ident), "type": kind, **({"use": use} if use else {})}
    variable = _add(record, "variable", **attrs)
    _add(variable, "name", name)
    _add(variable, "label", " ".join(label.split()))
    _add(variable, "position", start=str(field.start), finish=str(field.start + field.width - 1))
    if kind == "character":
        _add(variable, "size", str(field.width))
    return variable


def _values(variable: ET.Element, values: Sequence[tuple[int, str]]) -> None:
    box = _add(variable, "values")
    for code, label in values:
        _add(box, "value", " ".join(label.split()), code=str(code))


def triple_s_render(frame: Codeframe, *, data_name: str) -> tuple[bytes, bytes]:
    """The metadata file and the data file (`data_name` is its name in the record's href)."""
    people = frame.respondents
    now = timezone.localtime()
    root = ET.Element("sss", version="2.0")
    _add(root, "date", now.strftime("%d %B %Y"))
    _add(root, "time", now.strftime("%H:%M"))
    _add(root, "origin", "ThemeLoop")
    survey = _add(root, "survey")
    _add(survey, "name", slugify(frame.project_name) or "project")
    _add(survey, "title", " ".join(frame.project_name.split()))
    record = _add(survey, "record", ident=RECORD_IDENT, href=data_name)
    fields: list[SssField] = []

    def field(values: list[str]) -> SssField:
        start = fields[-1].start + fields[-1].width if fields else 1
        encoded = [v.encode("utf-8") for v in values]
        width = max([1, *(len(v) for v in encoded)])
        fields.append(SssField(start, width, [v.ljust(width) for v in encoded]))
        return fields[-1]

    taken = {"RESPID", "SOURCE", "CODES", "NETS"}
    ident = 1
    _variable(record, ident, "character", "RESPID", "Respondent id",
              field([_one_line(r.respondent_id) for r in people]), use="serial")
    for i, key in enumerate(frame.keys):
        ident += 1
        _variable(record, ident, "character", sss_name_make(key, taken), key,
                  field([_one_line(r.metadata[i]) for r in people]))
    ident += 1
    source = _variable(record, ident, "single", "SOURCE", "Label source",
                       field([str(LABEL_SOURCE_CODES[r.label_source] or " ") for r in people]))
    _values(source, [(k, v) for k, v in LABEL_SOURCE_LABELS.items() if k])
    groups = [("CODES", "Codes", [(c.code, c.name) for c in frame.codes], [r.codes for r in people]),
              ("NETS", "Nets", [(n.code, n.name) for n in frame.nets], [r.nets(frame) for r in people])]
    for name, label, values, chosen in groups:
        if not values:
            continue
        width = len(str(max(code for code, _ in values)))
        subfields = max([1, *(len(c) for c in chosen if c is not None)])
        ident += 1
        variable = _variable(record, ident, "multiple", name, label, field(
            [spread_field_render(c, subfields=subfields, width=width) for c in chosen]))
        # <spread> follows <position> (the standard's order of a variable's elements), before <values>.
        _add(variable, "spread", subfields=str(subfields), width=str(width))
        _values(variable, values)
    ET.indent(root)
    metadata = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    lines = [b"".join(f.values[i] for f in fields) + b"\r\n" for i in range(len(people))]
    return metadata.encode("utf-8"), b"".join(lines)


def _one_line(text: str) -> str:
    # A data line holds no line break or tab: they would end the record or shift the columns after them.
    return " ".join(text.split()) if any(ch in text for ch in "\r\n\t\x0b\x0c\x85\u2028\u2029") else text


def triple_s_files_render(*, scope: InsightsScope, stem: str) -> dict[str, bytes]:
    """`<stem>.sss` and `<stem>.asc`, the data file the metadata file names, from the scope's coded rows."""
    metadata, data = triple_s_render(codeframe_build(scope), data_name=f"{stem}.asc")
    return {f"{stem}.sss": metadata, f"{stem}.asc": data}
