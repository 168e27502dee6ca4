from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.authtoken.views import obtain_auth_token

from labeling_app.api import discovery, exports, imports, labeling, members, projects, responses, review, schema, themes

P = "projects/<int:project_id>/"

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", schema.SchemaView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("projects/", projects.ProjectListCreateView.as_view(), name="api-projects"),
    path(P, projects.ProjectDetailView.as_view(), name="api-project"),
    path(P + "themes/", themes.ThemeListCreateView.as_view(), name="api-themes"),
    path(P + "themes/<int:theme_id>/", themes.ThemeDetailView.as_view(), name="api-theme"),
    path(P + "responses/", responses.ResponseListView.as_view(), name="api-responses"),
    path(P + "responses/<int:response_id>/", responses.ResponseDetailView.as_view(), name="api-response"),
    path(P + "imports/", imports.ImportListCreateView.as_view(), name="api-imports"),
    path(P + "imports/<int:import_id>/", imports.ImportDetailView.as_view(), name="api-import"),
    path(P + "members/", members.MemberListCreateView.as_view(), name="api-members"),
    path(P + "members/<int:member_id>/", members.MemberDetailView.as_view(), name="api-member"),
    path(P + "queue/", labeling.QueueView.as_view(), name="api-queue"),
    path(P + "annotations/", labeling.AnnotationsView.as_view(), name="api-annotations"),
    path(P + "model/", labeling.ModelView.as_view(), name="api-model"),
    path(P + "suggestions/", labeling.SuggestionListView.as_view(), name="api-suggestions"),
    path(P + "suggestions/accept/", labeling.SuggestionAcceptView.as_view(), name="api-suggestions-accept"),
    path(P + "suggestions/reject/", labeling.SuggestionRejectView.as_view(), name="api-suggestions-reject"),
    path(P + "discovery-runs/", discovery.DiscoveryRunListCreateView.as_view(), name="api-discovery-runs"),
    path(P + "discovery-runs/<int:run_id>/", discovery.DiscoveryRunDetailView.as_view(), name="api-discovery-run"),
    path(P + "clusters/", discovery.ClusterListView.as_view(), name="api-clusters"),
    path(P + "clusters/merge/", discovery.ClusterMergeView.as_view(), name="api-clusters-merge"),
    path(P + "clusters/move/", discovery.ClusterMoveView.as_view(), name="api-clusters-move"),
    path(P + "clusters/undo/", discovery.ClusterUndoView.as_view(), name="api-clusters-undo"),
    path(P + "clusters/<int:cluster_id>/", discovery.ClusterDetailView.as_view(), name="api-cluster"),
    path(P + "clusters/<int:cluster_id>/responses/", discovery.ClusterMembersView.as_view(),
         name="api-cluster-responses"),
    path(P + "clusters/<int:cluster_id>/split/", discovery.ClusterSplitView.as_view(), name="api-cluster-split"),
    path(P + "clusters/<int:cluster_id>/make-theme/", discovery.ClusterMakeThemeView.as_view(),
         name="api-cluster-make-theme"),
    path(P + "export/", exports.ExportView.as_view(), name="api-export"),
    path(P + "agreement/", review.AgreementView.as_view(), name="api-agreement"),
    path(P + "disagreements/", review.DisagreementListView.as_view(), name="api-disagreements"),
    path(P + "disagreements/<int:response_id>/resolve/", review.DisagreementResolveView.as_view(),
         name="api-disagreement-resolve"),
    path(P + "responses/<int:response_id>/similar/", discovery.SimilarResponsesView.as_view(),
         name="api-response-similar"),
]
