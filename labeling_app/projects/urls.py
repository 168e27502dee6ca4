"""The projects package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.projects.api import auth as auth_api
from labeling_app.projects.api import invitations as invitations_api
from labeling_app.projects.api import members as members_api
from labeling_app.projects.api import projects as projects_api
from labeling_app.projects.views import members as members_views
from labeling_app.projects.views import projects as projects_views

urlpatterns = [
    path("projects/", projects_views.project_list, name="project-list"),
    path("invitations/<id:invitation_id>/", members_views.invitation_respond, name="invitation-respond"),
    path(P, projects_views.project_overview, name="project-overview"),
    path(P + "settings/", projects_views.project_settings, name="project-settings"),
    path(P + "members/", members_views.member_list, name="member-list"),
]

api_urlpatterns = [
    path("auth/token/", auth_api.TokenView.as_view(), name="api-token"),
    path("projects/", projects_api.ProjectListCreateView.as_view(), name="api-projects"),
    path(P, projects_api.ProjectDetailView.as_view(), name="api-project"),
    path(P + "members/", members_api.MemberListView.as_view(), name="api-members"),
    path(P + "members/<id:member_id>/", members_api.MemberDetailView.as_view(), name="api-member"),
    path(P + "invitations/", invitations_api.ProjectInvitationListCreateView.as_view(), name="api-project-invitations"),
    path(P + "invitations/<id:invitation_id>/", invitations_api.ProjectInvitationDetailView.as_view(),
         name="api-project-invitation"),
    path("invitations/", invitations_api.MyInvitationListView.as_view(), name="api-invitations"),
    path("invitations/<id:invitation_id>/accept/", invitations_api.MyInvitationAcceptView.as_view(),
         name="api-invitation-accept"),
    path("invitations/<id:invitation_id>/decline/", invitations_api.MyInvitationDeclineView.as_view(),
         name="api-invitation-decline"),
]
