"""Report pages under /reports/ (see reporting/urls.py)."""

from django.urls import path

from reporting import wallboard_views

urlpatterns = [
    path("wallboard/", wallboard_views.wallboard, name="wallboard"),
]
