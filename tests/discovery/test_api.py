"""Cluster edits over the API: an empty PATCH is a 400 in the one error shape, not a 500."""
import pytest

from labeling_app.discovery.models import Cluster, ClusterAction, DiscoveryRun


@pytest.fixture
def cluster(prepare_project):
    run = DiscoveryRun.objects.create(project=prepare_project.project, status=DiscoveryRun.Status.SUCCEEDED)
    return Cluster.objects.create(run=run, name="Too expensive", size=3)


@pytest.mark.django_db
def test_an_empty_patch_is_refused_with_the_error_shape(prepare_project, cluster):
    url = f"/api/projects/{prepare_project.project.pk}/clusters/{cluster.pk}/"
    answer = prepare_project.client("analyst").patch(url, {}, format="json")
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert set(body) == {"message", "details"}
    assert "name" in body["message"] and "dismissed" in body["message"]
    cluster.refresh_from_db()
    assert (cluster.name, cluster.dismissed) == ("Too expensive", False)
    assert not ClusterAction.objects.exists()


@pytest.mark.django_db
def test_patch_renames_and_dismisses(prepare_project, cluster):
    url = f"/api/projects/{prepare_project.project.pk}/clusters/{cluster.pk}/"
    client = prepare_project.client("analyst")
    assert client.patch(url, {"name": "Price"}, format="json").json()["name"] == "Price"
    assert client.patch(url, {"dismissed": True}, format="json").json()["dismissed"] is True
    assert ClusterAction.objects.filter(run=cluster.run).count() == 2
