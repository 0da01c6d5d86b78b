"""Sortable, paginated lists of the back office (django-tables2)."""

from datetime import datetime

import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.forms import user_label
from crm.models import Customer, Ticket

TABLE_TEMPLATE = "crm/table.html"


def relative_time(value: datetime, now: datetime) -> str:
    if value > now:
        return _("in %(time)s") % {"time": timeuntil(value, now)}
    return _("%(time)s ago") % {"time": timesince(value, now)}


def due_html(value: datetime | None, now: datetime | None = None) -> str:
    """The moment in the active (user's) zone, and how far it is from now."""
    if value is None:
        return "—"
    now = now or timezone.now()
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time> <span class="relative">({})</span>',
        local.isoformat(),
        date_format(local, "SHORT_DATETIME_FORMAT"),
        relative_time(value, now),
    )


def _row_class(record: Ticket, table) -> str:
    return "overdue" if record.is_overdue(table.now) else ""


class UserColumn(tables.Column):
    def render(self, value) -> str:
        return user_label(value)


class DueColumn(tables.Column):
    def render(self, value, table) -> str:
        return due_html(value, table.now)


class ResponseDueColumn(DueColumn):
    """The first-response target, only while no reply has gone to the customer."""

    def render(self, value, record, table) -> str:
        if record.first_response_at is not None:
            return _("answered")
        return super().render(value, table)


class TicketTable(tables.Table):
    reference = tables.Column(
        verbose_name=gettext_lazy("Ticket"),
        order_by=("company__slug", "number"),
        linkify=("crm:ticket_detail", {"pk": tables.A("pk")}),
    )
    subject = tables.Column(linkify=("crm:ticket_detail", {"pk": tables.A("pk")}))
    customer = tables.Column(
        linkify=("crm:customer_detail", {"pk": tables.A("customer_id")}),
        order_by=("customer__display_name",),
    )
    assignee = UserColumn(order_by=("assignee__username",))
    first_response_due = ResponseDueColumn()
    resolution_due = DueColumn()

    class Meta:
        model = Ticket
        template_name = TABLE_TEMPLATE
        fields = (
            "reference",
            "subject",
            "customer",
            "status",
            "priority",
            "tier",
            "team",
            "assignee",
            "first_response_due",
            "resolution_due",
            "created_at",
        )
        row_attrs = {"class": _row_class}
        empty_text = gettext_lazy("No tickets.")

    def __init__(self, *args, now: datetime | None = None, **kwargs):
        self.now = now or timezone.now()
        super().__init__(*args, **kwargs)


class WorkTicketTable(TicketTable):
    """My work: what is due, soonest first; the list is short and the due times matter most."""

    class Meta(TicketTable.Meta):
        fields = (
            "reference",
            "subject",
            "customer",
            "status",
            "priority",
            "tier",
            "first_response_due",
            "resolution_due",
        )
        exclude = ("team", "assignee", "created_at")


class CustomerTicketTable(TicketTable):
    class Meta(TicketTable.Meta):
        exclude = ("customer",)


class CustomerTable(tables.Table):
    display_name = tables.Column(linkify=("crm:customer_detail", {"pk": tables.A("pk")}))
    company = tables.Column(order_by=("company__name",))
    phones = tables.Column(verbose_name=gettext_lazy("Phones"), orderable=False, empty_values=())
    emails = tables.Column(verbose_name=gettext_lazy("E-mails"), orderable=False, empty_values=())
    tags = tables.Column(verbose_name=gettext_lazy("Tags"), orderable=False, empty_values=())
    owner = UserColumn(order_by=("owner__username",))

    class Meta:
        model = Customer
        template_name = TABLE_TEMPLATE
        fields = (
            "display_name",
            "company",
            "external_id",
            "phones",
            "emails",
            "tags",
            "do_not_call",
            "owner",
            "updated_at",
        )
        empty_text = gettext_lazy("No customers found.")

    # The three collections are prefetched by the view: no query per row.
    def render_phones(self, record) -> str:
        return format_html_join(", ", "{}", ((p.e164,) for p in record.phones.all())) or "—"

    def render_emails(self, record) -> str:
        return format_html_join(", ", "{}", ((e.email,) for e in record.emails.all())) or "—"

    def render_tags(self, record) -> str:
        return (
            format_html_join(
                " ", '<span class="badge">{}</span>', ((t.name,) for t in record.tags.all())
            )
            or "—"
        )
