"""API entrances for customers, tickets and comments: scope, check the role, call one service.

Every queryset starts from the user's companies, so another company's object answers 404 exactly
like a missing id; members who may only read (client managers) get 403 on writes.
"""

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone, translation
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from contactcenter.lib.phones import lookup_key
from contactcenter.tenancy.middleware import user_zone
from contactcenter.tenancy.scoping import company_from_param, get_scoped_or_404, scoped
from crm.api.filters import CustomerFilter, TicketFilter
from crm.api.permissions import CompanyWriteRole
from crm.api.serializers import (
    CustomerLookupQuerySerializer,
    CustomerLookupSerializer,
    CustomerSerializer,
    TicketCommentSerializer,
    TicketEscalateSerializer,
    TicketSerializer,
    TicketTransitionSerializer,
    TicketUpdateSerializer,
    service_errors,
)
from crm.models import Customer, Ticket, TicketComment
from crm.selectors import customers_by_phone, ticket_list
from crm.services.tickets import ticket_comment_add, ticket_escalate, ticket_transition

CUSTOMER_PREFETCH = ("phones", "emails", "tags")


class TokenClientLocaleMixin:
    """Times in the user's zone and messages in their language, for token clients too.

    The middleware that does this for the pages sees only the session user; a token is read
    later, by DRF, so its user would otherwise get UTC times and the default language.
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if isinstance(request.successful_authenticator, TokenAuthentication):
            zone = user_zone(request.user)
            if zone:
                timezone.activate(zone)
            preference = getattr(request.user, "_preference", None)
            if preference and preference.language:
                translation.activate(preference.language)
                request.LANGUAGE_CODE = preference.language


def _customers(user):
    return (
        scoped(Customer.objects.all(), user)
        .select_related("company")
        .prefetch_related(*CUSTOMER_PREFETCH)
    )


@extend_schema_view(
    list=extend_schema(summary="List customers"),
    create=extend_schema(summary="Create a customer"),
    retrieve=extend_schema(summary="Show a customer"),
    update=extend_schema(summary="Replace a customer's details"),
    partial_update=extend_schema(summary="Change some of a customer's details"),
)
class CustomerViewSet(
    TokenClientLocaleMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customers of your client companies, with their phones, e-mails, tags and custom fields."""

    serializer_class = CustomerSerializer
    permission_classes = [IsAuthenticated, CompanyWriteRole]
    filterset_class = CustomerFilter
    ordering_fields = ["display_name", "created_at", "updated_at", "id"]
    queryset = Customer.objects.none()
    company_from_body = True

    def get_queryset(self):
        return _customers(self.request.user)

    @extend_schema(
        summary="Find the customers with a phone number",
        parameters=[CustomerLookupQuerySerializer],
        responses=CustomerLookupSerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def lookup(self, request):
        """Every customer of the company with this number, typed in any format (caller lookup)."""
        # Like the list filters: a company of others answers 404, exactly like a missing one.
        company_from_param(request.user, request.query_params.get("company"))
        query = CustomerLookupQuerySerializer(
            data=request.query_params, context=self.get_serializer_context()
        )
        query.is_valid(raise_exception=True)
        company, phone = query.validated_data["company"], query.validated_data["phone"]
        customers = customers_by_phone(company, phone)
        prefetch_related_objects(customers, "company", *CUSTOMER_PREFETCH)
        answer = {
            "phone": phone,
            "e164": lookup_key(phone, company.default_country),
            "results": customers,
        }
        return Response(
            CustomerLookupSerializer(answer, context=self.get_serializer_context()).data
        )


@extend_schema_view(list=extend_schema(summary="List a customer's tickets"))
class CustomerTicketViewSet(TokenClientLocaleMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The tickets of one customer, newest first."""

    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    ordering_fields = ["created_at", "updated_at", "resolution_due", "number"]
    queryset = Ticket.objects.none()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.customer = get_scoped_or_404(
            Customer.objects.all(), request.user, pk=self.kwargs["customer_id"]
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ticket.objects.none()
        return ticket_list(self.request.user).filter(customer=self.customer)


@extend_schema_view(
    list=extend_schema(summary="List tickets"),
    create=extend_schema(summary="Open a ticket"),
    retrieve=extend_schema(summary="Show a ticket"),
)
class TicketViewSet(
    TokenClientLocaleMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Tickets of your client companies; status and tier change through their own actions."""

    serializer_class = TicketSerializer
    permission_classes = [IsAuthenticated, CompanyWriteRole]
    filterset_class = TicketFilter
    ordering_fields = ["created_at", "updated_at", "resolution_due", "number"]
    queryset = Ticket.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]
    company_from_body = True

    def get_queryset(self):
        return ticket_list(self.request.user)

    def _answer(self, ticket: Ticket) -> Response:
        return Response(TicketSerializer(ticket, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Change a ticket's details or assignee",
        request=TicketUpdateSerializer,
        responses=TicketSerializer,
    )
    def partial_update(self, request, *args, **kwargs):
        ticket = self.get_object()
        serializer = TicketUpdateSerializer(
            ticket, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        # Details and assignee are two service calls: both happen or neither does.
        with transaction.atomic():
            serializer.save()
        return self._answer(ticket)

    @extend_schema(
        summary="Move a ticket to another status",
        request=TicketTransitionSerializer,
        responses=TicketSerializer,
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        ticket = self.get_object()
        serializer = TicketTransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            ticket_transition(
                ticket=ticket, to_status=serializer.validated_data["status"], user=request.user
            )
        return self._answer(ticket)

    @extend_schema(
        summary="Escalate a ticket to a higher support tier",
        request=TicketEscalateSerializer,
        responses=TicketSerializer,
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request, pk=None):
        """The ticket moves up a tier (and to a team, if given) and leaves its assignee."""
        ticket = self.get_object()
        serializer = TicketEscalateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        with service_errors():
            ticket_escalate(ticket=ticket, user=request.user, **serializer.validated_data)
        return self._answer(ticket)


@extend_schema_view(
    list=extend_schema(summary="List a ticket's comments"),
    create=extend_schema(summary="Add an internal note or a reply to the customer"),
)
class TicketCommentViewSet(
    TokenClientLocaleMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Internal notes and customer-visible replies of one ticket, oldest first."""

    serializer_class = TicketCommentSerializer
    permission_classes = [IsAuthenticated, CompanyWriteRole]
    filter_backends: list = []
    queryset = TicketComment.objects.none()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.ticket = get_scoped_or_404(
            Ticket.objects.all(), request.user, pk=self.kwargs["ticket_id"]
        )
        # Writing a comment is writing on the ticket: a read-only member gets 403 here.
        self.check_object_permissions(request, self.ticket)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TicketComment.objects.none()
        return TicketComment.objects.for_user(self.request.user).filter(ticket=self.ticket)

    def perform_create(self, serializer):
        with service_errors():
            serializer.instance = ticket_comment_add(
                ticket=self.ticket,
                author=self.request.user,
                body=serializer.validated_data["body"],
                is_internal=serializer.validated_data["is_internal"],
            )
