"""Project exports over the API (members read): coded responses and insights as CSV, XLSX, an HTML report, or SPSS
and Triple-S files (a zip of both files of each) in the request; the PDF report as a job a worker prints (ask,
poll the row, download its file)."""
import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling_app.core.http.users import request_user
from labeling_app.exporting.codeframe_export import CODEFRAME_FORMATS, codeframe_export
from labeling_app.exporting.file_sets import FILE_SETS, ZIP_CONTENT_TYPE, export_files_render, export_zip_render
from labeling_app.exporting.models import ReportExport
from labeling_app.exporting.selectors import report_export_ready, report_exports_of_project
from labeling_app.exporting.services import FORMATS, export_options_parse, export_render, report_export_request
from labeling_app.insights.filters import FILTERS
from labeling_app.insights.selectors.insights import insights_scope_from_params
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Role
from labeling_app.projects.throttles import ThrottledCreateMixin, UserScopedThrottle

# Made in the request (SPSS and Triple-S as a zip of their two files); the PDF is a job (ReportExportsView).
DIRECT_FORMATS = [*(f for f in FORMATS if f != "pdf"), *FILE_SETS]


class ExportView(ProjectScopedMixin, APIView):
    """Coded responses as a file under the insights filters; `format=csv` with source=human re-imports as it is;
    `format=sav` (.sav and .sps) and `format=triple-s` (.sss and .asc) answer a zip of their two files.
    The PDF report is not made here: POST …/reports/ asks a worker for it."""

    read_role = Role.ANALYST
    write_role = Role.ADMIN
    # A workbook costs seconds of a web worker: per-user rate (settings THROTTLE_EXPORTS), 429 past it.
    throttle_classes = [UserScopedThrottle]
    throttle_scope = "exports"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `format` here names the file, not a DRF renderer; errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=DIRECT_FORMATS), *FILTERS,
                    OpenApiParameter("segment", str, description="XLSX segments sheet; the report's comparison"),
                    OpenApiParameter("score", str, description="drivers of this numeric column only"),
                    OpenApiParameter("period", str, enum=["week", "month"], description="XLSX trends")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, project_id: int) -> HttpResponse:
        fmt = request.query_params.get("format", "csv")
        if fmt == "pdf":
            # Chromium printing for seconds inside a request would hold a web server's core: the PDF is a job.
            raise ValidationError(
                "the PDF report is printed by a worker: POST the same parameters to "
                f"{reverse('api-report-exports', args=[self.project.pk])} (202 with the report's row), poll the "
                "row's url until its status is succeeded, then GET its download_url")
        if fmt not in FORMATS and fmt not in FILE_SETS:
            raise ValidationError(f"unknown format {fmt!r}; choose one of {', '.join(DIRECT_FORMATS)}")
        params = dict(request.query_params.lists())
        # Django ValidationErrors (bad format, filter or view parameter) answer 400 through the error handler.
        scope = insights_scope_from_params(project=self.project, params=params)
        stem = slugify(self.project.name) or "project"
        if fmt in FILE_SETS:
            data = export_zip_render(export_files_render(scope=scope, fmt=fmt, stem=stem))
            content_type, name = ZIP_CONTENT_TYPE, f"{stem}-{fmt}.zip"
        else:
            data = export_render(scope=scope, fmt=fmt, options=export_options_parse(params))
            content_type, extension = FORMATS[fmt]
            name = f"{stem}-{fmt}.{extension}"
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class CodeframeView(ProjectScopedMixin, APIView):
    """The project's codeframe as a file (members read): code number, net, name, description, key, archived and
    where a merged or split code went. POST …/codeframe/import/ reads such a file back."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)  # `format` names the file

    @extend_schema(parameters=[OpenApiParameter("format", str, enum=list(CODEFRAME_FORMATS))],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, project_id: int) -> HttpResponse:
        return codeframe_response(project=self.project, fmt=request.query_params.get("format", "xlsx"))


def codeframe_response(*, project: Any, fmt: str) -> HttpResponse:
    """The codeframe file as a download (the API's and the Themes page's)."""
    if fmt not in CODEFRAME_FORMATS:
        raise ValidationError(f"format must be one of {', '.join(CODEFRAME_FORMATS)}")
    content_type, extension = CODEFRAME_FORMATS[fmt]
    response = HttpResponse(codeframe_export(project=project, fmt=fmt), content_type=content_type)
    name = f"{slugify(project.name) or 'project'}-codeframe.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class ReportRequestSerializer(serializers.Serializer):
    """What the PDF report is made of: the insights filters and the report's comparison and drivers columns
    (the same parameters as GET …/export/, in the body)."""

    # A declared field named like Field.source: DRF takes declared fields off the class, so the name is free.
    source = serializers.ChoiceField(["human", "model"], required=False)  # type: ignore[assignment]
    meta = serializers.ListField(child=serializers.CharField(max_length=1000), required=False, max_length=50,
                                 help_text="KEY:VALUE, ANDed")
    date_field = serializers.CharField(required=False, allow_blank=True, max_length=255)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    segment = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                    help_text="the column to compare segments by (default: the first of 2-12 values)")
    score = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                  help_text="drivers of this numeric column (default: the first numeric column)")

    def params(self) -> dict[str, list[str]]:
        """The validated body as query-string lists (what the export and the report services read)."""
        out: dict[str, list[str]] = {}
        for key, value in self.validated_data.items():
            values = value if isinstance(value, list) else [value]
            out[key] = [v.isoformat() if isinstance(v, datetime.date) else str(v)
                        for v in values if v not in (None, "")]
        return out


class ReportExportSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="this row: poll it until status is succeeded or failed")
    download_url = serializers.SerializerMethodField(help_text="the PDF, once printed (null before, and once "
                                                               "deleted after REPORT_RETENTION_HOURS)")

    class Meta:
        model = ReportExport
        fields = ["id", "status", "message", "params", "size", "url", "download_url", "created_at", "started_at",
                  "finished_at", "file_purged_at"]
        read_only_fields = fields

    def get_url(self, job: ReportExport) -> str:
        return reverse("api-report-export", args=[job.project_id, job.pk])

    def get_download_url(self, job: ReportExport) -> str | None:
        return reverse("api-report-export-file", args=[job.project_id, job.pk]) if report_export_ready(job=job) \
            else None


class ReportExportsView(ThrottledCreateMixin, ProjectScopedMixin, generics.ListCreateAPIView):
    """The project's PDF reports; POST asks a worker for one (202 with its row: poll `url`, then `download_url`)."""

    read_role = write_role = Role.ANALYST  # any member may export
    throttle_scope = "exports"
    serializer_class = ReportExportSerializer

    def get_queryset(self) -> QuerySet[ReportExport]:
        return report_exports_of_project(project=self.project)

    @extend_schema(request=ReportRequestSerializer, responses={
        202: OpenApiResponse(ReportExportSerializer, description="Recorded; a worker prints it. The Location "
                                                                 "header is the row to poll.")})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = ReportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # Bad filters or columns are a ValidationError: 400 through the error handler, and nothing is recorded.
        job = report_export_request(project=self.project, user=request_user(request), params=form.params())
        data = ReportExportSerializer(job).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class ReportExportView(ProjectScopedMixin, generics.RetrieveAPIView):
    """One PDF report: its status (pending, running, succeeded, failed), the reason of a failure, its download URL."""

    serializer_class = ReportExportSerializer
    lookup_url_kwarg = "report_id"

    def get_queryset(self) -> QuerySet[ReportExport]:
        return report_exports_of_project(project=self.project)


class ReportNotReady(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the report is not printed yet: poll its row until its status is succeeded"


class ReportGone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "the report's file was deleted (REPORT_RETENTION_HOURS after it was printed): ask for it again"


class ReportExportFileView(ProjectScopedMixin, APIView):
    """The printed PDF of a report (409 while it is not printed, 410 once its file was deleted)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for application/pdf gets the file; errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 409: OpenApiResponse(description=
                              "not printed yet, or failed"), 410: OpenApiResponse(description="file deleted")})
    def get(self, request: Request, project_id: int, report_id: int) -> FileResponse:
        job = generics.get_object_or_404(report_exports_of_project(project=self.project), pk=report_id)
        if job.status == ReportExport.Status.FAILED:
            raise ReportNotReady(f"the report failed, so there is no file: {job.message}")
        if job.status != ReportExport.Status.SUCCEEDED:
            raise ReportNotReady()
        if not report_export_ready(job=job):
            raise ReportGone()
        try:
            handle = job.file.open("rb")
        except FileNotFoundError:  # removed from the media store by hand
            raise ReportGone() from None
        return FileResponse(handle, content_type="application/pdf", as_attachment=True,
                            filename=f"{slugify(self.project.name) or 'project'}-report.pdf")
