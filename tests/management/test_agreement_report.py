"""Importing a team's double-coded spreadsheet (a `coder` column) and reporting its agreement."""
import csv
import io
import random

import krippendorff
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from labeling_app.importing.services import import_file_run
from labeling_app.labeling.models import Annotation
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
THEMES = ["Price", "Delivery", "Quality", "Support"]
CODERS = ["Ruth", "Sam", "Tariq"]


def _double_coded_file(seed: int = 7) -> tuple[bytes, dict[tuple[str, str], set[str]]]:
    """40 respondents; each coded by two or three of the coders (some skip), who mostly agree."""
    rng = random.Random(seed)
    rows, truth = [], {}
    for i in range(40):
        base = {t for t in THEMES if rng.random() < 0.3}
        coders = rng.sample(CODERS, rng.choice([2, 2, 3]))
        for coder in coders:
            given = {t for t in THEMES if (t in base) != (rng.random() < 0.15)}
            truth[(f"R{i}", coder)] = given
            for theme in sorted(given) or [""]:
                rows.append([f"R{i}", f"answer {i}: =not a formula", theme, coder, "web" if i % 2 else "app"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["respondent_id", "response", "theme", "coder", "channel"])
    writer.writerows(rows)
    return out.getvalue().encode(), truth


def test_a_coder_column_gives_the_coders_and_their_annotations():
    data, truth = _double_coded_file()
    project = ProjectFactory(name="Team file")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("team.csv", data))
    assert job.status == "succeeded", job.message
    assert job.summary == f"imported 40 responses, 4 themes, {sum(len(t) for t in truth.values())} labels"
    current = Annotation.objects.filter(response__project=project, is_current=True).select_related("coder", "response")
    got = {(a.response.respondent_id, a.coder.first_name): {t.name for t in a.themes.all()} for a in current}
    assert got == truth  # every coder's set, empty ones included
    assert {a.coder.is_active for a in current} == {False}  # identities, not logins
    assert project.responses.filter(is_overlap=True).count() == 40
    assert project.responses.first().metadata == {"channel": "app"}


def test_agreement_report_prints_the_krippendorff_packages_figures(tmp_path):
    data, truth = _double_coded_file()
    project = ProjectFactory(name="Team file")
    import_file_run(project=project, user=None, upload=SimpleUploadedFile("team.csv", data))
    out = io.StringIO()
    call_command("agreement_report", "--project", "Team file", "--csv", str(tmp_path / "a.csv"), stdout=out)
    lines = out.getvalue().strip().splitlines()
    printed = {}
    for line in lines[:-1]:
        fields = dict(part.split("=", 1) for part in line.split(" "))
        printed[fields["theme"]] = (float(fields["alpha"]), int(fields["items"]))
    respondents = sorted({r for r, _ in truth}, key=lambda r: int(r[1:]))
    for theme in THEMES:
        reliability = np.full((len(CODERS), len(respondents)), np.nan)
        for (r, coder), given in truth.items():
            reliability[CODERS.index(coder), respondents.index(r)] = float(theme in given)
        expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
        assert printed[theme][0] == pytest.approx(expected, abs=1e-4), theme
        assert printed[theme][1] == 40
    assert lines[-1].startswith("items=40 coders=3 alpha_masi=")
    written = (tmp_path / "a.csv").read_text().splitlines()
    assert written[0].startswith("theme,alpha,") and len(written) > len(THEMES)


def test_agreement_report_for_an_unknown_project_fails_clearly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no project named"):
        call_command("agreement_report", "--project", "Nope")
