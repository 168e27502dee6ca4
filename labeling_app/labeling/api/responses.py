from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics

from labeling_app.core.http.params import bool_param, id_param, meta_filters
from labeling_app.core.metadata import meta_key_candidates
from labeling_app.labeling.selectors.responses import (
    metadata_keys_present,
    responses_filter,
    viewer_blind_for,
)
from labeling_app.labeling.serializers import ResponseSerializer, ResponseThemesMixin
from labeling_app.projects.models import Response


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
            metadata=meta_filters(params.getlist("meta"), columns=metadata_keys_present(
                project=self.project, keys=meta_key_candidates(params.getlist("meta")))),
            blind_for=viewer_blind_for(self.membership),
        )


class ResponseDetailView(ResponseThemesMixin, generics.RetrieveAPIView):
    """One response with its coded themes."""

    serializer_class = ResponseSerializer
    lookup_url_kwarg = "response_id"

    def get_queryset(self) -> QuerySet[Response]:
        return self.project.responses.all()
