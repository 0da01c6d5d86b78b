"""Routes of this capability (see reporting/urls.py).

reporting/api_urls.py sets no app_name, so these names are global (like crm/api_imports.py's
"api-customer-import"), not in the "api" namespace of crm/api/urls.py.
"""

from django.urls import path

from reporting.api_forecast import StaffingForecastView
from reporting.api_staffing import ErlangCView

urlpatterns = [
    path("erlang-c/", ErlangCView.as_view(), name="reports-erlang-c"),
    path("forecast/", StaffingForecastView.as_view(), name="reports-staffing-forecast"),
]
