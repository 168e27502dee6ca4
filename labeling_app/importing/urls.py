"""The importing package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.importing import api, views

urlpatterns = [
    path(P + "imports/", views.import_upload, name="import-upload"),
    path(P + "imports/<id:import_id>/progress/", views.import_progress, name="import-progress"),
    path(P + "embeddings/progress/", views.embedding_progress, name="embedding-progress"),
]

api_urlpatterns = [
    path(P + "imports/", api.ImportListCreateView.as_view(), name="api-imports"),
    path(P + "imports/<id:import_id>/", api.ImportDetailView.as_view(), name="api-import"),
    path(P + "codeframe/import/", api.CodeframeImportView.as_view(), name="api-codeframe-import"),
]
