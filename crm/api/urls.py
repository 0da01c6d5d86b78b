from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import ScopedRateThrottle

from contactcenter.tenancy.api import CompanyViewSet
from crm.api import views

app_name = "api"

router = SimpleRouter()
router.register("companies", CompanyViewSet, basename="company")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("tickets", views.TicketViewSet, basename="ticket")


class TokenView(ObtainAuthToken):
    """Username and password for a token; throttled per client address against guessing."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path(
        "customers/<int:customer_id>/tickets/",
        views.CustomerTicketViewSet.as_view({"get": "list"}),
        name="customer-tickets",
    ),
    path(
        "tickets/<int:ticket_id>/comments/",
        views.TicketCommentViewSet.as_view({"get": "list", "post": "create"}),
        name="ticket-comments",
    ),
    *router.urls,
]
