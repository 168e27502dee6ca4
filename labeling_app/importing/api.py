from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling_app.core.http.users import request_user
from labeling_app.core.progress import progress_get
from labeling_app.importing.codeframes.services import MAX_CODEFRAME_BYTES, codeframe_import
from labeling_app.importing.models import ImportJob
from labeling_app.importing.services import import_job_create
from labeling_app.jobs.http import QueuedCreateMixin, queued_create_responses
from labeling_app.jobs.registry import TASK_IMPORT_RUN
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.throttles import ThrottledCreateMixin


class ImportJobSerializer(serializers.ModelSerializer):
    file = serializers.FileField(write_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = ["id", "file", "wave", "original_name", "status", "progress", "message", "errors",
                  "responses_created", "themes_created", "themes_in_file", "labels_created",
                  "created_at", "started_at", "finished_at", "file_purged_at"]
        read_only_fields = [f for f in fields if f not in ("file", "wave")]

    def get_progress(self, job: ImportJob) -> int:
        return job.progress if job.is_finished else progress_get(kind="import", job_id=job.pk)


@extend_schema_view(post=extend_schema(responses=queued_create_responses(ImportJobSerializer, "import")))
class ImportListCreateView(QueuedCreateMixin, ThrottledCreateMixin, ProjectScopedMixin, generics.ListCreateAPIView):
    """Upload a CSV/XLSX file (multipart field `file`) to import; poll the job for its progress."""

    job_task, job_id_kwarg = TASK_IMPORT_RUN, "import_job_id"
    throttle_scope = "imports"
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[ImportJob]:
        return self.project.import_jobs.all()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = import_job_create(
            project=self.project, user=request_user(self.request), upload=serializer.validated_data["file"],
            wave=serializer.validated_data.get("wave", ""),
        )


class ImportDetailView(ProjectScopedMixin, generics.RetrieveAPIView):
    """One import job: status, progress, the summary or every error found."""

    serializer_class = ImportJobSerializer
    lookup_url_kwarg = "import_id"

    def get_queryset(self) -> QuerySet[ImportJob]:
        return self.project.import_jobs.all()


class CodeframeFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX with the columns of GET …/codeframe/ (name required)")


class CodeframeImportView(ProjectScopedMixin, APIView):
    """Admins apply a codeframe file to the project's theme set: its new codes are added with their numbers and
    nets, codes the project has take its net, description, key and archived state. Whole or nothing: a 400 lists
    every problem (a number the project gives another name, a repeated code, a bad key)."""

    read_role = write_role = "admin"
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": CodeframeFileSerializer},
                   responses={200: {"type": "object", "properties": {"created": {"type": "integer"},
                                                                      "updated": {"type": "integer"}}}})
    def post(self, request: Request, project_id: int) -> Response:
        body = CodeframeFileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if (upload.size or 0) > MAX_CODEFRAME_BYTES:
            raise serializers.ValidationError({"file": f"a codeframe file is at most {MAX_CODEFRAME_BYTES:,} bytes"})
        return Response(codeframe_import(project=self.project, data=upload.read(), filename=upload.name))
