from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from contactcenter.health import health

urlpatterns = [
    # First: the PBX webhook (its first pattern) is the most requested URL, many times a second,
    # and every pattern before it is tried on each request.
    path("", include("telephony.urls")),
    path("", RedirectView.as_view(pattern_name="crm:my_work", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/", include("contactcenter.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("reporting.urls")),
    path("", include("contactcenter.tenancy.urls")),
    path("", include("crm.urls")),
]
