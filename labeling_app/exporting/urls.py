"""The exporting package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.exporting import api, views

urlpatterns = [
    path(P + "reports/", views.report_request, name="report-request"),
    path(P + "reports/<id:report_id>/progress/", views.report_progress, name="report-progress"),
    path(P + "codeframe/", views.codeframe_download, name="codeframe-export"),
]

api_urlpatterns = [
    path(P + "export/", api.ExportView.as_view(), name="api-export"),
    path(P + "codeframe/", api.CodeframeView.as_view(), name="api-codeframe"),
    path(P + "reports/", api.ReportExportsView.as_view(), name="api-report-exports"),
    path(P + "reports/<id:report_id>/", api.ReportExportView.as_view(), name="api-report-export"),
    path(P + "reports/<id:report_id>/file/", api.ReportExportFileView.as_view(), name="api-report-export-file"),
]
