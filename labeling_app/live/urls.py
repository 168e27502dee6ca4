"""The live package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import URLPattern, path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.live import views

urlpatterns = [
    path(P + "events/", views.project_events, name="project-events"),
]

api_urlpatterns: list[URLPattern] = []
