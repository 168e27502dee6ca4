"""Leads' review over the API: inter-coder agreement, unresolved disagreements, and adjudication."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from labeling_app.core.http.pagination import Pagination
from labeling_app.core.http.params import IdField, IdListField, id_param
from labeling_app.core.http.users import request_user
from labeling_app.labeling.selectors.consensus import disagreements_list
from labeling_app.modeling.selectors.label_checks import label_checks_open
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Role
from labeling_app.review.selectors.agreement import agreement_report
from labeling_app.review.services.adjudication import disagreement_resolve, disagreement_send_back
from labeling_app.review.services.label_checks import label_check_decide


class _LeadView(ProjectScopedMixin, APIView):
    read_role = Role.LEAD
    write_role = Role.LEAD


class AgreementView(_LeadView):
    """Inter-coder agreement: per theme (Krippendorff's alpha, Gwet's AC1, percent agreement), per coder pair
    (Cohen's kappa), overall (alpha with the MASI distance) and over time, each with a bootstrap 95% interval;
    the model as one more coder."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        return ApiResponse(agreement_report(project=self.project))


class DisagreementSerializer(serializers.Serializer):
    response = serializers.IntegerField()
    respondent_id = serializers.CharField()
    text = serializers.CharField()
    agreed = serializers.ListField(child=serializers.IntegerField(), help_text="themes every coder chose")
    coders = serializers.ListField(child=serializers.DictField())


class DisagreementListView(_LeadView):
    """Responses whose coders disagree and that no lead has decided yet, each coder's themes side by side."""

    @extend_schema(parameters=[OpenApiParameter("theme", OpenApiTypes.INT, description="only where coders differ "
                                                "on this theme")], responses=DisagreementSerializer(many=True))
    def get(self, request: Request, project_id: int) -> ApiResponse:
        theme_id = id_param(request.query_params, "theme")
        rows = disagreements_list(project=self.project, theme_id=theme_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self) or []  # type: ignore[arg-type]
        return paginator.get_paginated_response(DisagreementSerializer(page, many=True).data)


class ResolveSerializer(serializers.Serializer):
    themes = IdListField(required=False, allow_empty=True)
    no_theme = serializers.BooleanField(default=False, help_text="resolve to no theme at all: an empty `themes` "
                                        "is refused without it")
    send_back = serializers.BooleanField(default=False)
    comment = serializers.CharField(default="", allow_blank=True, max_length=2000)

    def validate(self, data: dict) -> dict:
        if data["no_theme"] and data.get("themes"):
            raise serializers.ValidationError({"no_theme": "`no_theme: true` with themes: give one or the other"})
        if not data["send_back"] and "themes" not in data and not data["no_theme"]:
            raise serializers.ValidationError("give the final `themes` (or `no_theme: true`), or `send_back` with a "
                                              "comment")
        return data


class DisagreementResolveView(_LeadView):
    """Decide a disagreement: the final `themes` (the consensus the model learns from), or `send_back: true`
    with a `comment` so its coders code it again. No theme at all needs `no_theme: true`: an empty `themes` alone
    is refused (400), as it is most often nothing ticked by mistake."""

    @extend_schema(request=ResolveSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int, response_id: int) -> ApiResponse:
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lead = request_user(request)
        if data["send_back"]:
            decision = disagreement_send_back(project=self.project, lead=lead, response_id=response_id,
                                              comment=data["comment"])
        else:
            decision = disagreement_resolve(project=self.project, lead=lead, response_id=response_id,
                                            theme_ids=data.get("themes", []), comment=data["comment"],
                                            confirm_empty=data["no_theme"])
        return ApiResponse({"response": response_id, "kind": decision.kind,
                            "themes": sorted(decision.themes.values_list("pk", flat=True)),
                            "comment": decision.comment}, status=201)


class LabelCheckSerializer(serializers.Serializer):
    response = IdField()
    themes = IdListField(required=False, allow_empty=True, help_text="the right themes (a fix); absent: confirm")
    no_theme = serializers.BooleanField(default=False, help_text="fix to no theme at all")


class LabelChecksView(_LeadView):
    """GET: human-coded responses whose codes the current model's out-of-fold probabilities most disagree with
    (confident learning), most suspect first. POST {response}: the codes are right; {response, themes}: fix them
    (a lead's decision)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        return ApiResponse({"results": label_checks_open(project=self.project, limit=200)})

    @extend_schema(request=LabelCheckSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        params = LabelCheckSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        check = label_check_decide(project=self.project, lead=request_user(request), response_id=data["response"],
                                   theme_ids=data.get("themes"), confirm_empty=data["no_theme"])
        return ApiResponse({"response": data["response"], "decision": check.decision}, status=201)
