"""The OpenAPI schema, readable in a browser: a page with the YAML for browsers, the files for tools."""
from collections.abc import Mapping
from typing import Any

from django.template.loader import render_to_string
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView


class SchemaPageRenderer(OpenApiYamlRenderer):
    """The YAML inside a site page (text/html), chosen only when a client asks for HTML: a browser
    otherwise downloads `application/vnd.oai.openapi`, while curl and code generators keep getting YAML."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        yaml = super().render(data, accepted_media_type, renderer_context).decode()
        request = (renderer_context or {}).get("request")
        return render_to_string("labeling_app/core/api_schema.html", {"schema": yaml},
                                request=getattr(request, "_request", None)).encode()


class SchemaView(SpectacularAPIView):
    """OpenAPI 3 schema: YAML by default, JSON by `Accept`, and a readable page for browsers."""

    renderer_classes = [*SpectacularAPIView.renderer_classes, SchemaPageRenderer]
