"""The audit trail (django-simple-history records) and the timelines, in words a person reads."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.forms import user_label
from crm.models import (
    Customer,
    CustomerEmail,
    CustomerNote,
    CustomerPhone,
    Ticket,
    TicketComment,
    TicketEscalation,
)

# A card shows the latest changes; older ones stay in the admin's full history.
HISTORY_LIMIT = 200
TIMELINE_LIMIT = 100


@dataclass
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    when: datetime
    user: Any
    action: str  # "created", "changed" or "deleted"
    subject: str
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def action_label(self) -> str:
        return {
            "created": pgettext("history action", "created"),
            "changed": pgettext("history action", "changed"),
            "deleted": pgettext("history action", "deleted"),
        }[self.action]


def _latest(history_queryset) -> list:
    records = list(
        history_queryset.select_related("history_user").order_by("-history_date", "-history_id")[
            :HISTORY_LIMIT
        ]
    )
    records.reverse()
    return records


def _deltas(records: list, subject) -> list[tuple[Any, Any, str]]:
    """(record, delta or None, subject) per record, oldest first; a change without its
    predecessor in the window (cut off by the limit) is left out rather than shown wrong."""
    result = []
    previous: dict[int, Any] = {}
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record
        if record.history_type == "~":
            if before is None:
                continue
            delta = record.diff_against(before)
            if not delta.changes:
                continue
            result.append((record, delta, subject(record)))
        else:
            result.append((record, None, subject(record)))
    return result


class _Names:
    """Display names for the ids that foreign keys in history records point to, one query per
    related model."""

    def __init__(self):
        self.wanted: dict[type, set] = defaultdict(set)
        self.names: dict[tuple[type, Any], str] = {}

    def want(self, model, value) -> None:
        if value not in (None, ""):
            self.wanted[model].add(value)

    def load(self) -> None:
        user_model = get_user_model()
        for model, ids in self.wanted.items():
            for obj in model._base_manager.filter(pk__in=ids):
                label = user_label(obj) if model is user_model else str(obj)
                self.names[(model, obj.pk)] = label

    def get(self, model, value) -> str:
        return self.names.get((model, value), f"#{value}")


def _m2m_ids(model_field, rows) -> list:
    name = model_field.related_model._meta.model_name
    return [row.get(name) for row in rows or ()]


def _plain(value) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "—"
    if isinstance(value, Decimal | int | float):
        return str(value)
    return str(value)


def _format(model, name: str, value, names: _Names) -> str:
    model_field = model._meta.get_field(name)
    if model_field.many_to_many:
        labels = [names.get(model_field.related_model, i) for i in _m2m_ids(model_field, value)]
        return ", ".join(sorted(labels)) or "—"
    if value in (None, ""):
        return "—"
    if model_field.is_relation:
        return names.get(model_field.related_model, value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    return _plain(value)


def history_entries(sources: list[tuple[Any, list, Any]]) -> list[HistoryEntry]:
    """Entries from several (model, records, subject function) sources, newest first."""
    names = _Names()
    prepared = []
    for model, records, subject in sources:
        for record, delta, title in _deltas(records, subject):
            prepared.append((model, record, delta, title))
            for change in delta.changes if delta else ():
                model_field = model._meta.get_field(change.field)
                if model_field.many_to_many:
                    for value in (change.old, change.new):
                        for i in _m2m_ids(model_field, value):
                            names.want(model_field.related_model, i)
                elif model_field.is_relation:
                    names.want(model_field.related_model, change.old)
                    names.want(model_field.related_model, change.new)
    names.load()
    entries = []
    for model, record, delta, title in prepared:
        action = {"+": "created", "-": "deleted"}.get(record.history_type, "changed")
        changes = [
            FieldChange(
                label=str(model._meta.get_field(c.field).verbose_name),
                old=_format(model, c.field, c.old, names),
                new=_format(model, c.field, c.new, names),
            )
            for c in (delta.changes if delta else ())
        ]
        entries.append(
            HistoryEntry(
                when=record.history_date,
                user=record.history_user,
                action=action,
                subject=title,
                changes=changes,
            )
        )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


def customer_history(customer: Customer) -> list[HistoryEntry]:
    return history_entries(
        [
            (Customer, _latest(customer.history.all()), lambda r: _("Customer")),
            (
                CustomerPhone,
                _latest(CustomerPhone.history.filter(customer_id=customer.pk)),
                lambda r: _("Phone %(number)s") % {"number": r.e164},
            ),
            (
                CustomerEmail,
                _latest(CustomerEmail.history.filter(customer_id=customer.pk)),
                lambda r: _("E-mail %(email)s") % {"email": r.email},
            ),
        ]
    )


def ticket_history(ticket: Ticket) -> list[HistoryEntry]:
    return history_entries([(Ticket, _latest(ticket.history.all()), lambda r: _("Ticket"))])


# --- Timelines --------------------------------------------------------------------------------


@dataclass
class TimelineItem:
    when: datetime
    kind: str  # note, opened, status, escalation, reply, internal
    user: Any
    text: str
    ticket_id: int | None = None
    ticket_reference: str = ""
    body: str = ""


def customer_timeline(customer: Customer) -> list[TimelineItem]:
    """Notes on the customer and what happened to their tickets, newest first."""
    prefix = customer.company.slug.upper()
    items: list[TimelineItem] = []
    for note in CustomerNote.objects.filter(customer=customer).select_related("author")[
        :TIMELINE_LIMIT
    ]:
        items.append(TimelineItem(note.created_at, "note", note.author, _("Note"), body=note.body))

    statuses = dict(Ticket._meta.get_field("status").flatchoices)
    records = (
        Ticket.history.filter(customer_id=customer.pk)
        .select_related("history_user")
        .only("id", "number", "subject", "status", "history_date", "history_type", "history_user")
        .order_by("id", "history_date", "history_id")
    )
    last_status: dict[int, str] = {}
    for record in records:
        reference = f"{prefix}-{record.number}"
        before = last_status.get(record.id)
        last_status[record.id] = record.status
        if record.history_type == "+":
            text = _("Ticket opened")
        elif record.history_type == "~" and before is not None and before != record.status:
            text = _("Status: %(status)s") % {"status": statuses.get(record.status)}
        else:
            continue
        kind = "opened" if record.history_type == "+" else "status"
        items.append(
            TimelineItem(record.history_date, kind, record.history_user, text, record.id, reference)
        )

    for escalation in TicketEscalation.objects.filter(ticket__customer=customer).select_related(
        "escalated_by", "ticket", "to_team"
    )[:TIMELINE_LIMIT]:
        text = _("Escalated to %(tier)s") % {"tier": escalation.get_to_tier_display()}
        if escalation.to_team:
            text += f" · {escalation.to_team}"
        items.append(
            TimelineItem(
                escalation.escalated_at,
                "escalation",
                escalation.escalated_by,
                text,
                escalation.ticket_id,
                f"{prefix}-{escalation.ticket.number}",
                escalation.reason,
            )
        )

    comments = (
        TicketComment.objects.filter(ticket__customer=customer)
        .select_related("author", "ticket")
        .order_by("-created_at", "-id")[:TIMELINE_LIMIT]
    )
    for comment in comments:
        kind = "internal" if comment.is_internal else "reply"
        items.append(
            TimelineItem(
                comment.created_at,
                kind,
                comment.author,
                _("Internal note") if comment.is_internal else _("Reply to the customer"),
                comment.ticket_id,
                f"{prefix}-{comment.ticket.number}",
                comment.body,
            )
        )
    items.sort(key=lambda i: i.when, reverse=True)
    return items[:TIMELINE_LIMIT]
