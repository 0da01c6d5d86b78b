"""Routes of this capability (see reporting/urls.py)."""

from django.urls import path

from reporting import forecast_views, staffing_views

urlpatterns = [
    path("erlang-c/", staffing_views.erlang_c, name="erlang_c"),
    path("forecast/", forecast_views.staffing_forecast_page, name="staffing_forecast"),
]
