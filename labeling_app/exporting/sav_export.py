"""The coded responses for SPSS: a `.sav` data file written with pyreadstat and a `.sps` syntax file that defines
the multiple-response sets (SPSS keeps sets in the dictionary, which pyreadstat cannot write).

Variables, in this order: `respid` (the respondent id, a string); the metadata columns (strings, or numbers where
every value is a plain number: `services.codeframe_build`); `label_source` (0 not coded, 1 coded by people, 2 the
model's own codes, 3 a model estimate, with value labels); a 0/1 variable per code, `c<code>` (label: the code's
name; 0 "not mentioned", 1 "mentioned"); a 0/1 variable per net, `n<netcode>` (label: the net's name; 1 when the
respondent has any of its codes, counted once). A respondent nobody coded has every code and net variable
system-missing, so a frequency of `c<code>` counts what the dashboard counts, over the coded respondents.

The syntax file defines, with MRSETS, the dichotomy sets `$codes` (every code), `$net<netcode>` (a net's codes)
and `$nets` (every net), counted value 1. SPSS needs two variables in a set, so a set of one is left out (the
file says which). Run it on the open data file (GET FILE, then INSERT or open and run it), then save the file to
keep the sets.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from labeling_app.exporting.services import (
    LABEL_SOURCE_CODES,
    LABEL_SOURCE_LABELS,
    Codeframe,
    ascii_fold,
    codeframe_build,
    name_unique,
)
from labeling_app.insights.selectors.insights import InsightsScope

MENTIONED_LABELS: dict[int | float, str] = {0.0: "not mentioned", 1.0: "mentioned"}
RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
NAME_BYTES = 64  # an SPSS variable name's limit
LABEL_CHARS = 250  # variable labels: SPSS keeps 256 bytes; names and keys rarely come near
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.]+")
# Kept in the file (SPSS: DISPLAY DOCUMENTS), so the data says how to read it; lines of 80 characters at most.
SAV_NOTE = ["ThemeLoop export. c<code>: 1 the respondent has the code, 0 not.",
            "n<netcode>: 1 the respondent has any of the net's codes (counted once), 0 not.",
            "Respondents nobody coded (label_source 0): every code and net system-missing.",
            "The .sps beside this file defines the sets $codes, $net<netcode> and $nets."]
SETS_PER_LINE = 10  # variables on one line of the syntax file (old SPSS reads lines up to 256 bytes)


def spss_name_make(text: str, taken: set[str]) -> str:
    """A valid SPSS variable name for `text` (ASCII letters, digits, `_` and `.`, a letter first, not a reserved
    word, not ending in `.` or `_`), unique among `taken` without regard to case; adds it to `taken`."""
    base = _NOT_NAME.sub("_", ascii_fold(text)).strip("._") or "v"
    if not base[0].isalpha():
        base = "v_" + base
    if base.upper() in RESERVED:
        base += "_v"
    return name_unique(base[:NAME_BYTES - 4].rstrip("._"), taken)


SENTIMENT_VARIABLE = "csent"  # people's sentiment, when the project codes it (a metadata `sentiment` keeps its name)


def sav_names_make(frame: Codeframe) -> dict[str, str]:
    """The variable name of each metadata column (the codes' `c<n>`, the nets' `n<n>`, `respid` and
    `label_source` come first and are never taken by a column)."""
    taken = {"RESPID", "LABEL_SOURCE", SENTIMENT_VARIABLE.upper(), *(f"C{c.code}" for c in frame.codes),
             *(f"N{n.code}" for n in frame.nets)}
    return {key: spss_name_make(key, taken) for key in frame.keys}


@dataclass
class SavData:
    """What the `.sav` is written from: a row per respondent, and its dictionary."""

    data: pd.DataFrame
    labels: dict[str, str | None]  # variable -> variable label
    value_labels: dict[str, dict[int | float, str]]
    formats: dict[str, str]  # variable -> SPSS print format (F1.0 for the dichotomies)


def number_format_get(values: list[str]) -> str:
    """The SPSS format that shows a column of plain numbers as written: F<width>.<decimals>."""
    filled = [v for v in values if v]
    decimals = max([0, *(len(v.partition(".")[2]) for v in filled)])
    width = max([1, *(len(v.partition(".")[0]) for v in filled)]) + (decimals + 1 if decimals else 0)
    return f"F{min(width, 40)}.{min(decimals, 16)}"


def sav_data_build(frame: Codeframe) -> SavData:
    """The data, labels and formats of the `.sav`: code and net variables NaN (system-missing) for a respondent
    nobody coded."""
    names = sav_names_make(frame)
    people = frame.respondents
    columns: dict[str, object] = {"respid": pd.Series([r.respondent_id for r in people], dtype=object)}
    labels: dict[str, str | None] = {"respid": "Respondent id", "label_source": "Label source"}
    formats: dict[str, str] = {}
    for i, key in enumerate(frame.keys):
        values = [r.metadata[i] for r in people]
        if key in frame.numeric_keys:
            columns[names[key]] = pd.Series([float(v) if v else np.nan for v in values], dtype="float64")
            formats[names[key]] = number_format_get(values)
        else:
            columns[names[key]] = pd.Series(values, dtype=object)
        labels[names[key]] = key[:LABEL_CHARS]
    columns["label_source"] = pd.Series([float(LABEL_SOURCE_CODES[r.label_source]) for r in people],
                                        dtype="float64")
    value_labels: dict[str, dict[int | float, str]] = {
        "label_source": {float(k): v for k, v in LABEL_SOURCE_LABELS.items()}}
    for code in frame.codes:
        name = f"c{code.code}"
        columns[name] = pd.Series([np.nan if r.codes is None else float(code.code in r.codes) for r in people],
                                  dtype="float64")
        labels[name], value_labels[name] = code.name[:LABEL_CHARS], MENTIONED_LABELS
    nets = [r.nets(frame) for r in people]
    for net in frame.nets:
        name = f"n{net.code}"
        columns[name] = pd.Series([np.nan if n is None else float(net.code in n) for n in nets], dtype="float64")
        labels[name], value_labels[name] = net.name[:LABEL_CHARS], MENTIONED_LABELS
    if frame.sentiment_names:
        columns[SENTIMENT_VARIABLE] = pd.Series([np.nan if r.sentiment is None else float(r.sentiment)
                                                 for r in people], dtype="float64")
        labels[SENTIMENT_VARIABLE] = "Sentiment coded by people (1 = most positive)"
        value_labels[SENTIMENT_VARIABLE] = {float(k): v for k, v in frame.sentiment_names.items()}
    formats.update(dict.fromkeys(value_labels, "F1.0"))
    return SavData(pd.DataFrame(columns), labels, value_labels, formats)


def sav_render(frame: Codeframe) -> bytes:
    """The `.sav` file (see the module's variables), its file label the project's name."""
    sav = sav_data_build(frame)
    measure = dict.fromkeys(sav.value_labels, "nominal")
    label = frame.project_name.encode("utf-8")[:60].decode("utf-8", "ignore")  # SPSS keeps 64 bytes
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.sav"
        pyreadstat.write_sav(sav.data, path, file_label=label, note=SAV_NOTE, column_labels=sav.labels,
                             variable_value_labels=sav.value_labels, variable_format=sav.formats,
                             variable_measure=measure)
        return path.read_bytes()


def _quoted(text: str) -> str:
    """A string in SPSS syntax: single quotes, doubled inside; line breaks as spaces."""
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


def _variables(names: list[str]) -> str:
    lines = [" ".join(names[i:i + SETS_PER_LINE]) for i in range(0, len(names), SETS_PER_LINE)]
    return "\n      ".join(lines)


def sps_render(frame: Codeframe, *, sav_name: str) -> str:
    """The syntax file: MRSETS dichotomy groups `$codes`, `$net<n>` per net and `$nets`, counted value 1."""
    sets: list[tuple[str, str, list[str]]] = [("$codes", "Codes", [f"c{c.code}" for c in frame.codes])]
    sets += [(f"$net{n.code}", n.name, [f"c{code}" for code in n.codes]) for n in frame.nets]
    sets.append(("$nets", "Nets", [f"n{n.code}" for n in frame.nets]))
    kept = [s for s in sets if len(s[2]) >= 2]
    left = [s[0] for s in sets if len(s[2]) < 2]
    lines = ["* Encoding: UTF-8.",
             "* ThemeLoop: the multiple-response sets of the codes and nets of " + _comment(sav_name) + ".",
             "* Open the data file first (GET FILE), run this file, then save the data file to keep the sets.",
             "* A respondent nobody coded has every code and net variable system-missing."]
    if left:
        lines.append("* Left out, as a set needs two variables or more: " + " ".join(left) + ".")
    if kept:
        lines.append("MRSETS")
        for name, label, variables in kept:
            lines.append(f"  /MDGROUP NAME={name} LABEL={_quoted(label)} CATEGORYLABELS=VARLABELS VALUE=1")
            lines.append(f"    VARIABLES={_variables(variables)}")
        lines[-1] += "."
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    # A comment ends at a period at the end of a line: the file's name goes in without line breaks.
    return " ".join(text.split()) or "the data file"


def sav_files_render(*, scope: InsightsScope, stem: str) -> dict[str, bytes]:
    """`<stem>.sav` and `<stem>.sps` (the syntax names the data file), from the scope's coded rows."""
    frame = codeframe_build(scope)
    return {f"{stem}.sav": sav_render(frame), f"{stem}.sps": sps_render(frame, sav_name=f"{stem}.sav")
            .encode("utf-8")}
