"""Shapes of customers, tickets and comments in the API; every write goes through crm.services.

Related ids are looked up among the requesting user's companies only, so an id of a company the
user cannot see is refused exactly like a missing one; the services then check that each related
object belongs to the same company as the object being written.
"""

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.settings import api_settings

from contactcenter.tenancy.models import WRITE_ROLES, Company, Skill, Team
from contactcenter.tenancy.scoping import companies_for, company_ids_for, has_role, scoped
from crm.models import (
    Customer,
    CustomerPhone,
    Status,
    Ticket,
    TicketCategory,
    TicketComment,
)
from crm.services.customers import CUSTOMER_FIELDS, customer_create, customer_update
from crm.services.tickets import ticket_assign, ticket_create, ticket_update


@contextmanager
def service_errors():
    """A service's ValidationError becomes a 400 keyed by the fields it names."""
    try:
        yield
    except DjangoValidationError as exc:
        detail = serializers.as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        raise serializers.ValidationError(detail) from exc


def _user(field_or_serializer):
    return field_or_serializer.context["request"].user


# --- Fields -----------------------------------------------------------------------------------


class CompanySlugField(serializers.SlugRelatedField):
    """A client company named by its slug, among the companies the user belongs to."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Company.objects.all())
        kwargs.setdefault("help_text", _("Slug of one of your client companies."))
        super().__init__(slug_field="slug", **kwargs)
        # The same words for a company of others and a missing one: the slug is not echoed.
        self.error_messages["does_not_exist"] = _("None of your client companies has this slug.")

    def get_queryset(self):
        return companies_for(_user(self))


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id among the rows of the user's companies; another company's id reads as missing."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The same words for another company's id and a missing one: the id is not echoed.
        self.error_messages["does_not_exist"] = _("No such object in your client companies.")

    def get_queryset(self):
        return scoped(super().get_queryset(), _user(self))


class MemberField(serializers.PrimaryKeyRelatedField):
    """A user id among the members of the requesting user's companies."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", get_user_model().objects.all())
        super().__init__(**kwargs)
        self.error_messages["does_not_exist"] = _("No such user in your client companies.")

    def get_queryset(self):
        ids = company_ids_for(_user(self))
        return get_user_model().objects.filter(memberships__company_id__in=ids).distinct()


class ValuesField(serializers.ListField):
    """Related rows shown and written as a list of one of their attributes (e-mails, tag names)."""

    def __init__(self, attribute: str, max_length: int, **kwargs):
        self.attribute = attribute
        super().__init__(child=serializers.CharField(max_length=max_length), **kwargs)

    def to_representation(self, data):
        return [getattr(row, self.attribute) for row in data.all()]


class CompanyOwnedSerializer(serializers.ModelSerializer):
    """The company is required on create, must grant a write role, and never changes later."""

    company = CompanySlugField()
    moved_message = _("An object cannot move to another client company.")

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["company"].required = False
        return fields

    def validate_company(self, company: Company) -> Company:
        if self.instance is not None:
            if company.pk != self.instance.company_id:
                raise serializers.ValidationError(self.moved_message)
            return company
        if not has_role(_user(self), company.pk, WRITE_ROLES):
            # A member who may only read (a client manager): refused, not told "invalid".
            raise DjangoPermissionDenied
        return company

    def company_for_checks(self, attrs) -> Company:
        return attrs.get("company") or self.instance.company


# --- Customers --------------------------------------------------------------------------------


class PhoneSerializer(serializers.Serializer):
    raw = serializers.CharField(
        max_length=50,
        help_text=_("The number as typed, in any format; read in the company's country."),
    )
    e164 = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(
        choices=CustomerPhone.Kind.choices, default=CustomerPhone.Kind.MOBILE
    )
    is_primary = serializers.BooleanField(read_only=True)


class CustomerSerializer(CompanyOwnedSerializer):
    phones = PhoneSerializer(
        many=True, required=False, help_text=_("The first phone is the primary one.")
    )
    emails = ValuesField("email", 254, required=False)
    tags = ValuesField("name", 50, required=False, help_text=_("Tag names; new ones are created."))
    custom_fields = serializers.DictField(required=False)
    owner = MemberField(required=False, allow_null=True, help_text=_("Owner agent (user id)."))
    moved_message = _("A customer cannot move to another client company.")

    class Meta:
        model = Customer
        fields = [
            "id",
            "company",
            *CUSTOMER_FIELDS,
            "display_name",
            "phones",
            "emails",
            "tags",
            "custom_fields",
            "owner",
            "consent_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["display_name", "consent_changed_at", "created_at", "updated_at"]
        # Uniqueness of external_id is checked in validate(), per company, with a clear message.
        validators = []

    def validate(self, attrs):
        external_id = attrs.get("external_id")
        if external_id:
            company = self.company_for_checks(attrs)
            clash = Customer.objects.for_tenant(company).filter(external_id=external_id)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {
                        "external_id": _(
                            "Another customer of this client company has external id %(id)s."
                        )
                        % {"id": external_id}
                    }
                )
        return attrs

    @staticmethod
    def _service_arguments(data: dict) -> dict:
        arguments = {name: data[name] for name in CUSTOMER_FIELDS if name in data}
        for name in ("phones", "emails", "tags", "custom_fields", "owner"):
            if name in data:
                arguments[name] = data[name]
        return arguments

    def create(self, validated_data):
        with service_errors():
            return customer_create(
                company=validated_data["company"], **self._service_arguments(validated_data)
            )

    def update(self, instance, validated_data):
        with service_errors():
            return customer_update(customer=instance, **self._service_arguments(validated_data))


class CustomerLookupQuerySerializer(serializers.Serializer):
    phone = serializers.CharField(help_text=_("The caller's number, in any format."))
    company = CompanySlugField()


class CustomerLookupSerializer(serializers.Serializer):
    phone = serializers.CharField()
    e164 = serializers.CharField(
        allow_null=True, help_text=_("The number searched for; null if it cannot be a number.")
    )
    results = CustomerSerializer(many=True)


# --- Tickets ----------------------------------------------------------------------------------


class TicketSerializer(CompanyOwnedSerializer):
    reference = serializers.CharField(read_only=True)
    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    category = ScopedPrimaryKeyRelatedField(
        queryset=TicketCategory.objects.all(), required=False, allow_null=True
    )
    required_skill = ScopedPrimaryKeyRelatedField(
        queryset=Skill.objects.all(), required=False, allow_null=True
    )
    team = ScopedPrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    assignee = MemberField(required=False, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)
    # Plain strings: an enum here would give the status choices a second schema name.
    allowed_transitions = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text=_("The statuses this ticket may move to next."),
    )
    moved_message = _("A ticket cannot move to another client company.")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "number",
            "company",
            "customer",
            "customer_name",
            "subject",
            "description",
            "channel",
            "status",
            "allowed_transitions",
            "priority",
            "tier",
            "category",
            "required_skill",
            "team",
            "assignee",
            "created_by",
            "first_response_due",
            "resolution_due",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "first_response_breached",
            "resolution_breached",
            "is_overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "number",
            "status",
            "created_by",
            "first_response_due",
            "resolution_due",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "first_response_breached",
            "resolution_breached",
            "created_at",
            "updated_at",
        ]

    def create(self, validated_data):
        with service_errors():
            return ticket_create(created_by=_user(self), **validated_data)


class TicketUpdateSerializer(serializers.ModelSerializer):
    """The details and the assignee; the rest changes through its own action or never."""

    category = ScopedPrimaryKeyRelatedField(
        queryset=TicketCategory.objects.all(), required=False, allow_null=True
    )
    required_skill = ScopedPrimaryKeyRelatedField(
        queryset=Skill.objects.all(), required=False, allow_null=True
    )
    team = ScopedPrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    assignee = MemberField(required=False, allow_null=True)

    fixed = {
        "company": _("A ticket cannot move to another client company."),
        "customer": _("The customer of a ticket cannot be changed."),
        "number": _("The ticket number cannot be changed."),
        "status": _("Change the status with POST /api/tickets/<id>/transition/."),
        "tier": _("Change the support tier with POST /api/tickets/<id>/escalate/."),
    }

    class Meta:
        model = Ticket
        fields = [
            "subject",
            "description",
            "channel",
            "priority",
            "category",
            "required_skill",
            "team",
            "assignee",
        ]

    def validate(self, attrs):
        # Silently ignoring these would let a client believe a ticket moved or changed status.
        refused = {name: msg for name, msg in self.fixed.items() if name in self.initial_data}
        if refused:
            raise serializers.ValidationError(refused)
        return attrs

    def update(self, instance, validated_data):
        details = {k: v for k, v in validated_data.items() if k != "assignee"}
        with service_errors():
            if details:
                ticket_update(ticket=instance, **details)
            if "assignee" in validated_data and validated_data["assignee"] != instance.assignee:
                ticket_assign(
                    ticket=instance, assignee=validated_data["assignee"], user=_user(self)
                )
        return instance


class TicketTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)


class TicketEscalateSerializer(serializers.Serializer):
    reason = serializers.CharField()
    # An integer rather than an enum, so that the tier choices keep one name in the schema;
    # the service refuses anything but a higher tier, naming the rule.
    to_tier = serializers.IntegerField(
        required=False,
        help_text=_("2 second line, 3 specialist. Default: the next tier up."),
    )
    to_team = ScopedPrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )


class TicketCommentSerializer(serializers.ModelSerializer):
    # Explicit default: a form post without the checkbox must stay internal, not reach the customer.
    is_internal = serializers.BooleanField(
        default=True,
        help_text=_("Internal notes are for staff; replies are visible to the customer."),
    )

    class Meta:
        model = TicketComment
        fields = ["id", "ticket", "author", "body", "is_internal", "created_at"]
        read_only_fields = ["ticket", "author", "created_at"]
