"""The review package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.review import api, views

urlpatterns = [
    path(P + "agreement/", views.agreement_page, name="agreement"),
    path(P + "agreement/download.<str:fmt>", views.agreement_download, name="agreement-download"),
    path(P + "disagreements/", views.disagreements_page, name="disagreements"),
    path(P + "check-labels/", views.label_checks_page, name="label-checks"),
]

api_urlpatterns = [
    path(P + "agreement/", api.AgreementView.as_view(), name="api-agreement"),
    path(P + "disagreements/", api.DisagreementListView.as_view(), name="api-disagreements"),
    path(P + "disagreements/<id:response_id>/resolve/", api.DisagreementResolveView.as_view(),
         name="api-disagreement-resolve"),
    path(P + "label-checks/", api.LabelChecksView.as_view(), name="api-label-checks"),
]
