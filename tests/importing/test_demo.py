"""The NHS demo's reduced file: a seeded sample of pool respondents keeps its themes, the rest come uncoded."""
import csv

import pytest

from labeling_app.importing.demo import nhs_demo_rows


@pytest.fixture
def nhs_dir(nhs_file):
    return nhs_file.parent


def _file(nhs_dir):
    with (nhs_dir / "coded_responses.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with (nhs_dir / "split.csv").open(newline="", encoding="utf-8") as fh:
        split = {r["respondent_id"]: r["split"] for r in csv.DictReader(fh)}
    return rows, split


def test_only_the_sample_keeps_its_themes_and_everyone_is_there(nhs_dir):
    rows, split = _file(nhs_dir)
    header, reduced, theme_names = nhs_demo_rows(data_dir=nhs_dir, coded=300, seed=8)
    assert header[:3] == ["respondent_id", "response", "theme"]
    coded = {r[0] for r in reduced if r[2]}
    assert len(coded) == 300
    assert {split[r] for r in coded} == {"pool"}  # never a benchmark test answer
    assert {r[0] for r in reduced} == {r["respondent_id"] for r in rows}
    uncoded = [r for r in reduced if not r[2]]
    assert len(uncoded) == len({r["respondent_id"] for r in rows}) - 300  # one row each, no theme
    themes_in_file = {}
    for r in rows:
        themes_in_file.setdefault(r["respondent_id"], set()).add(r["theme"])
    for respondent in coded:
        assert {r[2] for r in reduced if r[0] == respondent} == themes_in_file[respondent]
    assert theme_names == list(dict.fromkeys(r["theme"] for r in rows))
    assert len(theme_names) == 45


def test_the_sample_is_the_same_every_time_and_follows_the_seed(nhs_dir):
    def sample(seed):
        return {r[0] for r in nhs_demo_rows(data_dir=nhs_dir, coded=300, seed=seed)[1] if r[2]}

    assert sample(8) == sample(8)
    assert sample(8) != sample(9)
