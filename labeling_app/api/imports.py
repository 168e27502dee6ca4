from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from labeling_app.api.access import ProjectScopedMixin
from labeling_app.api.auth import ThrottledCreateMixin
from labeling_app.api.users import request_user
from labeling_app.models import ImportJob
from labeling_app.selectors.jobs import job_waiting_for_broker
from labeling_app.services.imports import import_job_create
from labeling_app.services.progress import progress_get


class ImportJobSerializer(serializers.ModelSerializer):
    file = serializers.FileField(write_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = ["id", "file", "original_name", "status", "progress", "message", "errors",
                  "responses_created", "themes_created", "themes_in_file", "labels_created",
                  "created_at", "started_at", "finished_at", "file_purged_at"]
        read_only_fields = [f for f in fields if f != "file"]

    def get_progress(self, job: ImportJob) -> int:
        return job.progress if job.is_finished else progress_get(kind="import", job_id=job.pk)


class ImportListCreateView(ThrottledCreateMixin, ProjectScopedMixin, generics.ListCreateAPIView):
    """Upload a CSV/XLSX file (multipart field `file`) to import; poll the job for its progress."""

    throttle_scope = "imports"
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[ImportJob]:
        return self.project.import_jobs.all()

    @extend_schema(responses={
        201: ImportJobSerializer,
        202: OpenApiResponse(ImportJobSerializer, description="Saved, but the job queue is unavailable: the import "
                                                               "starts by itself once it is back (do not resend)."),
    })
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        from labeling_app.tasks.imports import import_run

        response = super().post(request, *args, **kwargs)
        if response.status_code == status.HTTP_201_CREATED and job_waiting_for_broker(
                task_name=import_run.name, import_job_id=response.data["id"]):
            response.status_code = status.HTTP_202_ACCEPTED
        return response

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = import_job_create(
            project=self.project, user=request_user(self.request), upload=serializer.validated_data["file"]
        )


class ImportDetailView(ProjectScopedMixin, generics.RetrieveAPIView):
    """One import job: status, progress, the summary or every error found."""

    serializer_class = ImportJobSerializer
    lookup_url_kwarg = "import_id"

    def get_queryset(self) -> QuerySet[ImportJob]:
        return self.project.import_jobs.all()
