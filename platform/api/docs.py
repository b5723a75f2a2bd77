"""The API's generated description: the OpenAPI 3 document (drf-spectacular, from the views) at
/api/openapi.json, and a browsable Swagger UI page at /api/docs/.

The page works under the site's Content-Security-Policy (scripts and styles from 'self' only):
Swagger UI's files are served from our static files (drf-spectacular-sidecar), its start script
is a separate request (SpectacularSwaggerSplitView), and the page's template has no inline style.
"""
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny


class OpenApiDocument(SpectacularAPIView):
    """GET /api/openapi.json: always JSON, as application/json (no content negotiation to YAML)."""

    renderer_classes = (OpenApiJsonRenderer2,)
    authentication_classes = ()
    permission_classes = (AllowAny,)


class ApiDocsPage(SpectacularSwaggerSplitView):
    """GET /api/docs/: Swagger UI on the generated document."""

    url_name = "api:openapi"
    template_name = "api/docs.html"
    authentication_classes = ()
    permission_classes = (AllowAny,)
