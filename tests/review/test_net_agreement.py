"""Agreement at net level (issue 25) equals a hand computation: two NHS coders, one of whom moves some codes to
another code of the same net (the nets still agree) and some to another net; alpha per net from pandas and the
`krippendorff` package, and two coders who differ only inside a net agree on it."""
import random

import krippendorff
import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run
from labeling_app.projects.models import Project
from labeling_app.review.selectors.agreement import agreement_report

pytestmark = pytest.mark.django_db
RESPONDENTS = 400


def _two_coders(nhs_file) -> pd.DataFrame:
    coded = pd.read_csv(nhs_file, dtype=str, keep_default_na=False)
    framework = pd.read_csv(nhs_file.parent / "framework.csv", dtype=str, keep_default_na=False)
    net_of = dict(zip(framework["theme"], framework["category"], strict=True))
    by_net: dict[str, list[str]] = {}
    for theme, net in net_of.items():
        by_net.setdefault(net, []).append(theme)
    ids = sorted(coded["respondent_id"].unique())[:RESPONDENTS]
    rng = random.Random(7)
    rows = []
    for rid, group in coded[coded["respondent_id"].isin(ids)].groupby("respondent_id"):
        text = group["response"].iloc[0]
        for theme in group["theme"]:
            rows.append((rid, text, theme, "ann"))
            roll, twin = rng.random(), theme
            if roll < 0.25 and len(by_net[net_of[theme]]) > 1:  # another code of the same net
                twin = rng.choice([t for t in by_net[net_of[theme]] if t != theme])
            elif roll < 0.35:  # a code of another net
                twin = rng.choice([t for t in net_of if net_of[t] != net_of[theme]])
            rows.append((rid, text, twin, "bob"))
    frame = pd.DataFrame(rows, columns=["respondent_id", "response", "theme", "coder"]).drop_duplicates()
    frame["net"] = frame["theme"].map(net_of)
    return frame


def _alpha(frame: pd.DataFrame, net: str, ids: list[str]) -> float:
    present = frame[frame["net"] == net].groupby("coder")["respondent_id"].agg(set)
    matrix = np.array([[1.0 if rid in present.get(coder, set()) else 0.0 for rid in ids] for coder in ("ann", "bob")])
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


def test_net_alpha_equals_krippendorff_on_nhs_and_differences_inside_a_net_agree(nhs_file):
    frame = _two_coders(nhs_file)
    project = Project.objects.create(name="NHS two coders", question="?")
    # Every theme of the framework under its net (a theme row each), then both coders' codes.
    themes = frame[["theme", "net"]].drop_duplicates()
    head = pd.DataFrame({"respondent_id": "", "response": "", "theme": themes["theme"], "coder": "",
                         "net": themes["net"], "themeloop_row": "theme"})
    body = frame.assign(themeloop_row="response")
    data = pd.concat([head, body])[["respondent_id", "response", "theme", "coder", "net", "themeloop_row"]]
    job = import_file_run(project=project, user=None,
                          upload=SimpleUploadedFile("two.csv", data.to_csv(index=False).encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    report = agreement_report(project=project, n_boot=20)
    ids = sorted(frame["respondent_id"].unique())
    assert report["items"] == len(ids)
    assert len(report["nets"]) == frame["net"].nunique()
    for row in report["nets"]:
        assert row["alpha"] == pytest.approx(_alpha(frame, row["name"], ids), abs=1e-4), row["name"]
    # Net agreement is higher than code agreement: a third of bob's changes stay inside the net.
    assert report["overall_nets"]["alpha_masi"] > report["overall"]["alpha_masi"]


def test_two_coders_who_differ_only_inside_a_net_agree_on_it():
    project = Project.objects.create(name="Inside a net", question="?")
    data = (b"respondent_id,response,theme,coder,net\n"
            b"1,a,Price,ann,Money\n1,a,Fees,bob,Money\n"
            b"2,b,Slow,ann,Service\n2,b,Slow,bob,Service\n"
            b"3,c,Fees,ann,Money\n3,c,Price,bob,Money\n"
            b"4,d,Slow,ann,Service\n4,d,Rude,bob,Service\n")
    job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("f.csv", data))
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors
    report = agreement_report(project=project, n_boot=20)
    nets = {row["name"]: row for row in report["nets"]}
    assert nets["Money"]["percent"] == 1.0 and nets["Service"]["percent"] == 1.0
    assert {row["name"]: row["percent"] for row in report["themes"]}["Price"] == 0.5
