"""Exports made of several files: SPSS (`.sav` data, `.sps` syntax with the multiple-response sets) and Triple-S
XML 2.0 (`.sss` metadata, `.asc` data). The command writes the files side by side; the API answers a zip of them."""
from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from django.core.exceptions import ValidationError

from labeling_app.exporting.sav_export import sav_files_render
from labeling_app.exporting.triple_s_export import triple_s_files_render
from labeling_app.insights.selectors.insights import InsightsScope

#: format -> what writes its files (each takes the scope and the files' common stem, returns name -> content)
FILE_SETS: dict[str, Callable[..., dict[str, bytes]]] = {"sav": sav_files_render, "triple-s": triple_s_files_render}
ZIP_CONTENT_TYPE = "application/zip"


def export_files_render(*, scope: InsightsScope, fmt: str, stem: str) -> dict[str, bytes]:
    """The files of a FILE_SETS format, named `<stem>.<extension>`; ValidationError for another format."""
    render = FILE_SETS.get(fmt)
    if render is None:
        raise ValidationError(f"{fmt!r} is not a format of several files; choose one of {', '.join(FILE_SETS)}")
    return render(scope=scope, stem=stem)


def export_zip_render(files: dict[str, bytes]) -> bytes:
    """The files as one zip (deflated), in the order given."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
