from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers

from labeling_app.core.http.params import bool_param, id_param, meta_filters
from labeling_app.labeling.selectors import ResponseThemes, responses_filter, responses_themes, viewer_blind_for
from labeling_app.projects.api.access import ProjectScopedMixin
from labeling_app.projects.models import Response


class ResponseSerializer(serializers.ModelSerializer):
    """A response with its resolved themes (the consensus that exports and the model use), its coding state and
    the codings behind it that the requester may see (an analyst sees only their own on an open blind item)."""

    themes = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    coders = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = ["id", "respondent_id", "text", "metadata", "themes", "state", "coders", "created_at"]

    def _coded(self, response: Response) -> ResponseThemes:
        return self.context["coded"][response.pk]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_themes(self, response: Response) -> list[dict[str, object]]:
        return [{"id": t.pk, "name": t.name} for t in self._coded(response).themes]

    @extend_schema_field(serializers.ChoiceField(["coded", "uncoded", "blind", "waiting", "disagreement"]))
    def get_state(self, response: Response) -> str:
        return self._coded(response).state

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_coders(self, response: Response) -> list[dict[str, object]]:
        return [{"coder": c.coder_id, "name": c.name, "themes": [{"id": t.pk, "name": t.name} for t in c.themes]}
                for c in self._coded(response).coders]


class ResponseThemesMixin(ProjectScopedMixin):
    """Reads every listed response's themes once per page (a few queries), as the requester may see them."""

    def get_serializer(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if args:
            items = args[0] if kwargs.get("many") else [args[0]]
            context: dict = kwargs.setdefault("context", self.get_serializer_context())  # type: ignore[attr-defined,assignment]
            context["coded"] = responses_themes(project=self.project, response_ids=[r.pk for r in items],
                                                blind_for=viewer_blind_for(self.membership))
        return super().get_serializer(*args, **kwargs)  # type: ignore[misc]


@extend_schema(
    parameters=[
        OpenApiParameter("search", OpenApiTypes.STR, description="text or respondent id contains"),
        OpenApiParameter("theme", OpenApiTypes.INT, description="resolved with this theme id (and the codings "
                         "you may see of responses not resolved yet)"),
        OpenApiParameter("uncoded", OpenApiTypes.BOOL, description="only responses nobody has coded"),
        OpenApiParameter("meta", OpenApiTypes.STR, many=True,
                         description="metadata filter KEY:VALUE, repeatable, e.g. meta=plan:Basic"),
    ]
)
class ResponseListView(ResponseThemesMixin, generics.ListAPIView):
    """The project's responses with their coded themes."""

    serializer_class = ResponseSerializer

    def get_queryset(self) -> QuerySet[Response]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no membership
            return Response.objects.none()
        params = self.request.query_params
        return responses_filter(
            project=self.project,
            search=params.get("search", "").strip(),
            theme_id=id_param(params, "theme"),
            uncoded=bool_param(params, "uncoded", default=False),
            metadata=meta_filters(params.getlist("meta")),
            blind_for=viewer_blind_for(self.membership),
        )


class ResponseDetailView(ResponseThemesMixin, generics.RetrieveAPIView):
    """One response with its coded themes."""

    serializer_class = ResponseSerializer
    lookup_url_kwarg = "response_id"

    def get_queryset(self) -> QuerySet[Response]:
        return self.project.responses.all()
