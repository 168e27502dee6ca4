"""The exporting package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import URLPattern, path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.exporting import api

urlpatterns: list[URLPattern] = []

api_urlpatterns = [
    path(P + "export/", api.ExportView.as_view(), name="api-export"),
]
