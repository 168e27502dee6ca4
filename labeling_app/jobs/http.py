"""Creates that queue a background job: 202 Accepted with the saved row while the job queue is unavailable."""
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from labeling_app.jobs.selectors import job_waiting_for_broker


def queued_create_responses(serializer: Any, what: str) -> dict[int, Any]:
    """The documented answers of a queued create: 201, or 202 when the job waits for the broker."""
    return {
        201: serializer,
        202: OpenApiResponse(serializer, description=f"Saved, but the job queue is unavailable: the {what} starts "
                                                     "by itself once it is back (do not resend)."),
    }


class QueuedCreateMixin:
    """Answers a create with 202 instead of 201 when the job it asked for waits in the outbox (broker down).

    The row is saved either way, so a client must not resend: it would make a duplicate. `job_task` is the
    task's name and `job_id_kwarg` the keyword the new row's id is sent under.
    """

    job_task: str
    job_id_kwarg: str

    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().post(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == status.HTTP_201_CREATED and job_waiting_for_broker(
                task_name=self.job_task, **{self.job_id_kwarg: response.data["id"]}):
            response.status_code = status.HTTP_202_ACCEPTED
        return response
