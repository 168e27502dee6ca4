"""A response as the API shows it, with its resolved themes as the requester may see them: the responses list and
every other endpoint that lists responses (cluster members, similar responses) use these."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling_app.labeling.selectors.responses import ResponseThemes, responses_themes, viewer_blind_for
from labeling_app.projects.access import ProjectScopedMixin
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

    @extend_schema_field(serializers.ChoiceField(["coded", "model", "uncoded", "blind", "waiting", "disagreement"]))
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
