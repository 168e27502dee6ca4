"""`meta=KEY:VALUE` filters on a column whose name holds ':' itself (issue 26): the insights views and the list
of responses both match KEY against the project's column names."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.core.metadata import meta_item_split
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_file_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def colon_project(prepare_project):
    rows = ["respondent_id,response,theme,q1:age,plan"]
    rows += [f"C{i},answer {i},Price,{'18-24' if i < 3 else '25:34'},basic" for i in range(5)]
    job = import_file_run(project=prepare_project.project, user=None,
                          upload=SimpleUploadedFile("colon.csv", "\n".join(rows).encode()))
    assert job.status == ImportJob.Status.SUCCEEDED, job.message
    return prepare_project


def test_insights_filter_on_a_column_named_with_a_colon(colon_project):
    client = colon_project.client("analyst")
    url = f"/api/projects/{colon_project.project.pk}/insights/prevalence/"
    young = client.get(url, {"meta": "q1:age:18-24"})
    assert young.status_code == 200, young.content
    assert young.json()["respondents"] == 3
    older = client.get(url, {"meta": ["q1:age:25:34", "plan:basic"]})
    assert older.status_code == 200 and older.json()["respondents"] == 2
    assert client.get(url, {"meta": "q1:nope:x"}).status_code == 400


def test_the_responses_list_filters_on_a_column_named_with_a_colon(colon_project):
    client = colon_project.client("analyst")
    url = f"/api/projects/{colon_project.project.pk}/responses/"
    young = client.get(url, {"meta": "q1:age:18-24"})
    assert young.status_code == 200, young.content
    assert sorted(r["respondent_id"] for r in young.json()["results"]) == ["C0", "C1", "C2"]
    older = client.get(url, {"meta": "q1:age:25:34"})
    assert sorted(r["respondent_id"] for r in older.json()["results"]) == ["C3", "C4"]
    assert client.get(url, {"meta": "plan:basic"}).json()["count"] == 5


def test_the_longest_known_column_wins_and_an_unknown_one_splits_at_the_first_colon():
    assert meta_item_split("a:b:c", ["a", "a:b"]) == ("a:b", "c")
    assert meta_item_split("a:b:c", ["a"]) == ("a", "b:c")
    assert meta_item_split("a:b:c", []) == ("a", "b:c")
    assert meta_item_split("plain", ["plain"]) is None
