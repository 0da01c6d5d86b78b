"""Report pages under /reports/ (see reporting/urls.py)."""

from django.urls import path

from reporting import views, wallboard_views

urlpatterns = [
    path("wallboard/", wallboard_views.wallboard, name="wallboard"),
    path("queues/", views.queues, name="queues"),
    path("agents/", views.agents, name="agents"),
    path("intervals/", views.intervals, name="intervals"),
    path("companies/", views.companies, name="companies"),
    path("tickets/", views.tickets, name="tickets"),
]
