from django.db.models import QuerySet
from rest_framework import generics, serializers

from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.themes.models import Theme
from labeling_app.themes.services.themes import theme_create, theme_update


class ThemeSerializer(serializers.ModelSerializer):
    colour = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    shortcut = serializers.RegexField(r"^[0-9a-z]?$", required=False, allow_blank=True)

    class Meta:
        model = Theme
        fields = ["id", "name", "description", "colour", "shortcut", "order", "archived"]
        read_only_fields = ["id"]
        validators: list = []  # uniqueness is checked by the model's constraints in the service


class ThemeListCreateView(ProjectScopedMixin, generics.ListCreateAPIView):
    """The project's theme set; admins add themes."""

    serializer_class = ThemeSerializer
    filterset_fields = ["archived"]

    def get_queryset(self) -> QuerySet[Theme]:
        return self.project.themes.all()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("order", None)
        data.pop("archived", None)
        serializer.instance = theme_create(project=self.project, **data)


class ThemeDetailView(ProjectScopedMixin, generics.RetrieveUpdateAPIView):
    """One theme; admins rename, describe, recolour, re-key, reorder or archive it (themes are never deleted)."""

    serializer_class = ThemeSerializer
    lookup_url_kwarg = "theme_id"

    def get_queryset(self) -> QuerySet[Theme]:
        return self.project.themes.all()

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = theme_update(theme=self.get_object(), **serializer.validated_data)
