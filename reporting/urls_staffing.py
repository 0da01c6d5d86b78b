"""Routes of this capability (see reporting/urls.py)."""

from django.urls import path

from reporting import staffing_views

urlpatterns = [
    path("erlang-c/", staffing_views.erlang_c, name="erlang_c"),
]
