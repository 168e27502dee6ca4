"""The labeling loop over the API: the queue, submitting annotations, the model and its suggestions."""
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from labeling_app.core.http.pagination import Pagination
from labeling_app.core.http.params import IdField, IdListField, clamped_int, float_param, id_csv, id_param
from labeling_app.core.http.users import request_user
from labeling_app.labeling.selectors.consensus import overlap_open_ids
from labeling_app.labeling.selectors.responses import response_coding
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.labeling.services.queue import queue_batch_lease, queue_skip, queue_skips_check
from labeling_app.labeling.services.suggestions import suggestions_accept, suggestions_reject
from labeling_app.modeling.selectors.model_events import model_version_payload
from labeling_app.modeling.selectors.predictions import (
    net_suggestions_for_responses,
    sentiment_suggestions_for_responses,
    suggestions_band,
    suggestions_for_responses,
)
from labeling_app.modeling.selectors.training import model_versions, responses_by_ids
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Role
from labeling_app.review.selectors.notes import review_notes_read


class ReviewNoteSerializer(serializers.Serializer):
    comment = serializers.CharField()
    by = serializers.CharField(help_text="the lead's username")
    at = serializers.DateTimeField()


class QueueItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    respondent_id = serializers.CharField()
    text = serializers.CharField()
    metadata = serializers.DictField()
    suggestions = serializers.ListField(child=serializers.DictField())
    blind = serializers.BooleanField(help_text="a blind double-coding item: no suggestions, no one else's themes")
    # Your current labels of the response: set when it is re-opened to be corrected, else empty.
    themes = serializers.ListField(child=serializers.IntegerField(), default=list)
    flagged = serializers.BooleanField(default=False)
    review_note = ReviewNoteSerializer(allow_null=True, default=None,
                                       help_text="sent back by a lead: their comment for the coders, else null")
    sentiment = serializers.IntegerField(allow_null=True, default=None, help_text="your sentiment of it, if given")
    sentiment_suggestion = serializers.DictField(allow_null=True, default=None,
                                                 help_text="the model's: level, probability, probabilities")


class QueueView(ProjectScopedMixin, APIView):
    """The next responses for you to label, most useful first; they are held for you for 30 minutes.

    With `response=<id>` it returns just that response (coded or not) with your current themes, to
    re-open and correct it; submitting it replaces your labels. A response a lead sent back to its coders
    carries the lead's comment as `review_note` (null otherwise).
    """

    @extend_schema(
        parameters=[OpenApiParameter("size", OpenApiTypes.INT, description="batch size (project default)"),
                    OpenApiParameter("response", OpenApiTypes.INT, description="re-open this response")],
        responses=QueueItemSerializer(many=True),
    )
    def get(self, request: Request, project_id: int) -> ApiResponse:
        reopen = id_param(request.query_params, "response")
        if reopen:
            coding = response_coding(project=self.project, user=request_user(request), response_id=reopen)
            if coding is None:
                raise NotFound("No such response in this project.")
            r = coding.response
            suggestions = suggestions_for_responses(project=self.project, response_ids=[r.pk])
            moods = sentiment_suggestions_for_responses(project=self.project, response_ids=[r.pk])
            is_blind = bool(overlap_open_ids(project=self.project, response_ids=[r.pk]))
            # The lead's comment only while the user is still to code it again (not once they have).
            notes = review_notes_read(project=self.project, response_ids=[r.pk]) if coding.needs_recoding else {}
            data = [{"id": r.pk, "respondent_id": r.respondent_id, "text": r.text, "metadata": r.metadata,
                     "suggestions": [] if is_blind else suggestions[r.pk], "blind": is_blind,
                     "themes": coding.theme_ids, "flagged": coding.flagged, "review_note": notes.get(r.pk),
                     "sentiment": coding.sentiment, "sentiment_suggestion": None if is_blind else moods[r.pk]}]
            return ApiResponse(QueueItemSerializer(data, many=True).data)
        size = clamped_int(request.query_params, "size", default=self.project.labeling_batch_size, low=1, high=200)
        responses = queue_batch_lease(project=self.project, user=request_user(request), size=size)
        suggestions = suggestions_for_responses(project=self.project, response_ids=[r.pk for r in responses])
        moods = sentiment_suggestions_for_responses(project=self.project, response_ids=[r.pk for r in responses])
        # Blind double coding: no suggestions for an overlap item until it is resolved.
        blind = overlap_open_ids(project=self.project, response_ids=[r.pk for r in responses if r.is_overlap])
        # Items a lead sent back carry the lead's comment (one query for the batch).
        notes = review_notes_read(project=self.project, response_ids=[r.pk for r in responses])
        data = [{"id": r.pk, "respondent_id": r.respondent_id, "text": r.text, "metadata": r.metadata,
                 "suggestions": [] if r.pk in blind else suggestions[r.pk], "blind": r.pk in blind,
                 "themes": [], "flagged": False, "review_note": notes.get(r.pk),
                 "sentiment_suggestion": None if r.pk in blind else moods[r.pk]} for r in responses]
        return ApiResponse(QueueItemSerializer(data, many=True).data)


class AnnotationInSerializer(serializers.Serializer):
    response = IdField()
    themes = IdListField(allow_empty=True)
    flagged = serializers.BooleanField(default=False)
    skipped = serializers.BooleanField(default=False)
    note = serializers.CharField(default="", allow_blank=True, max_length=2000)
    sentiment = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=5,
                                         help_text="1 = most positive ... the project's levels (3 or 5); null: none")


class AnnotationsView(ProjectScopedMixin, APIView):
    """Submit your labels for one response or a list; all are saved or none, then one retrain is queued.

    An item with `skipped: true` is not labelled: the response is passed to someone else.
    """

    write_role = Role.ANALYST

    @extend_schema(request=AnnotationInSerializer(many=True),
                   responses={201: inline_serializer("AnnotationResult", {"saved": serializers.IntegerField(),
                                                                          "skipped": serializers.IntegerField()})})
    def post(self, request: Request, project_id: int) -> ApiResponse:
        many = isinstance(request.data, list)
        serializer = AnnotationInSerializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        rows: list[dict[str, Any]] = serializer.validated_data if many else [serializer.validated_data]
        user = request_user(request)
        items = [AnnotationItem(response_id=r["response"], theme_ids=r["themes"], flagged=r["flagged"],
                                note=r["note"], sentiment=r["sentiment"]) for r in rows if not r["skipped"]]
        skipped = [r["response"] for r in rows if r["skipped"]]
        queue_skips_check(project=self.project, response_ids=skipped)  # 404 before anything is saved
        if items:
            annotation_submit(project=self.project, user=user, items=items)
        for response_id in skipped:
            queue_skip(project=self.project, user=user, response_id=response_id)
        return ApiResponse({"saved": len(items), "skipped": len(skipped)}, status=status.HTTP_201_CREATED)


class ModelView(ProjectScopedMixin, APIView):
    """The current model version, the latest run's status, and the history with figures."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, project_id: int) -> ApiResponse:
        versions = list(model_versions(project=self.project)[:50])
        latest = versions[0] if versions else None
        return ApiResponse({
            "current": model_version_payload(self.project.current_model),
            "latest_run": {**(model_version_payload(latest) or {}), "error": latest.error} if latest else None,
            "history": [
                {**(model_version_payload(v) or {}), "error": v.error, "per_theme": v.per_theme,
                 "train_seconds": v.train_seconds}
                for v in versions
            ],
        })


class SuggestionSerializer(serializers.Serializer):
    response = serializers.IntegerField()
    respondent_id = serializers.CharField()
    text = serializers.CharField()
    theme = serializers.IntegerField()
    probability = serializers.FloatField()
    threshold = serializers.FloatField(required=False)
    suggested = serializers.BooleanField()


def _band_params(request: Request) -> tuple[float | None, float]:
    """The band's bounds; no min_probability (or an empty one) means each theme's own threshold."""
    high = float_param(request.query_params, "max_probability", low=0.0, high=1.0)
    return float_param(request.query_params, "min_probability", low=0.0, high=1.0), 1.0 if high is None else high


class SuggestionListView(ProjectScopedMixin, APIView):
    """The current model's suggestions: for unlabelled responses by theme and probability band, or for
    listed responses (`responses=1,2,3`, labelled or not). Archived themes are never suggested."""

    @extend_schema(
        parameters=[
            OpenApiParameter("theme", OpenApiTypes.INT),
            OpenApiParameter("min_probability", OpenApiTypes.FLOAT, description="0-1; default: each theme's threshold"),
            OpenApiParameter("max_probability", OpenApiTypes.FLOAT),
            OpenApiParameter("responses", OpenApiTypes.STR, description="comma-separated response ids"),
            OpenApiParameter("level", str, enum=["theme", "net", "sentiment"],
                             description="net: one row per net of the codeframe; sentiment: the model's sentiment "
                                         "(both with responses=)"),
            OpenApiParameter("page", OpenApiTypes.INT), OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses=SuggestionSerializer(many=True),
    )
    def get(self, request: Request, project_id: int) -> ApiResponse:
        params = request.query_params
        level = params.get("level", "theme")
        if level not in ("theme", "net", "sentiment"):
            raise serializers.ValidationError({"level": "level must be theme, net or sentiment"})
        if level == "sentiment":
            ids = id_csv(params, "responses")
            blind = overlap_open_ids(project=self.project, response_ids=ids)
            moods = sentiment_suggestions_for_responses(project=self.project, response_ids=ids)
            return ApiResponse([{"response": r, **s} for r, s in moods.items() if s and r not in blind])
        if level == "net":
            ids = id_csv(params, "responses")
            blind = overlap_open_ids(project=self.project, response_ids=ids)
            found = net_suggestions_for_responses(project=self.project, response_ids=ids)
            return ApiResponse([{"response": r, **s} for r, rows in found.items() if r not in blind for s in rows])
        if "responses" in params:
            ids = id_csv(params, "responses")
            blind = overlap_open_ids(project=self.project, response_ids=ids)
            rows = [{"response": r, **s} for r, found in
                    suggestions_for_responses(project=self.project, response_ids=ids).items() for s in found
                    if r not in blind]
        else:
            low, high = _band_params(request)
            rows = suggestions_band(project=self.project, theme_id=id_param(params, "theme"),
                                    min_probability=low, max_probability=high,
                                    exclude_rejected_by=request_user(request).pk)
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self) or []  # type: ignore[arg-type]
        responses = {r.pk: r for r in responses_by_ids(project=self.project, ids=[row["response"] for row in page])}
        data = [{**row, "respondent_id": responses[row["response"]].respondent_id,
                 "text": responses[row["response"]].text} for row in page]
        return paginator.get_paginated_response(SuggestionSerializer(data, many=True).data)


class BulkDecisionSerializer(serializers.Serializer):
    theme = IdField()
    # The reviewed responses: exactly these are written (required unless preview).
    responses = IdListField(required=False, allow_empty=False)
    # The band, read by preview only: null or left out starts at the theme's own threshold.
    min_probability = serializers.FloatField(min_value=0, max_value=1, allow_null=True, default=None)
    max_probability = serializers.FloatField(min_value=0, max_value=1, default=1.0)
    preview = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["preview"] and "responses" not in attrs:
            raise serializers.ValidationError(
                {"responses": "list the reviewed responses to write (preview=true lists the band's)"})
        return attrs


class _BulkDecisionView(ProjectScopedMixin, APIView):
    write_role = Role.ANALYST
    decide = staticmethod(suggestions_accept)

    @extend_schema(request=BulkDecisionSerializer,
                   responses=inline_serializer("BulkDecisionResult", {
                       "count": serializers.IntegerField(), "preview": serializers.BooleanField(),
                       "responses": serializers.ListField(child=serializers.IntegerField(), required=False)}))
    def post(self, request: Request, project_id: int) -> ApiResponse:
        serializer = BulkDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        theme = generics.get_object_or_404(self.project.themes.filter(archived=False), pk=data["theme"])
        user = request_user(request)
        if data["preview"]:
            rows = suggestions_band(project=self.project, theme_id=theme.pk, min_probability=data["min_probability"],
                                    max_probability=data["max_probability"], exclude_rejected_by=user.pk)
            ids = [row["response"] for row in rows]
            return ApiResponse({"count": len(ids), "preview": True, "responses": ids})
        count = self.decide(project=self.project, user=user, theme=theme, response_ids=data["responses"])
        return ApiResponse({"count": count, "preview": False})


class SuggestionAcceptView(_BulkDecisionView):
    """Accept a theme's suggestions for the listed, reviewed responses as your labels: exactly those are written.

    With preview=true nothing is written: it lists the band's responses (min/max_probability) to review.
    """

    decide = staticmethod(suggestions_accept)


class SuggestionRejectView(_BulkDecisionView):
    """Reject a theme's suggestions for the listed, reviewed responses (preview=true lists the band's)."""

    decide = staticmethod(suggestions_reject)
