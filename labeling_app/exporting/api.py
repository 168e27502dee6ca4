"""Project exports over the API: coded responses and insights as CSV, XLSX or a report (members read)."""
from typing import Any

from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from labeling_app.exporting.services import FORMATS, export_options_parse, export_render
from labeling_app.insights.api import FILTERS
from labeling_app.insights.selectors.insights import insights_scope_from_params
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.api.auth import UserScopedThrottle
from labeling_app.projects.models import Role


class ExportView(ProjectScopedMixin, APIView):
    """Coded responses as a file under the insights filters; `format=csv` with source=human re-imports as it is."""

    read_role = Role.ANALYST
    write_role = Role.ADMIN
    # A report or workbook costs seconds of a worker: per-user rate (settings THROTTLE_EXPORTS), 429 past it.
    throttle_classes = [UserScopedThrottle]
    throttle_scope = "exports"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `format` here names the file, not a DRF renderer; errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(FORMATS)), *FILTERS,
                    OpenApiParameter("segment", str, description="XLSX segments sheet; the report's comparison"),
                    OpenApiParameter("score", str, description="drivers of this numeric column only"),
                    OpenApiParameter("period", str, enum=["week", "month"], description="XLSX trends")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, project_id: int) -> HttpResponse:
        fmt = request.query_params.get("format", "csv")
        params = dict(request.query_params.lists())
        # Django ValidationErrors (bad format, filter or view parameter) answer 400 through the error handler.
        scope = insights_scope_from_params(project=self.project, params=params)
        data = export_render(scope=scope, fmt=fmt, options=export_options_parse(params))
        content_type, extension = FORMATS[fmt]
        name = f"{slugify(self.project.name) or 'project'}-{fmt}.{extension}"
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
