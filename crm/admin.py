"""The Django admin for CRM data, scoped to the administrator's companies (see tenancy.admin)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from contactcenter.lib.phones import InvalidPhone, lookup_key, normalize_phone
from contactcenter.tenancy.admin import (
    ScopedHistoryMixin,
    TenantAdmin,
    TenantInline,
    admin_company_ids,
)
from contactcenter.tenancy.models import WRITE_ROLES, Company, Membership, Skill, Team
from crm.models import (
    BusinessHours,
    Customer,
    CustomerEmail,
    CustomerImport,
    CustomerPhone,
    CustomFieldDefinition,
    Holiday,
    SLAPolicy,
    Tag,
    Ticket,
    TicketCategory,
    TicketComment,
    TicketEscalation,
)
from crm.services.customers import custom_fields_clean
from crm.services.tickets import ticket_assign, ticket_update

# --- Customers --------------------------------------------------------------------------------


class _ChildFormSet(forms.BaseInlineFormSet):
    """Hands the parent customer to each row's form: its company decides how to read numbers."""

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "parent": self.instance}


class _ChildForm(forms.ModelForm):
    def __init__(self, *args, parent: Customer, **kwargs):
        self.parent = parent
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.parent.company_id:
            self.instance.company_id = self.parent.company_id
        return cleaned


class PhoneInlineForm(_ChildForm):
    class Meta:
        model = CustomerPhone
        fields = ("raw", "kind", "is_primary")

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("raw")
        if raw and self.parent.company_id:
            try:
                phone = normalize_phone(raw, self.parent.company.default_country)
            except InvalidPhone as exc:
                self.add_error("raw", str(exc))
            else:
                self.instance.raw, self.instance.e164 = phone.raw, phone.e164
        return cleaned


class PhoneInlineFormSet(_ChildFormSet):
    def clean(self):
        super().clean()
        seen: dict[str, str] = {}
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            e164 = form.instance.e164
            if not e164 or form.errors:
                continue
            if e164 in seen:
                raise ValidationError(
                    _("%(a)s and %(b)s are the same number (%(e164)s)."),
                    params={"a": seen[e164], "b": form.instance.raw, "e164": e164},
                )
            seen[e164] = form.instance.raw


class EmailInlineForm(_ChildForm):
    class Meta:
        model = CustomerEmail
        fields = ("email", "is_primary")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class EmailInlineFormSet(_ChildFormSet):
    def clean(self):
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            email = form.cleaned_data.get("email") if hasattr(form, "cleaned_data") else None
            if not email or (self.can_delete and self._should_delete_form(form)):
                continue
            if email in seen:
                raise ValidationError(_("%(email)s is listed twice."), params={"email": email})
            seen.add(email)


class PhoneInline(TenantInline, admin.TabularInline):
    model = CustomerPhone
    form = PhoneInlineForm
    formset = PhoneInlineFormSet
    fields = ("raw", "e164", "kind", "is_primary")
    readonly_fields = ("e164",)
    extra = 1


class EmailInline(TenantInline, admin.TabularInline):
    model = CustomerEmail
    form = EmailInlineForm
    formset = EmailInlineFormSet
    fields = ("email", "is_primary")
    extra = 1


class CustomerAdminForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = (
            "company",
            "kind",
            "external_id",
            "owner",
            "first_name",
            "middle_name",
            "last_name",
            "organisation_name",
            "address",
            "city",
            "postal_code",
            "country",
            "time_zone",
            "language",
            "marketing_consent",
            "do_not_call",
            "tags",
            "custom_fields",
        )

    def clean(self):
        cleaned = super().clean()
        company = cleaned.get("company") or (
            self.instance.company if self.instance.company_id else None
        )
        if company is None:
            return cleaned
        owner = cleaned.get("owner")
        if owner and not Membership.objects.filter(company=company, user=owner).exists():
            self.add_error("owner", _("The owner is not a member of this client company."))
        foreign_tags = [t.name for t in cleaned.get("tags") or () if t.company_id != company.pk]
        if foreign_tags:
            self.add_error(
                "tags",
                _("Tags of another client company: %(tags)s") % {"tags": ", ".join(foreign_tags)},
            )
        if "custom_fields" in cleaned:
            try:
                cleaned["custom_fields"] = custom_fields_clean(company, cleaned["custom_fields"])
            except ValidationError as exc:
                self.add_error("custom_fields", exc.messages)
        return cleaned


@admin.register(Customer)
class CustomerAdmin(ScopedHistoryMixin, TenantAdmin, SimpleHistoryAdmin):
    form = CustomerAdminForm
    inlines = (PhoneInline, EmailInline)
    list_display = ("display_name", "company", "kind", "external_id", "do_not_call", "updated_at")
    list_filter = (
        ("company", admin.RelatedOnlyFieldListFilter),
        "kind",
        "do_not_call",
        ("tags", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("company",)
    search_fields = ("display_name", "external_id", "emails__email")
    search_help_text = _("Name, external id, e-mail, or a phone number in any format.")
    readonly_fields = ("display_name", "consent_changed_at", "created_at", "updated_at")
    filter_horizontal = ("tags",)
    fieldsets = (
        (None, {"fields": ("company", "kind", "display_name", "external_id", "owner")}),
        (
            _("Name"),
            {"fields": ("first_name", "middle_name", "last_name", "organisation_name")},
        ),
        (
            _("Address and locale"),
            {"fields": ("address", "city", "postal_code", "country", "time_zone", "language")},
        ),
        (
            _("Consent and calling"),
            {"fields": ("marketing_consent", "consent_changed_at", "do_not_call")},
        ),
        (_("Tags and custom fields"), {"fields": ("tags", "custom_fields")}),
        (_("Dates"), {"fields": ("created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Moving a customer to another company would leave its tickets and phones behind.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "company") if obj is not None else fields

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        phone = self._phone_condition(request, search_term)
        if phone is not None:
            matches = CustomerPhone.objects.filter(phone).values("customer_id")
            results = results | queryset.filter(id__in=matches)
        return results, may_have_duplicates

    def _phone_condition(self, request, term: str) -> Q | None:
        """Phones equal to the term read as a number of each company's own country."""
        term = term.strip()
        if not any(ch.isdigit() for ch in term):
            return None
        companies = Company.objects.all()
        if not request.user.is_superuser:
            companies = companies.filter(pk__in=admin_company_ids(request))
        by_key: dict[str, list[int]] = {}
        for company_id, region in companies.values_list("id", "default_country"):
            key = lookup_key(term, region)
            if key:
                by_key.setdefault(key, []).append(company_id)
        if not by_key:
            return None
        condition = Q()
        for key, ids in by_key.items():
            condition |= Q(company_id__in=ids, e164=key)
        return condition

    def save_model(self, request, obj, form, change):
        if "marketing_consent" in form.changed_data:
            obj.consent_changed_at = timezone.now()
        super().save_model(request, obj, form, change)


# --- Tickets ----------------------------------------------------------------------------------


class _ReadOnlyInline(TenantInline, admin.TabularInline):
    """Comments and escalations are written by their services, from the ticket page."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CommentInline(_ReadOnlyInline):
    model = TicketComment
    fields = ("created_at", "author", "is_internal", "body")
    readonly_fields = fields


class EscalationInline(_ReadOnlyInline):
    model = TicketEscalation
    fields = ("escalated_at", "escalated_by", "from_tier", "to_tier", "to_team", "reason")
    readonly_fields = fields


_TICKET_DETAILS = (
    "subject",
    "description",
    "channel",
    "priority",
    "category",
    "required_skill",
    "team",
)


class TicketAdminForm(forms.ModelForm):
    """Choices from the ticket's own company only."""

    class Meta:
        model = Ticket
        fields = (*_TICKET_DETAILS, "assignee")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        company_id = self.instance.company_id
        for name, model in (
            ("category", TicketCategory),
            ("required_skill", Skill),
            ("team", Team),
        ):
            if name in self.fields:
                self.fields[name].queryset = model.objects.for_tenant(company_id)
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = (
                self.fields["assignee"]
                .queryset.filter(
                    memberships__company_id=company_id, memberships__role__in=WRITE_ROLES
                )
                .distinct()
            )


@admin.register(Ticket)
class TicketAdmin(ScopedHistoryMixin, TenantAdmin, SimpleHistoryAdmin):
    form = TicketAdminForm
    inlines = (CommentInline, EscalationInline)
    list_display = (
        "number",
        "subject",
        "company",
        "customer",
        "status",
        "priority",
        "tier",
        "assignee",
        "resolution_due",
        "first_response_breached",
        "resolution_breached",
    )
    list_filter = (
        ("company", admin.RelatedOnlyFieldListFilter),
        "status",
        "priority",
        "tier",
        "first_response_breached",
        "resolution_breached",
    )
    list_select_related = ("company", "customer", "assignee")
    search_fields = ("subject", "customer__display_name")
    fields = (
        "company",
        "number",
        "customer",
        "status",
        "tier",
        *_TICKET_DETAILS,
        "assignee",
        "first_response_due",
        "first_response_at",
        "first_response_breached",
        "resolution_due",
        "resolved_at",
        "resolution_breached",
        "closed_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "company",
        "number",
        "customer",
        "status",
        "tier",
        "first_response_due",
        "first_response_at",
        "first_response_breached",
        "resolution_due",
        "resolved_at",
        "resolution_breached",
        "closed_at",
        "created_by",
        "created_at",
        "updated_at",
    )

    # Tickets are opened on the back office pages, which number them and set their SLA; status
    # and tier move through transitions and escalations there, with their rules and records.
    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        ticket = Ticket.objects.get(pk=obj.pk)
        details = {k: form.cleaned_data[k] for k in _TICKET_DETAILS if k in form.changed_data}
        if details:
            ticket_update(ticket=ticket, **details)
        if "assignee" in form.changed_data:
            ticket_assign(ticket=ticket, assignee=form.cleaned_data["assignee"], user=request.user)
        obj.refresh_from_db()


# --- Configuration ----------------------------------------------------------------------------


@admin.register(SLAPolicy)
class SLAPolicyAdmin(TenantAdmin):
    list_display = (
        "company",
        "priority",
        "first_response_minutes",
        "resolution_minutes",
        "business_hours",
    )
    list_filter = (("company", admin.RelatedOnlyFieldListFilter), "priority", "business_hours")


@admin.register(BusinessHours)
class BusinessHoursAdmin(TenantAdmin):
    list_display = ("company", "weekday", "opens", "closes")
    list_filter = (("company", admin.RelatedOnlyFieldListFilter), "weekday")


@admin.register(Holiday)
class HolidayAdmin(TenantAdmin):
    list_display = ("company", "date", "name")
    date_hierarchy = "date"


@admin.register(TicketCategory)
class TicketCategoryAdmin(TenantAdmin):
    list_display = ("name", "company")
    search_fields = ("name",)


@admin.register(Tag)
class TagAdmin(TenantAdmin):
    list_display = ("name", "company")
    search_fields = ("name",)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(TenantAdmin):
    list_display = ("label", "key", "field_type", "required", "position", "company")
    list_filter = (("company", admin.RelatedOnlyFieldListFilter), "field_type", "required")
    search_fields = ("label", "key")


@admin.register(CustomerImport)
class CustomerImportAdmin(TenantAdmin):
    """Read-only: imports run from the import page, which owns their file and progress."""

    list_display = (
        "original_name",
        "company",
        "state",
        "total_rows",
        "created_count",
        "updated_count",
        "error_count",
        "created_at",
    )
    list_filter = (("company", admin.RelatedOnlyFieldListFilter), "state")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
