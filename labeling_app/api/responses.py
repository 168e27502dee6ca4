from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers

from labeling_app.api.access import ProjectScopedMixin
from labeling_app.api.params import bool_param, id_param, meta_filters
from labeling_app.models import Response, Role
from labeling_app.selectors.responses import (
    response_theme_list,
    responses_blind_for,
    responses_filter,
    responses_with_themes,
)


class ResponseSerializer(serializers.ModelSerializer):
    themes = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = ["id", "respondent_id", "text", "metadata", "themes", "created_at"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_themes(self, response: Response) -> list[dict[str, object]]:
        blind_for = self.context.get("blind_for")
        if blind_for is not None and not getattr(self.root, "_blinded", False):
            # Once for the whole page (one query for its open overlap items), not once per response.
            page = getattr(self.parent, "instance", None) or [response]
            responses_blind_for(project=response.project, responses=list(page), coder_id=blind_for)
            setattr(self.root, "_blinded", True)  # noqa: B010  (the list serializer of this request)
        return [{"id": t.pk, "name": t.name} for t in response_theme_list(response)]


class _BlindMixin(ProjectScopedMixin):
    def get_serializer_context(self) -> dict[str, object]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if self.membership.role == Role.ANALYST:
            context["blind_for"] = self.membership.user_id
        return context


@extend_schema(
    parameters=[
        OpenApiParameter("search", OpenApiTypes.STR, description="text or respondent id contains"),
        OpenApiParameter("theme", OpenApiTypes.INT, description="coded with this theme id"),
        OpenApiParameter("uncoded", OpenApiTypes.BOOL, description="only responses without themes"),
        OpenApiParameter("meta", OpenApiTypes.STR, many=True,
                         description="metadata filter KEY:VALUE, repeatable, e.g. meta=plan:Basic"),
    ]
)
class ResponseListView(_BlindMixin, generics.ListAPIView):
    """The project's responses with their coded themes."""

    serializer_class = ResponseSerializer

    def get_queryset(self) -> QuerySet[Response]:
        params = self.request.query_params
        return responses_with_themes(
            responses_filter(
                project=self.project,
                search=params.get("search", "").strip(),
                theme_id=id_param(params, "theme"),
                uncoded=bool_param(params, "uncoded", default=False),
                metadata=meta_filters(params.getlist("meta")),
            )
        )


class ResponseDetailView(_BlindMixin, generics.RetrieveAPIView):
    """One response with its coded themes."""

    serializer_class = ResponseSerializer
    lookup_url_kwarg = "response_id"

    def get_queryset(self) -> QuerySet[Response]:
        return responses_with_themes(self.project.responses.all())
