from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import SimpleRouter

from contactcenter.tenancy.api import CompanyViewSet
from crm.api import views

app_name = "api"

router = SimpleRouter()
router.register("companies", CompanyViewSet, basename="company")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("tickets", views.TicketViewSet, basename="ticket")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
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
