"""Forms of the back office pages. They validate input and offer choices from one company only;
the writes themselves go through `crm.services`."""

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from contactcenter.lib.phones import InvalidPhone, normalize_phone
from contactcenter.tenancy.models import WRITE_ROLES, Company, Skill, Team, validate_region
from crm.models import (
    Customer,
    CustomerPhone,
    CustomFieldDefinition,
    Priority,
    Status,
    Ticket,
    TicketCategory,
    Tier,
)
from crm.services.customers import CUSTOMER_FIELDS, PhoneInput

User = get_user_model()


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


def time_zone_choices(blank_label) -> list[tuple[str, str]]:
    return [("", blank_label), *((z, z) for z in sorted(zoneinfo.available_timezones()))]


def user_label(user) -> str:
    return user.get_full_name() or user.get_username()


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return user_label(obj)


def members_of(company_ids, roles=None):
    """Users with a membership in one of the companies (and one of the roles)."""
    condition = Q(memberships__company_id__in=list(company_ids))
    if roles is not None:
        condition &= Q(memberships__role__in=list(roles))
    return (
        User.objects.filter(condition, is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


class CompanyChoiceForm(forms.Form):
    """The first step of creating a customer for a user who writes in several companies."""

    company = forms.ModelChoiceField(
        label=_("Client company"), queryset=Company.objects.none(), to_field_name="slug"
    )

    def __init__(self, *args, companies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies


# --- Customers --------------------------------------------------------------------------------


class PhoneForm(forms.Form):
    raw = forms.CharField(label=_("Phone number"), max_length=50, required=False)
    # Not required: an empty extra row is ignored whatever its kind says.
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=CustomerPhone.Kind.choices,
        initial=CustomerPhone.Kind.MOBILE,
        required=False,
    )

    def __init__(self, *args, company: Company, **kwargs):
        self.company = company
        super().__init__(*args, **kwargs)

    def clean_raw(self) -> str:
        raw = self.cleaned_data["raw"].strip()
        if raw:
            try:
                self.e164 = normalize_phone(raw, self.company.default_country).e164
            except InvalidPhone as exc:
                raise ValidationError(str(exc)) from None
        return raw


class BasePhoneFormSet(forms.BaseFormSet):
    def __init__(self, *args, company: Company, **kwargs):
        self.company = company
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "company": self.company}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            company=self.company,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def clean(self):
        seen: dict[str, str] = {}
        for form in self.forms:
            e164 = getattr(form, "e164", None)
            if not form.cleaned_data.get("raw") or e164 is None:
                continue
            if e164 in seen:
                raise ValidationError(
                    _("%(a)s and %(b)s are the same number (%(e164)s)."),
                    params={"a": seen[e164], "b": form.cleaned_data["raw"], "e164": e164},
                )
            seen[e164] = form.cleaned_data["raw"]

    def phones(self) -> list[PhoneInput]:
        """The numbers typed, in order: the first is the primary one."""
        return [
            PhoneInput(
                raw=form.cleaned_data["raw"],
                kind=form.cleaned_data["kind"] or CustomerPhone.Kind.MOBILE,
            )
            for form in self.forms
            if form.cleaned_data.get("raw")
        ]


PhoneFormSet = forms.formset_factory(PhoneForm, formset=BasePhoneFormSet, extra=2)


def phone_formset(data, company: Company, customer: Customer | None = None) -> BasePhoneFormSet:
    initial = [{"raw": p.raw, "kind": p.kind} for p in customer.phones.all()] if customer else None
    return PhoneFormSet(data, initial=initial, company=company, prefix="phones")


_BOOLEAN_CHOICES = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


def _custom_field(definition: CustomFieldDefinition) -> forms.Field:
    kind = CustomFieldDefinition.FieldType
    common = {"label": definition.label, "required": definition.required}
    if definition.field_type == kind.NUMBER:
        return forms.DecimalField(**common)
    if definition.field_type == kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if definition.field_type == kind.BOOLEAN:
        return forms.ChoiceField(choices=_BOOLEAN_CHOICES, **common)
    if definition.field_type == kind.CHOICE:
        choices = [("", "—"), *((str(c), str(c)) for c in definition.choices)]
        return forms.ChoiceField(choices=choices, **common)
    return forms.CharField(max_length=500, **common)


def _custom_initial(definition: CustomFieldDefinition, value):
    if definition.field_type == CustomFieldDefinition.FieldType.BOOLEAN and value is not None:
        return "yes" if value else "no"
    return value


class CustomerForm(forms.Form):
    """Everything about a customer of one company except phones, which have their own formset."""

    def __init__(self, *args, company: Company, customer: Customer | None = None, **kwargs):
        self.company = company
        self.customer = customer
        if customer is not None:
            kwargs.setdefault("initial", self.initial_for(customer))
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(Customer, fields=CUSTOMER_FIELDS))
        self.fields["time_zone"] = forms.ChoiceField(
            label=capfirst(Customer._meta.get_field("time_zone").verbose_name),
            choices=time_zone_choices("—"),
            required=False,
        )
        self.fields["language"] = forms.ChoiceField(
            label=capfirst(Customer._meta.get_field("language").verbose_name),
            choices=[("", "—"), *settings.LANGUAGES],
            required=False,
        )
        self.fields["country"].help_text = _("Two letters, e.g. RU, IT, US.")
        self.fields["address"].widget.attrs["rows"] = 3
        self.fields["owner"] = UserChoiceField(
            label=capfirst(Customer._meta.get_field("owner").verbose_name),
            queryset=members_of([company.pk], WRITE_ROLES),
            required=False,
        )
        self.fields["emails"] = forms.CharField(
            label=_("E-mails"),
            widget=forms.Textarea(attrs={"rows": 2}),
            required=False,
            help_text=_("One per line; the first is the primary one."),
        )
        self.fields["tags"] = forms.CharField(
            label=_("Tags"),
            required=False,
            help_text=_("Separated by commas; new tags are created."),
        )
        self.definitions = list(CustomFieldDefinition.objects.for_tenant(company))
        for definition in self.definitions:
            self.fields[f"cf_{definition.key}"] = _custom_field(definition)

    @staticmethod
    def initial_for(customer: Customer) -> dict:
        initial = {name: getattr(customer, name) for name in CUSTOMER_FIELDS}
        initial["owner"] = customer.owner_id
        initial["emails"] = "\n".join(e.email for e in customer.emails.all())
        initial["tags"] = ", ".join(t.name for t in customer.tags.all())
        definitions = CustomFieldDefinition.objects.for_tenant(customer.company_id)
        for definition in definitions:
            value = customer.custom_fields.get(definition.key)
            initial[f"cf_{definition.key}"] = _custom_initial(definition, value)
        return initial

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country:
            validate_region(country)
        return country

    def clean_external_id(self) -> str:
        external_id = self.cleaned_data["external_id"].strip()
        others = Customer.objects.for_tenant(self.company).filter(external_id=external_id)
        if self.customer is not None:
            others = others.exclude(pk=self.customer.pk)
        if external_id and others.exists():
            raise ValidationError(
                _("Another customer of this company already has the external id %(id)s."),
                params={"id": external_id},
            )
        return external_id

    def service_arguments(self) -> dict:
        """Keyword arguments for customer_create / customer_update."""
        data = self.cleaned_data
        custom = {}
        for definition in self.definitions:
            value = data.get(f"cf_{definition.key}")
            custom[definition.key] = "" if value is None else value
        return {
            **{name: data[name] for name in CUSTOMER_FIELDS},
            "owner": data["owner"],
            "emails": [line for line in data["emails"].splitlines() if line.strip()],
            "tags": [t for t in data["tags"].split(",") if t.strip()],
            "custom_fields": custom,
        }


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}))


# --- Tickets ----------------------------------------------------------------------------------

TICKET_DETAIL_FIELDS = (
    "subject",
    "description",
    "channel",
    "priority",
    "category",
    "required_skill",
    "team",
)


class TicketDetailsForm(forms.Form):
    """Subject, channel, priority and routing of a ticket; choices come from its company."""

    field_names = TICKET_DETAIL_FIELDS

    def __init__(self, *args, company_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(Ticket, fields=self.field_names))
        self.fields["description"].widget.attrs["rows"] = 4
        self.fields["category"].queryset = TicketCategory.objects.for_tenant(company_id)
        self.fields["required_skill"].queryset = Skill.objects.for_tenant(company_id)
        self.fields["team"].queryset = Team.objects.for_tenant(company_id)
        if "assignee" in self.fields:
            self.fields["assignee"] = UserChoiceField(
                label=capfirst(Ticket._meta.get_field("assignee").verbose_name),
                queryset=members_of([company_id], WRITE_ROLES),
                required=False,
            )


class TicketCreateForm(TicketDetailsForm):
    field_names = (*TICKET_DETAIL_FIELDS, "tier", "assignee")


class TicketAssignForm(forms.Form):
    assignee = UserChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody (unassigned)"),
    )

    def __init__(self, *args, company_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members_of([company_id], WRITE_ROLES)


class TicketEscalateForm(forms.Form):
    to_tier = forms.TypedChoiceField(label=_("To tier"), coerce=int, choices=())
    to_team = forms.ModelChoiceField(
        label=_("To team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("Keep the current team"),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_tier"].choices = [
            (v, label) for v, label in Tier.choices if v > ticket.tier
        ]
        self.fields["to_team"].queryset = Team.objects.for_tenant(ticket.company_id)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))
    is_internal = forms.BooleanField(
        label=_("Internal note"),
        required=False,
        initial=True,
        help_text=_("Untick to send a reply the customer can see."),
    )


class TicketFilterForm(forms.Form):
    """The ticket list's filters; every choice is one of the user's companies' own."""

    ANY = [("", _("Any"))]

    status = forms.ChoiceField(label=_("Status"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    company = forms.ChoiceField(label=_("Client company"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, user, company_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        several = len(company_ids) > 1
        self.fields["status"].choices = self.ANY + Status.choices
        self.fields["priority"].choices = self.ANY + Priority.choices
        self.fields["tier"].choices = self.ANY + [(str(v), lb) for v, lb in Tier.choices]
        companies = Company.objects.filter(id__in=company_ids).order_by("name")
        self.fields["company"].choices = self.ANY + [(c.slug, c.name) for c in companies]
        teams = Team.objects.filter(company_id__in=company_ids).select_related("company")
        self.fields["team"].choices = self.ANY + [
            (str(t.pk), f"{t.name} ({t.company.name})" if several else t.name) for t in teams
        ]
        members = members_of(company_ids, WRITE_ROLES)
        self.fields["assignee"].choices = [
            *self.ANY,
            ("me", _("Me")),
            ("none", _("Nobody (unassigned)")),
            *((str(u.pk), user_label(u)) for u in members),
        ]

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["priority"]:
            queryset = queryset.filter(priority=data["priority"])
        if data["tier"]:
            queryset = queryset.filter(tier=int(data["tier"]))
        if data["company"]:
            queryset = queryset.filter(company__slug=data["company"])
        if data["team"]:
            queryset = queryset.filter(team_id=int(data["team"]))
        if data["assignee"] == "me":
            queryset = queryset.filter(assignee=self.user)
        elif data["assignee"] == "none":
            queryset = queryset.filter(assignee__isnull=True)
        elif data["assignee"]:
            queryset = queryset.filter(assignee_id=int(data["assignee"]))
        if data["overdue"]:
            queryset = queryset.overdue(timezone.now())
        return queryset
