"""The insights filters as the API documents them (source, metadata, dates), shared by the insights and export
endpoints, which read the same query parameters."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

FILTERS = [
    OpenApiParameter("source", OpenApiTypes.STR, enum=["human", "model"]),
    OpenApiParameter("meta", OpenApiTypes.STR, many=True, description="KEY:VALUE, repeatable, ANDed"),
    OpenApiParameter("date_field", OpenApiTypes.STR),
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
]
