"""SPSS and Triple-S exports read back by real readers: PSPP runs the .sav with the .sps and counts every code and
net, and a Triple-S XML reader (triple-s-survey) reads the .sss and the .asc it names; both give ThemeLoop's own
counts (the insights prevalence, the wide CSV)."""
import csv
import io
import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pyreadstat
import pytest
import triple_s
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from labeling_app.exporting.sav_export import sav_files_render, spss_name_make
from labeling_app.exporting.services import codeframe_build, wide_csv_export
from labeling_app.exporting.triple_s_export import spread_field_render, triple_s_files_render
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.insights.selectors.insights import InsightsScope, prevalence
from labeling_app.projects.models import Project
from labeling_app.themes.models import Net, Theme
from tests.factories import ResponseFactory

# Codes under three nets (Cost, Service; "Life" holds one code, so it makes no MR set of its own), one code with
# no net, a live code nobody has, an archived one (left out), uncoded respondents (R4, R7), one coded with no
# theme (R9), texts with accents, a number column and a metadata column named like a code variable.
SOURCE = """respondent_id,response,theme,net,plan,NPS score,city,c1,themeloop_row
,,Unused,Service d'été,,,,,theme
,,Old code,,,,,,archived_theme
R1,Too dear,Price,Cost,Basic,7,Zürich,x,response
R1,Too dear,Fees,Cost,Basic,7,Zürich,x,response
R2,Late box,Delivery,Service d'été,Family,3.5,Leeds,y,response
R2,Late box,Support,Service d'été,Family,3.5,Leeds,y,response
R3,Rude agent,Support,Service d'été,Basic,5,Leeds,,response
R4,Fine really,,,Family,,Paris,,response
R5,Slow app,Speed,,Basic,9,Paris,,response
R6,Everything,Price,Cost,Family,-2,Zürich,,response
R6,Everything,Delivery,Service d'été,Family,-2,Zürich,,response
R6,Everything,Qualité d'accueil,Service d'été,Family,-2,Zürich,,response
R7,Not sure,,,Basic,4,Leeds,,response
R8,Moving away,Moving,Life,Basic,10,Leeds,,response
R9,Nothing to say,,,Basic,1,Leeds,,coded_no_theme
"""
UNCODED = {"R4", "R7"}


@pytest.fixture
def coded_project(db) -> Project:
    project = Project.objects.create(name="Codeframe survey")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", SOURCE.encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    return project


@pytest.fixture
def pspp() -> str:
    """PSPP's path; CI installs it (.ci/run), so there a missing PSPP fails instead of skipping."""
    found = shutil.which("pspp")
    if found is None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("pspp is missing (Debian package pspp) and this is CI")
        pytest.skip("pspp is not installed (Debian package pspp)")
    return found


def _expected(project: Project) -> tuple[int, dict[int, int], dict[int, int]]:
    """ThemeLoop's own counts: coded respondents and each code's (the insights prevalence), each net's (the wide
    CSV: respondents with any of the net's codes, once)."""
    scope = InsightsScope(project=project)
    prev = prevalence(scope=scope)
    code_of = dict(Theme.objects.filter(project=project).values_list("id", "code"))
    codes = {code_of[t["theme_id"]]: t["count"] for t in prev["themes"]}
    wide = list(csv.DictReader(io.StringIO(wide_csv_export(scope).decode())))
    theme_names = {t.name: t.code for t in Theme.objects.filter(project=project, archived=False)}
    assert codes == {code: sum(r[name] == "1" for r in wide) for name, code in theme_names.items()}
    nets = {net.code: sum(any(r.get(name) == "1" for name in net.themes.values_list("name", flat=True))
                          for r in wide)
            for net in Net.objects.filter(project=project)}
    return prev["respondents"], codes, nets


def _pspp_tables(path: Path) -> dict[str, list[list[str]]]:
    """PSPP's CSV output as {table title: rows}."""
    tables: dict[str, list[list[str]]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = block.strip("\n").split("\n", 1)
        if lines[0].startswith("Table: ") and len(lines) == 2:
            tables[lines[0].removeprefix("Table: ")] = list(csv.reader(io.StringIO(lines[1])))
    return tables


@pytest.mark.django_db
def test_pspp_reads_the_sav_and_sps_to_themeloops_counts(coded_project, pspp, tmp_path):
    project = coded_project
    for name, data in sav_files_render(scope=InsightsScope(project=project), stem="survey").items():
        (tmp_path / name).write_bytes(data)
    respondents, codes, nets = _expected(project)
    assert respondents == 7 and codes[Theme.objects.get(project=project, name="Unused").code] == 0
    variables = [f"c{c}" for c in codes] + [f"n{n}" for n in nets]
    (tmp_path / "check.sps").write_text(
        "SET TVARS=NAMES TNUMBERS=VALUES.\n"
        f"GET FILE='{tmp_path / 'survey.sav'}'.\n"
        f"INSERT FILE='{tmp_path / 'survey.sps'}'.\n"
        "MRSETS /DISPLAY NAME=ALL.\n"
        f"FREQUENCIES VARIABLES={' '.join(variables)} /STATISTICS=NONE.\n", encoding="utf-8")
    run = subprocess.run([pspp, "-O", "format=csv", "-o", str(tmp_path / "out.csv"), str(tmp_path / "check.sps")],
                         capture_output=True, text=True, timeout=120, check=False)
    said = run.stdout + run.stderr + (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert run.returncode == 0 and "error" not in said.lower() and "warning" not in said.lower(), said
    tables = _pspp_tables(tmp_path / "out.csv")
    for variable in variables:
        rows = tables[variable]
        counted = {row[1]: int(row[2]) for row in rows if row[1] in ("0", "1", ".")}
        expected = codes[int(variable[1:])] if variable[0] == "c" else nets[int(variable[1:])]
        assert counted.get("1", 0) == expected, (variable, rows)
        # Respondents nobody coded are system-missing, not "not mentioned".
        assert counted.get("0", 0) + counted.get("1", 0) == respondents and counted["."] == len(UNCODED)
    net_codes = {net.code: sorted(f"c{t.code}" for t in net.themes.all())
                 for net in Net.objects.filter(project=project)}
    sets = {row[0]: (row[1], row[3], sorted(row[4].split("\n"))) for row in tables["Multiple Response Sets"][1:]}
    life = Net.objects.get(project=project, name="Life").code
    assert sets == {
        "$codes": ("Codes", "1", sorted(f"c{c}" for c in codes)),
        **{f"$net{n.code}": (n.name, "1", net_codes[n.code])
           for n in Net.objects.filter(project=project) if n.code != life},
        "$nets": ("Nets", "1", sorted(f"n{n}" for n in nets)),
    }
    assert f"$net{life}" in (tmp_path / "survey.sps").read_text(encoding="utf-8").split("Left out")[1]


@pytest.mark.django_db
def test_the_sav_dictionary_labels_missing_values_and_numbers(coded_project, tmp_path):
    files = sav_files_render(scope=InsightsScope(project=coded_project), stem="survey")
    (tmp_path / "survey.sav").write_bytes(files["survey.sav"])
    data, meta = pyreadstat.read_sav(str(tmp_path / "survey.sav"))
    price = Theme.objects.get(project=coded_project, name="Price").code
    cost = Net.objects.get(project=coded_project, name="Cost").code
    # Metadata columns follow the stored metadata's key order (PostgreSQL's jsonb orders keys its own way).
    assert data.columns[0] == "respid" and data.columns[5] == "label_source"
    assert set(data.columns[1:5]) == {"plan", "NPS_score", "city", "c1_2"}
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert (labels["NPS_score"], labels["c1_2"], labels[f"c{price}"], labels[f"n{cost}"]) == (
        "NPS score", "c1", "Price", "Cost")
    assert meta.variable_value_labels[f"c{price}"] == {0: "not mentioned", 1: "mentioned"}
    assert meta.variable_value_labels["label_source"][0] == "not coded"
    assert any("system-missing" in line for line in meta.notes)
    rows = data.set_index("respid")
    assert rows.loc["R1", "city"] == "Zürich" and rows.loc["R2", "NPS_score"] == 3.5
    assert math.isnan(rows.loc["R4", "NPS_score"]) and meta.original_variable_types["NPS_score"] == "F4.1"
    for uncoded in UNCODED:
        assert rows.loc[uncoded, "label_source"] == 0 and math.isnan(rows.loc[uncoded, f"c{price}"])
        assert math.isnan(rows.loc[uncoded, f"n{cost}"])
    # Coded with no theme: 0 everywhere, not missing; a net counts a respondent with two of its codes once.
    assert rows.loc["R9", "label_source"] == 1 and rows.loc["R9", f"c{price}"] == 0
    assert rows.loc["R1", f"n{cost}"] == 1 and rows.loc["R1", f"c{price}"] == 1


@pytest.mark.django_db
def test_a_triple_s_reader_reads_the_sss_and_its_data_to_themeloops_counts(coded_project, tmp_path):
    project = coded_project
    files = triple_s_files_render(scope=InsightsScope(project=project), stem="survey")
    assert list(files) == ["survey.sss", "survey.asc"]
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    root = ET.fromstring(files["survey.sss"])
    assert root.tag == "sss" and root.get("version") == "2.0" and root.find("survey/title").text == project.name
    record = root.find("survey/record")
    assert (record.get("ident"), record.get("href")) == ("A", "survey.asc")
    survey = triple_s.read_triple_s(str(tmp_path / "survey.sss"), str(tmp_path / record.get("href")))
    respondents, codes, nets = _expected(project)
    ids = [v.strip() for v in survey.get_question("RESPID").to_pandas().tolist()]
    chosen = dict(zip(ids, survey.get_question("CODES").to_pandas().tolist(), strict=True))
    in_nets = dict(zip(ids, survey.get_question("NETS").to_pandas().tolist(), strict=True))
    assert {r for r, c in chosen.items() if c is None} == UNCODED == {r for r, n in in_nets.items() if n is None}
    assert sum(c is not None for c in chosen.values()) == respondents
    assert {code: sum(code in (c or []) for c in chosen.values()) for code in codes} == codes
    assert {net: sum(net in (n or []) for n in in_nets.values()) for net in nets} == nets
    assert chosen["R9"] == [] and in_nets["R9"] == []
    # The values carry the codeframe's numbers and names; metadata comes back as written, accents included.
    values = {int(v.get("code")): v.text for v in root.find("survey/record/variable[name='CODES']/values")}
    assert values == {t.code: t.name for t in Theme.objects.filter(project=project, archived=False)}
    city = dict(zip(ids, (v.strip() for v in survey.get_question("city").to_pandas().tolist()), strict=True))
    assert city["R1"] == "Zürich" and city["R4"] == "Paris"
    sources = dict(zip(ids, survey.get_question("SOURCE").to_pandas().tolist(), strict=True))
    assert sources["R1"] == 1 and all(math.isnan(sources[r]) for r in UNCODED)


def test_spread_fields_and_names():
    assert spread_field_render(frozenset({12, 3}), subfields=3, width=2) == "031200"
    assert spread_field_render(frozenset(), subfields=2, width=2) == "0000"
    assert spread_field_render(None, subfields=2, width=2) == "    "
    taken = {"RESPID", "C1"}
    assert [spss_name_make(t, taken) for t in ("c1", "2nd wave", "Région", "BY", "c1", "")] == [
        "c1_2", "v_2nd_wave", "Region", "BY_v", "c1_3", "v"]


@pytest.mark.django_db
def test_a_codeframe_follows_the_filters_and_the_csv_rows(coded_project):
    frame = codeframe_build(InsightsScope(project=coded_project, meta=(("plan", "Family"),)))
    assert [r.respondent_id for r in frame.respondents] == ["R2", "R4", "R6"]
    assert frame.numeric_keys == {"NPS score"}
    assert "Old code" not in [c.name for c in frame.codes] and "Unused" in [c.name for c in frame.codes]
    assert [n.name for n in frame.nets] == list(Net.objects.filter(project=coded_project).order_by("order", "id")
                                                .values_list("name", flat=True))


@pytest.mark.django_db
def test_the_command_writes_both_files_of_each_format(coded_project, tmp_path, capsys):
    call_command("export_responses", str(tmp_path / "out.sav"), project=coded_project.name, format="sav")
    call_command("export_responses", str(tmp_path / "out.sss"), project=coded_project.name, format="triple-s",
                 meta=["plan:Basic"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.asc", "out.sav", "out.sps", "out.sss"]
    assert capsys.readouterr().out.count("wrote ") == 4
    assert 'href="out.asc"' in (tmp_path / "out.sss").read_text(encoding="utf-8")
    assert len((tmp_path / "out.asc").read_bytes().splitlines()) == 6  # the Basic plan's respondents


@pytest.mark.django_db
def test_the_api_answers_a_zip_of_both_files(prepare_project):
    client = prepare_project.client("analyst")
    url = reverse("api-export", args=[prepare_project.project.pk])
    for fmt, members in (("sav", ["cancellations.sav", "cancellations.sps"]),
                         ("triple-s", ["cancellations.sss", "cancellations.asc"])):
        response = client.get(url, {"format": fmt})
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == f'attachment; filename="cancellations-{fmt}.zip"'
        assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == members
    assert prepare_project.client("outsider").get(url, {"format": "sav"}).status_code == 404


@pytest.mark.django_db
def test_a_project_without_codes_or_respondents_still_exports(tmp_path):
    project = Project.objects.create(name="Empty")
    ResponseFactory(project=project, respondent_id="A\n1", metadata={"note": "é" * 300})
    for name, data in {**sav_files_render(scope=InsightsScope(project=project), stem="e"),
                       **triple_s_files_render(scope=InsightsScope(project=project), stem="e")}.items():
        (tmp_path / name).write_bytes(data)
    assert "MRSETS" not in (tmp_path / "e.sps").read_text(encoding="utf-8")
    data, _ = pyreadstat.read_sav(str(tmp_path / "e.sav"))
    assert list(data.columns) == ["respid", "note", "label_source"] and data.loc[0, "note"] == "é" * 300
    survey = triple_s.read_triple_s(str(tmp_path / "e.sss"), str(tmp_path / "e.asc"))
    assert survey.get_question("CODES") is None and survey.get_question("RESPID").to_pandas().tolist() == ["A 1"]
    nobody = Project.objects.create(name="Nobody")
    assert sav_files_render(scope=InsightsScope(project=nobody), stem="n")["n.sav"]
    assert triple_s_files_render(scope=InsightsScope(project=nobody), stem="n")["n.asc"] == b""
