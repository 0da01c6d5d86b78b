"""Report pages. Each capability keeps its routes in its own module, included here."""

from django.urls import include, path

app_name = "reporting"

urlpatterns = [
    path("reports/staffing/", include("reporting.urls_staffing")),
    path("reports/", include("reporting.urls_reports")),
]
