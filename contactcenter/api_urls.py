from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Import/export routes come before the router so that "customers/import/" is not a pk.
    path("", include("reporting.api_urls")),
    path("", include("crm.api_imports")),
    path("", include("crm.api.urls")),
]
