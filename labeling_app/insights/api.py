"""Insights over the API (issue 10): members read every view under the same filters; analysts pin quotes."""
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from labeling_app.core.http.params import MAX_ID, IdField, int_param
from labeling_app.core.http.users import request_user
from labeling_app.insights.filters import FILTERS
from labeling_app.insights.selectors import insights as sel
from labeling_app.insights.services.charts import CHART_FORMATS, CHART_VIEWS, insights_chart_file, themes_param_parse
from labeling_app.insights.services.quotes import quote_pin, quote_unpin
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Role
from labeling_app.projects.throttles import UserScopedThrottle


def _int(request: Request, key: str, *, required: bool, default: int | None = None, max_value: int = MAX_ID,
         ) -> int | None:
    return int_param(request.query_params, key, required=required, default=default, max_value=max_value)


class _InsightsView(ProjectScopedMixin, APIView):
    read_role = Role.ANALYST
    write_role = Role.ANALYST

    def scope(self, request: Request) -> sel.InsightsScope:
        params: dict[str, Any] = {k: request.query_params.get(k) for k in request.query_params}
        params["meta"] = request.query_params.getlist("meta")
        return sel.insights_scope_from_params(project=self.project, params=params)

    def respond(self, request: Request, build: Callable[[sel.InsightsScope], dict]) -> ApiResponse:
        scope = self.scope(request)
        data = build(scope)
        data["source_info"] = sel.insights_source_info(scope=scope)
        return ApiResponse(data)


class PrevalenceView(_InsightsView):
    """Theme prevalence with 95% intervals; by segment with Holm-corrected differences."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("segment", OpenApiTypes.STR)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        segment = request.query_params.get("segment") or None
        return self.respond(request, lambda s: sel.prevalence(scope=s, segment=segment))


class SentimentView(_InsightsView):
    """Sentiment per theme and net, and what pulls it down or up (each theme's impact on the mean level)."""

    @extend_schema(parameters=[*FILTERS], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        return self.respond(request, lambda s: sel.sentiment_insights(scope=s))


class WavesView(_InsightsView):
    """Each net and code by wave, and each change from a wave to the next (Holm-corrected z-tests)."""

    @extend_schema(parameters=[*FILTERS], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        return self.respond(request, lambda s: sel.waves(scope=s))


class TermsView(_InsightsView):
    """A theme's most distinctive words and 2-grams (weighted log-odds z)."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("theme", OpenApiTypes.INT, required=True),
                               OpenApiParameter("limit", OpenApiTypes.INT)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        theme = _int(request, "theme", required=True)
        limit = _int(request, "limit", required=False, default=30, max_value=400)
        return self.respond(request, lambda s: sel.terms(scope=s, theme_id=theme or 0, limit=limit or 30))


class TermResponsesView(_InsightsView):
    """Responses containing a term, with where it occurs."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("theme", OpenApiTypes.INT),
                               OpenApiParameter("term", OpenApiTypes.STR, required=True)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        theme = _int(request, "theme", required=False)
        term = (request.query_params.get("term") or "").strip()
        if not term or len(term) > 200:
            raise serializers.ValidationError({"term": ["A term of 1 to 200 characters is required."]})
        return self.respond(request, lambda s: sel.term_responses(scope=s, theme_id=theme, term=term))


class DriversView(_InsightsView):
    """Key-driver analysis of a numeric metadata column."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("score", OpenApiTypes.STR, required=True)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        score = request.query_params.get("score")
        if not score:
            raise serializers.ValidationError({"score": ["This parameter is required."]})
        return self.respond(request, lambda s: sel.drivers(scope=s, score=score))


class CooccurrenceView(_InsightsView):
    """Pairwise theme co-occurrence with lift, and the commonest exact theme sets."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("top", OpenApiTypes.INT)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        top = _int(request, "top", required=False, default=15, max_value=100)
        return self.respond(request, lambda s: sel.cooccurrence(scope=s, top=top or 15))


class TrendsView(_InsightsView):
    """Theme shares per week or month of a date column, each period's base n with a low_base flag (n < 30),
    the commonest themes and the ones a chart draws (`themes`, else the commonest)."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("period", OpenApiTypes.STR, enum=["week", "month"]),
                               OpenApiParameter("themes", OpenApiTypes.STR, description="theme ids, comma-separated")],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        period = request.query_params.get("period") or "month"
        themes = themes_param_parse(request.query_params)
        return self.respond(request, lambda s: sel.trends(scope=s, period=period, theme_ids=themes))


class QuotesView(_InsightsView):
    """Pinned and representative quotes per theme."""

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("theme", OpenApiTypes.INT)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        theme = _int(request, "theme", required=False)
        return self.respond(request, lambda s: sel.quotes(scope=s, theme_id=theme))


class ChartFileView(_InsightsView):
    """One view's chart drawn on the server as a PNG or SVG file, under the same filters as the views. Drawing
    costs seconds of CPU, so it is throttled per user (THROTTLE_CHARTS) like exports, and done in a render process
    (insights.services.chart_pool): a chart past CHART_RENDER_TIMEOUT answers 503 with a message."""

    throttle_classes = [UserScopedThrottle]
    throttle_scope = "charts"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is an image whatever Accept says; errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(parameters=[*FILTERS, OpenApiParameter("theme", OpenApiTypes.INT, description="terms"),
                               OpenApiParameter("segment", OpenApiTypes.STR, description="segments"),
                               OpenApiParameter("score", OpenApiTypes.STR, description="drivers"),
                               OpenApiParameter("period", OpenApiTypes.STR, enum=["week", "month"]),
                               OpenApiParameter("themes", OpenApiTypes.STR, description="trends: theme ids")],
                   responses={(200, "image/png"): OpenApiTypes.BINARY, (200, "image/svg+xml"): OpenApiTypes.BINARY,
                              503: OpenApiResponse(description="drawing ran past CHART_RENDER_TIMEOUT, or the "
                                                   "render processes stayed busy as long (the message says which)")})
    def get(self, request: Request, project_id: int, view: str, fmt: str) -> HttpResponse:
        if view not in CHART_VIEWS:
            choices = ", ".join(CHART_VIEWS)
            raise serializers.ValidationError({"view": [f"Unknown chart {view!r}; choose one of {choices}."]})
        if fmt not in CHART_FORMATS:
            raise serializers.ValidationError({"format": [f"Unknown format {fmt!r}; choose png or svg."]})
        params = {k: request.query_params.get(k, "") for k in ("theme", "segment", "score", "period", "themes")}
        data = insights_chart_file(scope=self.scope(request), view=view, params=params, fmt=fmt)
        response = HttpResponse(data, content_type=CHART_FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{view}.{fmt}"'
        return response


class PinSerializer(serializers.Serializer):
    theme = IdField()
    response = IdField()


class QuotePinView(_InsightsView):
    """Pins a response as a quote for a theme."""

    @extend_schema(request=PinSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        body = PinSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pin = quote_pin(project=self.project, user=request_user(request), theme_id=body.validated_data["theme"],
                        response_id=body.validated_data["response"])
        return ApiResponse({"theme": pin.theme_id, "response": pin.response_id, "pinned": True})


class QuoteUnpinView(_InsightsView):
    """Removes a quote pin."""

    @extend_schema(request=PinSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        body = PinSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        removed = quote_unpin(project=self.project, user=request_user(request),
                              theme_id=body.validated_data["theme"], response_id=body.validated_data["response"])
        return ApiResponse({"theme": body.validated_data["theme"], "response": body.validated_data["response"],
                            "pinned": False, "removed": removed})
