"""Routes of this capability (see reporting/urls.py).

reporting/api_urls.py sets no app_name, so these names are global, like the staffing API's
"reports-erlang-c".
"""

from django.urls import path

from reporting.api_reports import (
    AgentReportView,
    CompaniesReportView,
    IntervalReportView,
    QueueReportView,
    TicketReportView,
)

urlpatterns = [
    path("queues/", QueueReportView.as_view(), name="reports-queues"),
    path("agents/", AgentReportView.as_view(), name="reports-agents"),
    path("intervals/", IntervalReportView.as_view(), name="reports-intervals"),
    path("companies/", CompaniesReportView.as_view(), name="reports-companies"),
    path("tickets/", TicketReportView.as_view(), name="reports-tickets"),
]
