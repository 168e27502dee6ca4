"""The audit package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.audit import api, views
from labeling_app.core.http.params import PROJECT_PATH as P

urlpatterns = [
    path(P + "audit/", views.audit_page, name="audit"),
]

api_urlpatterns = [
    path(P + "audit/", api.AuditListView.as_view(), name="api-audit"),
]
