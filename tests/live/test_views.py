"""The event stream view under ASGI (as production serves it): an async stream, members only."""
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.urls import reverse


@pytest.mark.worker
@pytest.mark.django_db
@pytest.mark.parametrize("who", ["analyst", "outsider", "anonymous"])
def test_event_stream_under_asgi(who, prepare_project):
    url = reverse("project-events", kwargs={"project_id": prepare_project.project.pk})

    async def scenario():
        client = AsyncClient()
        if who != "anonymous":
            await client.aforce_login(prepare_project.user(who))
        response = await client.get(url)
        if response.status_code != 200:
            return response, []
        content = response.streaming_content
        try:
            return response, [await anext(content), await anext(content)]
        finally:
            await content.aclose()

    response, frames = async_to_sync(scenario)()
    if who == "outsider":
        assert response.status_code == 404
    elif who == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    else:
        # An async stream: waiting for events holds no thread under ASGI.
        assert response.status_code == 200 and response.is_async
        assert response["Content-Type"] == "text/event-stream"
        assert frames[0] == b"retry: 1000\n\n"
        assert frames[1].startswith(b"event: model\n") and b'"model": null' in frames[1]


@pytest.mark.worker
@pytest.mark.django_db
def test_a_removed_member_stops_receiving_events(prepare_project, django_capture_on_commit_callbacks):
    """A member removed while their page is open gets no further event: the stream ends instead."""
    from django.test import Client

    from labeling_app.modeling.models import ModelVersion
    from labeling_app.modeling.services.model_events import model_event_publish
    from labeling_app.projects.services.members import member_remove

    project = prepare_project.project
    client = Client()
    client.force_login(prepare_project.analyst)
    response = client.get(reverse("project-events", kwargs={"project_id": project.pk}))
    stream = iter(response.streaming_content)
    assert next(stream) == b"retry: 1000\n\n"
    assert next(stream).startswith(b"event: model\n")
    version = ModelVersion.objects.create(project=project, number=1, status=ModelVersion.Status.READY)
    model_event_publish(version=version)
    assert next(stream).startswith(b"event: model\n")  # still a member: the event arrives
    other = project.memberships.get(user=prepare_project.analyst2)
    with django_capture_on_commit_callbacks(execute=True):
        member_remove(membership=other)  # someone else leaving changes nothing for this page
    model_event_publish(version=version)
    assert next(stream).startswith(b"event: model\n")
    with django_capture_on_commit_callbacks(execute=True):
        member_remove(membership=project.memberships.get(user=prepare_project.analyst))
    model_event_publish(version=version)
    with pytest.raises(StopIteration):
        next(stream)
