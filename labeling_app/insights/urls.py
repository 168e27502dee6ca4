"""The insights package's pages and API endpoints (the API's under /api/, see labeling_app.urls)."""
from django.urls import path

from labeling_app.core.http.params import PROJECT_PATH as P
from labeling_app.insights import api, views

urlpatterns = [
    path(P + "insights/", views.insights_page, name="insights"),
    path(P + "insights/charts/<str:view>/", views.insights_charts, name="insights-charts"),
]

api_urlpatterns = [
    path(P + "insights/prevalence/", api.PrevalenceView.as_view(), name="api-insights-prevalence"),
    path(P + "insights/terms/", api.TermsView.as_view(), name="api-insights-terms"),
    path(P + "insights/sentiment/", api.SentimentView.as_view(), name="api-insights-sentiment"),
    path(P + "insights/waves/", api.WavesView.as_view(), name="api-insights-waves"),
    path(P + "insights/terms/responses/", api.TermResponsesView.as_view(), name="api-insights-term-responses"),
    path(P + "insights/drivers/", api.DriversView.as_view(), name="api-insights-drivers"),
    path(P + "insights/cooccurrence/", api.CooccurrenceView.as_view(), name="api-insights-cooccurrence"),
    path(P + "insights/trends/", api.TrendsView.as_view(), name="api-insights-trends"),
    path(P + "insights/quotes/", api.QuotesView.as_view(), name="api-insights-quotes"),
    path(P + "insights/charts/<str:view>.<str:fmt>", api.ChartFileView.as_view(), name="api-insights-chart"),
    path(P + "insights/quotes/pin/", api.QuotePinView.as_view(), name="api-insights-quote-pin"),
    path(P + "insights/quotes/unpin/", api.QuoteUnpinView.as_view(), name="api-insights-quote-unpin"),
]
