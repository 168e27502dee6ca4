"""The site's URLs: each package lists its own pages (`urlpatterns`) and API endpoints (`api_urlpatterns`)."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerSplitView

from labeling_app.audit import urls as audit
from labeling_app.core.http import schema
from labeling_app.discovery import urls as discovery
from labeling_app.exporting import urls as exporting
from labeling_app.importing import urls as importing
from labeling_app.insights import urls as insights
from labeling_app.labeling import urls as labeling
from labeling_app.live import urls as live
from labeling_app.modeling import urls as modeling
from labeling_app.projects import urls as projects
from labeling_app.review import urls as review
from labeling_app.themes import urls as themes

PACKAGES = (projects, themes, importing, labeling, modeling, live, discovery, review, insights, exporting, audit)

api_urlpatterns = [
    path("schema/", schema.SchemaView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *(p for package in PACKAGES for p in package.api_urlpatterns),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="project-list"), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    *(p for package in PACKAGES for p in package.urlpatterns),
]


# Pages get 400/403/404 in the site's layout (500: Django's plain page); paths under /api/ keep the JSON error shape.
handler400 = "labeling_app.projects.views.errors.bad_request"
handler403 = "labeling_app.projects.views.errors.permission_denied"
handler404 = "labeling_app.projects.views.errors.page_not_found"
handler500 = "labeling_app.projects.views.errors.server_error"
