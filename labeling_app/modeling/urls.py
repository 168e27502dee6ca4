"""The modeling package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import URLPattern, path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.modeling import api, views

urlpatterns = [
    path(P + "model/", views.model_page, name="model"),
]

api_urlpatterns: list[URLPattern] = [
    path(P + "autocode/", api.AutoCodeView.as_view(), name="api-autocode"),
    path(P + "autocode/check/", api.AutoCodeCheckView.as_view(), name="api-autocode-check"),
]
