"""Query-string filters of the customer and ticket lists.

They narrow querysets that are already scoped to the user's companies; a company slug the user
cannot see answers 404, exactly like one that does not exist (as the pages do).
"""

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from contactcenter.tenancy.scoping import company_from_param
from crm.models import Customer, Priority, Status, Ticket, Tier
from crm.selectors import customer_list


class CompanyFilter(filters.CharFilter):
    def __init__(self, **kwargs):
        super().__init__(method=self.filter_company, label=_("Client company (slug)"), **kwargs)

    def filter_company(self, queryset, name, value):
        return queryset.filter(company=company_from_param(self.parent.request.user, value))


def _company(filterset):
    return company_from_param(filterset.request.user, filterset.form.cleaned_data.get("company"))


class CustomerFilter(filters.FilterSet):
    q = filters.CharFilter(
        method="filter_search",
        label=_("Name, phone number in any format, or e-mail address"),
    )
    company = CompanyFilter()
    kind = filters.ChoiceFilter(choices=Customer.Kind.choices)
    tag = filters.CharFilter(field_name="tags__name", label=_("Tag name"))
    do_not_call = filters.BooleanFilter()
    owner = filters.NumberFilter(field_name="owner_id", label=_("Owner agent (user id)"))
    updated_since = filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label=_("Updated at or after (ISO 8601)")
    )

    class Meta:
        model = Customer
        fields = ["q", "company", "kind", "tag", "do_not_call", "owner", "updated_since"]

    def filter_search(self, queryset, name, value):
        # The selector owns the search rules (phones read in each company's own country).
        matches = customer_list(self.request.user, company=_company(self), query=value)
        return queryset & matches


class TicketFilter(filters.FilterSet):
    company = CompanyFilter()
    status = filters.MultipleChoiceFilter(choices=Status.choices)
    priority = filters.MultipleChoiceFilter(choices=Priority.choices)
    tier = filters.TypedChoiceFilter(choices=Tier.choices, coerce=int)
    team = filters.NumberFilter(field_name="team_id", label=_("Team id"))
    assignee = filters.NumberFilter(field_name="assignee_id", label=_("Assignee (user id)"))
    customer = filters.NumberFilter(field_name="customer_id", label=_("Customer id"))
    overdue = filters.BooleanFilter(method="filter_overdue", label=_("Past an SLA target"))

    class Meta:
        model = Ticket
        fields = [
            "company",
            "status",
            "priority",
            "tier",
            "team",
            "assignee",
            "customer",
            "overdue",
        ]

    def filter_overdue(self, queryset, name, value):
        if value:
            return queryset.overdue()
        return queryset.exclude(pk__in=queryset.overdue().values("pk"))
