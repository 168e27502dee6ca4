"""The labeling package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.labeling.api import labeling as labeling_api
from labeling_app.labeling.api import responses as responses_api
from labeling_app.labeling.views import labeling as labeling_views
from labeling_app.labeling.views import responses as responses_views

urlpatterns = [
    path(P + "responses/", responses_views.response_browser, name="response-browser"),
    path(P + "label/", labeling_views.labeling_page, name="labeling"),
    path(P + "suggestions/", labeling_views.suggestions_page, name="suggestions"),
]

api_urlpatterns = [
    path(P + "responses/", responses_api.ResponseListView.as_view(), name="api-responses"),
    path(P + "responses/<id:response_id>/", responses_api.ResponseDetailView.as_view(), name="api-response"),
    path(P + "queue/", labeling_api.QueueView.as_view(), name="api-queue"),
    path(P + "annotations/", labeling_api.AnnotationsView.as_view(), name="api-annotations"),
    path(P + "model/", labeling_api.ModelView.as_view(), name="api-model"),
    path(P + "suggestions/", labeling_api.SuggestionListView.as_view(), name="api-suggestions"),
    path(P + "suggestions/accept/", labeling_api.SuggestionAcceptView.as_view(), name="api-suggestions-accept"),
    path(P + "suggestions/reject/", labeling_api.SuggestionRejectView.as_view(), name="api-suggestions-reject"),
]
