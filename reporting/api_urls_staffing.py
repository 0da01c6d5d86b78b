"""Routes of this capability (see reporting/urls.py)."""

urlpatterns = []
