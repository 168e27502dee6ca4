from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from labeling_app.core.http.users import request_user
from labeling_app.labeling.selectors.counts import project_counts, project_list_with_counts
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Project, Role
from labeling_app.projects.selectors.projects import membership_get
from labeling_app.projects.services.projects import project_create, project_update


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    response_count = serializers.IntegerField(read_only=True, required=False)
    theme_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Project
        fields = ["id", "name", "question", "labeling_batch_size", "active_learning_strategy",
                  "created_at", "role", "response_count", "theme_count"]
        read_only_fields = ["id", "created_at"]

    def get_role(self, project: Project) -> str:
        # Lists annotate the role; a single project is looked up once.
        role = getattr(project, "user_role", None)
        return role or membership_get(user=self.context["request"].user, project_id=project.pk).role

    def validate_labeling_batch_size(self, value: int) -> int:
        if not 1 <= value <= 200:
            raise serializers.ValidationError("batch size must be between 1 and 200")
        return value


class ProjectDetailSerializer(ProjectSerializer):
    counts = serializers.SerializerMethodField()

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "counts"]

    def get_counts(self, project: Project) -> dict[str, int]:
        return project_counts(project=project)


class ProjectListCreateView(generics.ListCreateAPIView):
    """Projects you are a member of; creating one makes you its admin."""

    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Project.objects.none()
        return project_list_with_counts(user=request_user(self.request)).order_by("name")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = project_create(user=request_user(self.request), **serializer.validated_data)


@extend_schema(parameters=[])
class ProjectDetailView(ProjectScopedMixin, generics.RetrieveUpdateAPIView):
    """One project with its counts; admins change its name, question and settings."""

    serializer_class = ProjectDetailSerializer
    write_role = Role.ADMIN

    def get_object(self) -> Project:
        return self.project

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = project_update(project=self.project, **serializer.validated_data)
