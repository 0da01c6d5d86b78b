"""The call log as a sortable, paginated table (django-tables2), and the formats it shares with
the call's page."""

from datetime import datetime

import django_tables2 as tables
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy

from contactcenter.lib.phones import format_international
from crm.forms import user_label
from crm.tables import TABLE_TEMPLATE
from telephony.models import Call


def hms(seconds: int | None) -> str:
    """Whole seconds as h:mm:ss (0:03:07); unknown as a dash."""
    if seconds is None:
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def local_time(value: datetime | None) -> str:
    """A moment in the active (user's) zone, to the second: call times are compared closely."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{} {}</time>',
        local.isoformat(),
        date_format(local, "SHORT_DATE_FORMAT"),
        date_format(local, "H:i:s"),
    )


def caller_label(call: Call) -> str:
    if call.caller_e164:
        return format_international(call.caller_e164)
    return call.caller or "—"


class NullsLastColumn(tables.Column):
    """Sorts unknown values (no queue, no agent, no talk) after the known ones either way, on
    PostgreSQL and SQLite alike, which otherwise disagree on where NULLs go; the id breaks ties
    so that pages do not overlap."""

    def order(self, queryset, is_descending):
        if not self.order_by:
            return queryset, False
        expressions = [
            F(name).desc(nulls_last=True) if is_descending else F(name).asc(nulls_last=True)
            for name in (*self.order_by, "id")
        ]
        return queryset.order_by(*expressions), True


class LocalTimeColumn(NullsLastColumn):
    def render(self, value) -> str:
        return local_time(value)


class DurationColumn(NullsLastColumn):
    def __init__(self, field: str, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "nowrap duration"}})
        super().__init__(order_by=(field,), **kwargs)

    def render(self, value) -> str:
        return hms(value)


class CallTable(tables.Table):
    offered_at = LocalTimeColumn(
        verbose_name=gettext_lazy("Time"),
        order_by=("offered_at",),
        linkify=("telephony:call_detail", {"pk": tables.A("pk")}),
        attrs={"td": {"class": "nowrap"}},
    )
    company = tables.Column(order_by=("company__name",))
    caller = tables.Column(order_by=("caller_e164", "caller"), empty_values=())
    customers = tables.Column(
        verbose_name=gettext_lazy("Customers"), orderable=False, empty_values=()
    )
    queue = NullsLastColumn(order_by=("queue__name",))
    agent = NullsLastColumn(order_by=("agent__user__username",))
    queue_wait_seconds = DurationColumn(
        "queue_wait_seconds", verbose_name=gettext_lazy("Queue wait")
    )
    ring_seconds = DurationColumn("ring_seconds", verbose_name=gettext_lazy("Ring"))
    talk_seconds = DurationColumn("talk_seconds", verbose_name=gettext_lazy("Talk"))
    hold_seconds = DurationColumn("hold_seconds", verbose_name=gettext_lazy("Hold"))
    wrap_up_seconds = DurationColumn("wrap_up_seconds", verbose_name=gettext_lazy("Wrap-up"))

    class Meta:
        model = Call
        template_name = TABLE_TEMPLATE
        fields = (
            "offered_at",
            "company",
            "direction",
            "caller",
            "customers",
            "callee",
            "queue",
            "agent",
            "outcome",
            "queue_wait_seconds",
            "ring_seconds",
            "talk_seconds",
            "hold_seconds",
            "wrap_up_seconds",
            "transfer_count",
        )
        empty_text = gettext_lazy("No calls found.")
        attrs = {"id": "calls"}

    def render_caller(self, record: Call) -> str:
        return caller_label(record)

    # The view selects agents' users and prefetches customers: no query per row.
    def render_agent(self, value) -> str:
        return user_label(value.user)

    def render_customers(self, record: Call) -> str:
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                ((reverse("crm:customer_detail", args=[c.pk]), c) for c in record.customers.all()),
            )
            or "—"
        )
