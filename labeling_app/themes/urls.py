"""The themes package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.themes import api, views

urlpatterns = [
    path(P + "themes/", views.theme_editor, name="theme-editor"),
]

api_urlpatterns = [
    path(P + "themes/", api.ThemeListCreateView.as_view(), name="api-themes"),
    path(P + "themes/<id:theme_id>/", api.ThemeDetailView.as_view(), name="api-theme"),
]
