"""Discovery over the API: runs, clusters and their actions, and "more like this"."""
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from labeling_app.core.http.params import (
    MAX_CLUSTERS,
    MAX_MIN_CLUSTER_SIZE,
    IdField,
    IdListField,
    bool_param,
    clamped_int,
    id_param,
)
from labeling_app.core.http.users import request_user
from labeling_app.core.progress import progress_get
from labeling_app.discovery.models import Cluster, ClusterAction, DiscoveryRun
from labeling_app.discovery.selectors import cluster_members, clusters_active, discovery_run_latest, responses_similar
from labeling_app.discovery.services import (
    cluster_action_undo,
    cluster_make_theme,
    cluster_merge,
    cluster_split,
    cluster_update,
    discovery_run_request,
    responses_move,
)
from labeling_app.jobs.http import QueuedCreateMixin, queued_create_responses
from labeling_app.jobs.registry import TASK_DISCOVERY_COMPUTE
from labeling_app.labeling.serializers import ResponseSerializer, ResponseThemesMixin
from labeling_app.projects.access import ProjectScopedMixin
from labeling_app.projects.models import Response, Role
from labeling_app.projects.throttles import ThrottledCreateMixin


class DiscoveryRunSerializer(serializers.ModelSerializer):
    # Explicit bounds: the same on every database (the model's PositiveIntegerField range depends on it).
    n_clusters = serializers.IntegerField(min_value=2, max_value=MAX_CLUSTERS, required=False, allow_null=True)
    min_cluster_size = serializers.IntegerField(min_value=1, max_value=MAX_MIN_CLUSTER_SIZE, required=False,
                                                allow_null=True)
    progress = serializers.SerializerMethodField()
    cluster_count = serializers.SerializerMethodField()

    class Meta:
        model = DiscoveryRun
        fields = ["id", "status", "progress", "n_clusters", "min_cluster_size", "message", "seconds",
                  "cluster_count", "created_at", "finished_at"]
        read_only_fields = ["id", "status", "progress", "message", "seconds", "cluster_count", "created_at",
                            "finished_at"]

    def get_progress(self, run: DiscoveryRun) -> int:
        return 100 if run.status in ("succeeded", "failed") else progress_get(kind="discovery", job_id=run.pk)

    def get_cluster_count(self, run: DiscoveryRun) -> int:
        return run.clusters.filter(active=True, is_outliers=False).count()


@extend_schema_view(post=extend_schema(responses=queued_create_responses(DiscoveryRunSerializer, "run")))
class DiscoveryRunListCreateView(QueuedCreateMixin, ThrottledCreateMixin, ProjectScopedMixin,
                                 generics.ListCreateAPIView):
    """Discovery runs of the project; analysts start one (optionally with a number or minimum size of clusters)."""

    job_task, job_id_kwarg = TASK_DISCOVERY_COMPUTE, "discovery_run_id"
    throttle_scope = "discovery"
    serializer_class = DiscoveryRunSerializer
    write_role = Role.ANALYST

    def get_queryset(self) -> QuerySet[DiscoveryRun]:
        return DiscoveryRun.objects.filter(project=self.project).all()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = discovery_run_request(
            project=self.project, user=request_user(self.request), n_clusters=data.get("n_clusters"),
            min_cluster_size=data.get("min_cluster_size"))


class DiscoveryRunDetailView(ProjectScopedMixin, generics.RetrieveAPIView):
    """One discovery run: status, progress, settings."""

    serializer_class = DiscoveryRunSerializer
    lookup_url_kwarg = "run_id"

    def get_queryset(self) -> QuerySet[DiscoveryRun]:
        return DiscoveryRun.objects.filter(project=self.project).all()


class ClusterSerializer(serializers.ModelSerializer):
    theme: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Cluster
        fields = ["id", "name", "size", "keywords", "phrases", "representative_ids", "is_outliers", "dismissed",
                  "theme", "active"]
        read_only_fields = ["id", "size", "keywords", "phrases", "representative_ids", "is_outliers", "theme",
                            "active"]

    def validate(self, attrs: dict) -> dict:
        # A PATCH must change something: an empty body is a client mistake (400), not a silent no-op.
        if "name" not in attrs and "dismissed" not in attrs:
            raise serializers.ValidationError("give a new `name`, or `dismissed` (true or false)")
        return attrs


def _run(view: ProjectScopedMixin, request: Request) -> DiscoveryRun:
    body = request.data if isinstance(request.data, dict) else {}
    run_id = id_param(request.query_params, "run") or id_param(body, "run")
    if run_id:
        runs = DiscoveryRun.objects.filter(project=view.project, status=DiscoveryRun.Status.SUCCEEDED)
        return get_object_or_404(runs, pk=run_id)
    run = discovery_run_latest(project=view.project)
    if run is None:
        raise serializers.ValidationError({"run": "this project has no finished discovery run yet"})
    return run


@extend_schema(parameters=[OpenApiParameter("run", OpenApiTypes.INT, description="run id (latest by default)")])
class ClusterListView(ProjectScopedMixin, generics.ListAPIView):
    """The active clusters of a run (the latest finished one unless `run` is given)."""

    serializer_class = ClusterSerializer

    def get_queryset(self) -> QuerySet[Cluster]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request to read the run from
            return Cluster.objects.none()
        return clusters_active(run=_run(self, self.request))


class ClusterDetailView(ProjectScopedMixin, generics.RetrieveUpdateAPIView):
    """One cluster; analysts rename it or dismiss it (PATCH name and/or dismissed; a PATCH with neither is a 400)."""

    serializer_class = ClusterSerializer
    lookup_url_kwarg = "cluster_id"
    write_role = Role.ANALYST

    def get_queryset(self) -> QuerySet[Cluster]:
        return Cluster.objects.filter(run__project=self.project)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        cluster = self.get_object()
        data = serializer.validated_data
        serializer.instance = cluster_update(run=cluster.run, user=request_user(self.request), cluster_id=cluster.pk,
                                             name=data.get("name"), dismissed=data.get("dismissed"))


class ClusterMembersView(ResponseThemesMixin, generics.ListAPIView):
    """The responses of a cluster, with `search` over their text."""

    serializer_class = ResponseSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return Response.objects.none()
        cluster = get_object_or_404(Cluster.objects.filter(run__project=self.project), pk=self.kwargs["cluster_id"])
        search = self.request.query_params.get("search", "")
        return cluster_members(cluster=cluster, search=search)


class MergeSerializer(serializers.Serializer):
    clusters = IdListField(min_length=2)
    name = serializers.CharField(required=False, allow_blank=True, default="")


class SplitSerializer(serializers.Serializer):
    k = serializers.IntegerField(min_value=2, max_value=50)


class MakeThemeSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    responses = IdListField(allow_empty=True)


class MoveSerializer(serializers.Serializer):
    responses = IdListField(min_length=1)
    to = IdField()


class _ClusterActionView(ProjectScopedMixin, APIView):
    write_role = Role.ANALYST

    def cluster(self) -> Cluster:
        return get_object_or_404(Cluster.objects.filter(run__project=self.project, active=True),
                                 pk=self.kwargs["cluster_id"])


class ClusterMergeView(_ClusterActionView):
    """Merge two or more clusters of a run into one."""

    @extend_schema(request=MergeSerializer, responses=ClusterSerializer)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["clusters"]
        first = get_object_or_404(Cluster.objects.filter(run__project=self.project), pk=ids[0])
        merged = cluster_merge(run=first.run, user=request_user(request), cluster_ids=ids,
                                name=data.validated_data["name"])
        return ApiResponse(ClusterSerializer(merged).data, status=status.HTTP_201_CREATED)


class ClusterSplitView(_ClusterActionView):
    """Split a cluster into k sub-clusters."""

    @extend_schema(request=SplitSerializer, responses=ClusterSerializer(many=True))
    def post(self, request: Request, project_id: int, cluster_id: int) -> ApiResponse:
        data = SplitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cluster = self.cluster()
        parts = cluster_split(run=cluster.run, user=request_user(request), cluster_id=cluster.pk,
                              k=data.validated_data["k"])
        return ApiResponse(ClusterSerializer(parts, many=True).data, status=status.HTTP_201_CREATED)


class ClusterMakeThemeView(_ClusterActionView):
    """Create a theme from a cluster and label the ticked member responses with it."""

    @extend_schema(request=MakeThemeSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int, cluster_id: int) -> ApiResponse:
        data = MakeThemeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cluster = self.cluster()
        theme = cluster_make_theme(run=cluster.run, user=request_user(request), cluster_id=cluster.pk,
                                   name=data.validated_data["name"], response_ids=data.validated_data["responses"],
                                   description=data.validated_data["description"])
        return ApiResponse({"theme": theme.pk, "labelled": len(data.validated_data["responses"])},
                           status=status.HTTP_201_CREATED)


class ClusterMoveView(_ClusterActionView):
    """Move responses into another cluster of the same run."""

    @extend_schema(request=MoveSerializer, responses=ClusterSerializer)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = get_object_or_404(Cluster.objects.filter(run__project=self.project), pk=data.validated_data["to"])
        moved = responses_move(run=target.run, user=request_user(request),
                               response_ids=data.validated_data["responses"], cluster_id=target.pk)
        return ApiResponse(ClusterSerializer(moved).data)


class ClusterUndoView(_ClusterActionView):
    """Undo the latest action on a run's clusters (the latest run unless `run` is given)."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, project_id: int) -> ApiResponse:
        action: ClusterAction = cluster_action_undo(run=_run(self, request), user=request_user(request))
        return ApiResponse({"undone": action.summary})


@extend_schema(parameters=[OpenApiParameter("k", OpenApiTypes.INT),
                           OpenApiParameter("unlabelled", OpenApiTypes.BOOL)])
class SimilarResponsesView(ResponseThemesMixin, generics.ListAPIView):
    """The responses most like this one by embedding ("more like this"), unlabelled ones by default."""

    serializer_class = ResponseSerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return Response.objects.none()
        response = get_object_or_404(self.project.responses, pk=self.kwargs["response_id"])
        params = self.request.query_params
        return responses_similar(project=self.project, response_ids=[response.pk],
                                 k=clamped_int(params, "k", default=20, low=1, high=200),
                                 unlabelled_only=bool_param(params, "unlabelled", default=True))
