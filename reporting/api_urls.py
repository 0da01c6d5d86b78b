"""Report endpoints under /api/reports/ (JSON), one module per capability."""

from django.urls import include, path

urlpatterns = [
    path("reports/staffing/", include("reporting.api_urls_staffing")),
    path("reports/", include("reporting.api_urls_reports")),
]
