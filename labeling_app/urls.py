from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from labeling_app.views import (
    audit,
    discovery,
    imports,
    insights,
    labeling,
    members,
    projects,
    responses,
    review,
    themes,
)
from labeling_app.views import model as model_views
from labeling_app.views.events import project_events

P = "projects/<id:project_id>/"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="project-list"), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("labeling_app.api.urls")),
    path("projects/", projects.project_list, name="project-list"),
    path("invitations/<id:invitation_id>/", members.invitation_respond, name="invitation-respond"),
    path(P, projects.project_overview, name="project-overview"),
    path(P + "themes/", themes.theme_editor, name="theme-editor"),
    path(P + "settings/", projects.project_settings, name="project-settings"),
    path(P + "responses/", responses.response_browser, name="response-browser"),
    path(P + "members/", members.member_list, name="member-list"),
    path(P + "imports/", imports.import_upload, name="import-upload"),
    path(P + "imports/<id:import_id>/progress/", imports.import_progress, name="import-progress"),
    path(P + "embeddings/progress/", imports.embedding_progress, name="embedding-progress"),
    path(P + "label/", labeling.labeling_page, name="labeling"),
    path(P + "suggestions/", labeling.suggestions_page, name="suggestions"),
    path(P + "model/", model_views.model_page, name="model"),
    path(P + "audit/", audit.audit_page, name="audit"),
    path(P + "insights/", insights.insights_page, name="insights"),
    path(P + "insights/charts/<str:view>/", insights.insights_charts, name="insights-charts"),
    path(P + "events/", project_events, name="project-events"),
    path(P + "clusters/", discovery.clusters_page, name="clusters"),
    path(P + "clusters/status/", discovery.discovery_status, name="discovery-status"),
    path(P + "clusters/<id:cluster_id>/", discovery.cluster_page, name="cluster"),
    path(P + "map/", discovery.map_page, name="map"),
    path(P + "map/points/", discovery.map_data, name="map-data"),
    path(P + "map/label/", discovery.map_label, name="map-label"),
    path(P + "similar/", discovery.similar_page, name="similar"),
    path(P + "agreement/", review.agreement_page, name="agreement"),
    path(P + "agreement/download.<str:fmt>", review.agreement_download, name="agreement-download"),
    path(P + "disagreements/", review.disagreements_page, name="disagreements"),
]


# Pages get 400/403/404 in the site's layout; paths under /api/ keep the JSON error shape.
handler400 = "labeling_app.views.errors.bad_request"
handler403 = "labeling_app.views.errors.permission_denied"
handler404 = "labeling_app.views.errors.page_not_found"
