"""Project exports over the API: coded responses as long CSV, wide CSV or XLSX (members read)."""
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from labeling_app.api.access import ProjectScopedMixin
from labeling_app.models import Role
from labeling_app.services.exports import FORMATS, export_render, export_scope_from_params


class ExportView(ProjectScopedMixin, APIView):
    """Resolved human labels as a file; `format=csv` re-imports into ThemeLoop as it is."""

    read_role = Role.ANALYST
    write_role = Role.ADMIN

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `format` here names the file, not a DRF renderer; errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(FORMATS)),
                    OpenApiParameter("meta", str, many=True, description="KEY:VALUE metadata filter")],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, project_id: int) -> HttpResponse:
        fmt = request.query_params.get("format", "csv")
        try:
            scope = export_scope_from_params(project=self.project, params=dict(request.query_params.lists()))
            data = export_render(scope=scope, fmt=fmt)
        except DjangoValidationError as exc:
            raise ValidationError({"format": exc.messages}) from exc
        content_type, extension = FORMATS[fmt]
        name = f"{slugify(self.project.name) or 'project'}-{fmt}.{extension}"
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
