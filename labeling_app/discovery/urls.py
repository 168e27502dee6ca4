"""The discovery package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.discovery import api, views

urlpatterns = [
    path(P + "clusters/", views.clusters_page, name="clusters"),
    path(P + "clusters/status/", views.discovery_status, name="discovery-status"),
    path(P + "clusters/<id:cluster_id>/", views.cluster_page, name="cluster"),
    path(P + "map/", views.map_page, name="map"),
    path(P + "map/points/", views.map_data, name="map-data"),
    path(P + "map/label/", views.map_label, name="map-label"),
    path(P + "similar/", views.similar_page, name="similar"),
]

api_urlpatterns = [
    path(P + "discovery-runs/", api.DiscoveryRunListCreateView.as_view(), name="api-discovery-runs"),
    path(P + "discovery-runs/<id:run_id>/", api.DiscoveryRunDetailView.as_view(), name="api-discovery-run"),
    path(P + "clusters/", api.ClusterListView.as_view(), name="api-clusters"),
    path(P + "clusters/merge/", api.ClusterMergeView.as_view(), name="api-clusters-merge"),
    path(P + "clusters/move/", api.ClusterMoveView.as_view(), name="api-clusters-move"),
    path(P + "clusters/undo/", api.ClusterUndoView.as_view(), name="api-clusters-undo"),
    path(P + "clusters/<id:cluster_id>/", api.ClusterDetailView.as_view(), name="api-cluster"),
    path(P + "clusters/<id:cluster_id>/responses/", api.ClusterMembersView.as_view(),
         name="api-cluster-responses"),
    path(P + "clusters/<id:cluster_id>/split/", api.ClusterSplitView.as_view(), name="api-cluster-split"),
    path(P + "clusters/<id:cluster_id>/make-theme/", api.ClusterMakeThemeView.as_view(),
         name="api-cluster-make-theme"),
    path(P + "responses/<id:response_id>/similar/", api.SimilarResponsesView.as_view(),
         name="api-response-similar"),
]
