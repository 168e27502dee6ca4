"""The model's own coding over the API: the auto-code gate's preview, confirming and undoing it, the blind check."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from labeling_app.core.http.users import request_user
from labeling_app.modeling.selectors.autocode import DEFAULT_TARGET, MAX_TARGET, MIN_TARGET, autocode_preview
from labeling_app.modeling.services.autocode import (
    QC_DEFAULT_SIZE,
    QC_MAX_SIZE,
    autocode_apply,
    autocode_qc_draw,
    autocode_undo,
)
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Role
from labeling_app.review.selectors.autocode_check import autocode_check


class TargetSerializer(serializers.Serializer):
    target = serializers.FloatField(default=DEFAULT_TARGET, min_value=MIN_TARGET, max_value=MAX_TARGET,
                                    help_text="micro-F1 the model's codes must reach")


class CheckSerializer(serializers.Serializer):
    size = serializers.IntegerField(default=QC_DEFAULT_SIZE, min_value=1, max_value=QC_MAX_SIZE)


class AutoCodeView(ProjectScopedMixin, APIView):
    """GET: what the current model would code at `target` (preview: nothing is written) and what it codes now
    with its blind check. POST {target}: code it as the model's (admins and leads). DELETE: undo every model code."""

    read_role = Role.LEAD
    write_role = Role.LEAD

    @extend_schema(parameters=[OpenApiParameter("target", OpenApiTypes.FLOAT)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        params = TargetSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        preview = autocode_preview(project=self.project, target=params.validated_data["target"])
        return ApiResponse({"preview": None if preview is None else preview.payload(),
                            "current": autocode_check(project=self.project)})

    @extend_schema(request=TargetSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        params = TargetSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        autocode_apply(project=self.project, user=request_user(request), target=params.validated_data["target"])
        return ApiResponse({"current": autocode_check(project=self.project)}, status=201)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request: Request, project_id: int) -> ApiResponse:
        removed = autocode_undo(project=self.project, user=request_user(request))
        return ApiResponse({"removed": removed})


class AutoCodeCheckView(ProjectScopedMixin, APIView):
    """POST {size}: draw the blind check of the model's codes (leads); GET: its figures beside the claim."""

    read_role = Role.LEAD
    write_role = Role.LEAD

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        return ApiResponse({"current": autocode_check(project=self.project)})

    @extend_schema(request=CheckSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        params = CheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        drawn = autocode_qc_draw(project=self.project, user=request_user(request), size=params.validated_data["size"])
        if not drawn:
            raise ValidationError({"size": "The model codes no response to check."})
        return ApiResponse({"drawn": drawn, "current": autocode_check(project=self.project)}, status=201)
