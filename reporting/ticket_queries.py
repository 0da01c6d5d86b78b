"""The tickets report as aggregate SQL: created, resolved, first-response time, SLA met,
backlog and first-contact resolution, per channel and per support tier, per company and in total.

One aggregate query over the tickets (grouped by company, channel and tier) gives every figure;
Python only folds those few aggregate rows (at most channels x tiers per company) into the two
groupings, the company totals and the grand total. Ratios keep their numerator and denominator
(`queries.Ratio`); totals are summed numerators over summed denominators.

The period is each company's local days `date_from` to `date_to` (its time zone), as UTC
instants [start, end). The figures, from the fields `crm.services.tickets` writes:

- *created*: `created_at` in the period.
- *resolved*: `resolved_at` in the period. Closing a ticket that was never resolved sets
  `resolved_at` too, so it counts. A reopened ticket has lost its `resolved_at` (the services
  clear it): it is not resolved until it is resolved again, and then by its last resolution.
- *first-response time*: the average of `first_response_at - created_at` over the tickets
  whose first response (the first reply visible to the customer; internal notes are not one)
  falls in the period, whenever they were created. An average, not a median: it adds up
  across rows and companies as summed seconds over summed tickets.
- *SLA met*: of the tickets resolved in the period that have SLA targets (a policy gave them
  `first_response_due` and `resolution_due`), those whose first reply or, if sooner, their
  resolution came at or before `first_response_due`, and whose resolution came at or before
  `resolution_due`. "Late" is `> due`, as the services flag it. The timestamps are read rather
  than the `*_breached` flags because the flags can disagree with the due times: the periodic
  `sla_mark_breaches` flags a resolved ticket that never had a public reply whenever it happens
  to run after the response due time, and a priority change moves the due times without
  clearing a flag. *SLA breached* = resolved with targets - met; tickets resolved without
  targets are counted apart (`resolved_without_sla`) and are in neither.
- *backlog*: tickets created before the end of the period and neither resolved nor closed by
  then (`resolved_at`, `closed_at` null or at/after the end). A ticket resolved before the end
  and reopened since counts in the backlog: the stored fields no longer show that resolution.
- *first-contact resolution* (design.md, "KPI definitions": "FCR = contacts resolved with no
  repeat contact from the same customer on the same matter within 7 days (window
  configurable)"): of the tickets resolved in the period, those with no repeat contact. A
  *contact* is a ticket (calls count through the ticket they are linked to; a call with no
  ticket has no matter to compare). A *repeat contact* is another ticket of the same company
  and customer, created after this one (a tie at the same instant: the one with the higher id)
  and no later than its resolution + the company's window (`KpiSettings.fcr_window_days`,
  default 7, in 24-hour days; "within" includes the last instant). A contact made while the
  first ticket was still open is a repeat too. *Same matter* is the ticket category: two
  tickets that both have a category are on different matters when the categories differ; a
  ticket without a category could be on any matter, so it matches every ticket. A repeat is
  looked for in every channel, tier, team and assignee, whatever the report's filters.

Channel and tier are the ticket's as they are now (after any escalation); every channel and
every tier is a row, empty ones too. Filters: teams select the tickets of those teams
(`Ticket.team`), agents the tickets assigned to them now (`Ticket.assignee`); the queue and
direction filters belong to calls and are refused.

`ticket_report(f)` returns a `TicketReport`: `.as_dict()` for JSON, `.table(group)` for one
grouping ("channel" or "tier") as a `ReportTable`, `.tables()` for both.
"""

import operator
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import reduce

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.lookups import IsNull
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.models import Channel, Ticket, Tier
from reporting.catalogue import kpi
from reporting.queries import (
    CompanyInfo,
    Ratio,
    ReportError,
    ReportFilter,
    _company_infos,  # private in queries.py; shared rather than copied
    _in_range,
)
from reporting.report_tables import COUNT, RATIO, SECONDS, TEXT, Column, ReportTable
from telephony.models import Agent

CHANNEL, TIER = "channel", "tier"
GROUPS = (CHANNEL, TIER)

Ranges = dict[int, tuple[datetime, datetime]]


def _seconds(delta: timedelta | None) -> int | float:
    if delta is None:
        return 0
    seconds = delta.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


@dataclass(frozen=True)
class TicketFigures:
    """The additive parts of the ticket KPIs over a set of tickets."""

    created: int = 0
    resolved: int = 0
    first_responses: int = 0
    first_response_seconds: int | float = 0
    resolved_with_sla: int = 0
    sla_met: int = 0
    backlog: int = 0
    first_contact_resolved: int = 0

    @classmethod
    def from_row(cls, row: dict) -> "TicketFigures":
        values = {f.name: row[f"k_{f.name}"] or 0 for f in fields(cls)}
        values["first_response_seconds"] = _seconds(row["k_first_response_seconds"])
        return cls(**values)

    def __add__(self, other: "TicketFigures") -> "TicketFigures":
        return TicketFigures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def sla_breached(self) -> int:
        return self.resolved_with_sla - self.sla_met

    @property
    def resolved_without_sla(self) -> int:
        return self.resolved - self.resolved_with_sla

    def first_response_time(self) -> Ratio:
        return Ratio(self.first_response_seconds, self.first_responses)

    def sla_met_rate(self) -> Ratio:
        return Ratio(self.sla_met, self.resolved_with_sla)

    def first_contact_resolution(self) -> Ratio:
        return Ratio(self.first_contact_resolved, self.resolved)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "resolved": self.resolved,
            "first_responses": self.first_responses,
            "first_response_time": self.first_response_time().as_dict(),
            "sla_met": self.sla_met,
            "sla_breached": self.sla_breached,
            "resolved_without_sla": self.resolved_without_sla,
            "sla_met_rate": self.sla_met_rate().as_dict(),
            "backlog": self.backlog,
            "first_contact_resolved": self.first_contact_resolved,
            "first_contact_resolution": self.first_contact_resolution().as_dict(),
        }

    def table_values(self) -> dict:
        return {
            "created": self.created,
            "resolved": self.resolved,
            "first_responses": self.first_responses,
            "first_response_time": self.first_response_time().value,
            "sla_met": self.sla_met,
            "sla_breached": self.sla_breached,
            "resolved_without_sla": self.resolved_without_sla,
            "sla_met_rate": self.sla_met_rate().value,
            "backlog": self.backlog,
            "first_contact_resolved": self.first_contact_resolved,
            "first_contact_resolution": self.first_contact_resolution().value,
        }


# --- the query ----------------------------------------------------------------------------------


def _open_at_end(ranges: Ranges) -> Q:
    return reduce(
        operator.or_,
        (
            Q(company_id=company_id, created_at__lt=end)
            & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=end))
            & (Q(closed_at__isnull=True) | Q(closed_at__gte=end))
            for company_id, (_start, end) in ranges.items()
        ),
    )


def _relevant(ranges: Ranges) -> Q:
    """The tickets any figure may count: created before the end and not resolved before the
    start (unless first answered within the period)."""
    return reduce(
        operator.or_,
        (
            Q(company_id=company_id, created_at__lt=end)
            & (
                Q(resolved_at__isnull=True)
                | Q(resolved_at__gte=start)
                | Q(first_response_at__gte=start)
            )
            for company_id, (start, end) in ranges.items()
        ),
    )


_HAS_SLA = Q(first_response_due__isnull=False, resolution_due__isnull=False)
_SLA_MET = (
    _HAS_SLA
    & (
        Q(first_response_at__lte=F("first_response_due"))
        | Q(resolved_at__lte=F("first_response_due"))
    )
    & Q(resolved_at__lte=F("resolution_due"))
)


def _repeat_contacts(window: timedelta) -> Exists:
    """A later ticket of the same customer on the same matter, created by the outer ticket's
    resolution + `window` (see the module's docstring)."""
    return Exists(
        Ticket.objects.filter(
            Q(created_at__gt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk")),
            Q(category__isnull=True)
            | Q(IsNull(OuterRef("category_id"), True))
            | Q(category_id=OuterRef("category_id")),
            company_id=OuterRef("company_id"),
            customer_id=OuterRef("customer_id"),
            created_at__lte=OuterRef("resolved_at") + window,
        )
    )


def _no_repeat_contact(infos: dict[int, CompanyInfo]) -> Q:
    """One subquery per distinct window (usually one), each for the companies that use it."""
    companies_by_window: dict[int, list[int]] = defaultdict(list)
    for info in infos.values():
        companies_by_window[info.fcr_window_days].append(info.id)
    return reduce(
        operator.or_,
        (
            Q(company_id__in=company_ids) & ~_repeat_contacts(timedelta(days=days))
            for days, company_ids in sorted(companies_by_window.items())
        ),
    )


def _tickets(f: ReportFilter) -> QuerySet[Ticket]:
    if f.queue_ids or f.direction:
        raise ReportError(_("The queue and direction filters do not apply to tickets."))
    tickets = Ticket.objects.filter(company_id__in=f.company_ids).order_by()
    if f.team_ids:
        tickets = tickets.filter(team_id__in=f.team_ids)
    if f.agent_ids:
        assignees = Agent.objects.filter(company_id__in=f.company_ids, pk__in=f.agent_ids)
        tickets = tickets.filter(assignee_id__in=assignees.values("user_id"))
    return tickets


def _aggregates(f: ReportFilter, infos: dict[int, CompanyInfo]) -> dict:
    ranges = f.utc_ranges()
    resolved = _in_range(ranges, "resolved_at")
    responded = _in_range(ranges, "first_response_at")
    response_delay = ExpressionWrapper(
        F("first_response_at") - F("created_at"), output_field=DurationField()
    )
    # Annotation names may not be the model's field names: each figure is "k_<figure>".
    return {
        "k_created": Count("id", filter=_in_range(ranges, "created_at")),
        "k_resolved": Count("id", filter=resolved),
        "k_first_responses": Count("id", filter=responded),
        "k_first_response_seconds": Sum(response_delay, filter=responded),
        "k_resolved_with_sla": Count("id", filter=resolved & _HAS_SLA),
        "k_sla_met": Count("id", filter=resolved & _SLA_MET),
        "k_backlog": Count("id", filter=_open_at_end(ranges)),
        "k_first_contact_resolved": Count("id", filter=resolved & _no_repeat_contact(infos)),
    }


# --- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketRow:
    company_id: int
    group: str  # "channel" or "tier"
    key: str | int  # the channel code or the tier number
    label: str
    figures: TicketFigures

    def as_dict(self) -> dict:
        return {self.group: self.key, "label": self.label, **self.figures.as_dict()}


_COLUMNS = (
    ("created", COUNT),
    ("resolved", COUNT),
    ("first_responses", COUNT),
    ("first_response_time", SECONDS),
    ("sla_met", COUNT),
    ("sla_breached", COUNT),
    ("resolved_without_sla", COUNT),
    ("sla_met_rate", RATIO),
    ("backlog", COUNT),
    ("first_contact_resolved", COUNT),
    ("first_contact_resolution", RATIO),
)


def _column_labels() -> dict[str, str]:
    return {
        "created": _("Created"),
        "resolved": _("Resolved"),
        "first_responses": _("First responses"),
        "first_response_time": _("Average first response"),
        "sla_met": _("SLA met"),
        "sla_breached": _("SLA breached"),
        "resolved_without_sla": _("Resolved without SLA"),
        "sla_met_rate": _("SLA met rate"),
        "backlog": _("Backlog at the end"),
        "first_contact_resolved": _("Resolved at first contact"),
        "first_contact_resolution": str(kpi("first_contact_resolution").label),
    }


@dataclass(frozen=True)
class TicketReport:
    filter: ReportFilter
    companies: list[CompanyInfo]
    by_channel: list[TicketRow]
    by_tier: list[TicketRow]
    company_totals: dict[int, TicketFigures]
    total: TicketFigures

    def rows(self, group: str) -> list[TicketRow]:
        if group not in GROUPS:
            raise ValueError(f"group {group!r} is not one of {GROUPS}")
        return self.by_channel if group == CHANNEL else self.by_tier

    def as_dict(self) -> dict:
        slugs = {c.id: c.slug for c in self.companies}
        return {
            "report": "tickets",
            "from": self.filter.date_from.isoformat(),
            "to": self.filter.date_to.isoformat(),
            "companies": [c.as_dict() for c in self.companies],
            "by_channel": [
                {"company": slugs[r.company_id], **r.as_dict()} for r in self.by_channel
            ],
            "by_tier": [{"company": slugs[r.company_id], **r.as_dict()} for r in self.by_tier],
            "company_totals": [
                {"company": slugs[cid], **figures.as_dict()}
                for cid, figures in self.company_totals.items()
            ],
            "total": self.total.as_dict(),
        }

    def table(self, group: str = CHANNEL) -> ReportTable:
        """One grouping as a table: a row per channel (or tier) of each company, then, when
        there are several companies, each company's total; the total of all in `total`."""
        rows = self.rows(group)
        several = len(self.companies) > 1
        names = {c.id: c.name for c in self.companies}
        labels = _column_labels()
        columns = [Column("company", _("Client company"), TEXT)] if several else []
        columns.append(Column(group, _("Channel") if group == CHANNEL else _("Support tier"), TEXT))
        columns += [Column(code, labels[code], kind) for code, kind in _COLUMNS]
        table_rows = [
            {"company": names[r.company_id], group: r.label, **r.figures.table_values()}
            for r in rows
        ]
        if several:
            every = _("All channels") if group == CHANNEL else _("All tiers")
            table_rows += [
                {"company": names[cid], group: every, **figures.table_values()}
                for cid, figures in self.company_totals.items()
            ]
        return ReportTable(
            title=_("Tickets by channel") if group == CHANNEL else _("Tickets by support tier"),
            columns=columns,
            rows=table_rows,
            total={"company": _("Total"), group: _("Total"), **self.total.table_values()},
            notes=_notes(self.filter, self.companies),
        )

    def tables(self) -> list[ReportTable]:
        return [self.table(group) for group in GROUPS]


def _per_company_note(companies: list[CompanyInfo], text) -> str:
    values = {text(c) for c in companies}
    if len(values) == 1:
        return values.pop()
    return "; ".join(f"{c.name}: {text(c)}" for c in companies)


def _notes(f: ReportFilter, companies: list[CompanyInfo]) -> list[tuple[str, str]]:
    return [
        (_("Period"), f"{f.date_from.isoformat()} - {f.date_to.isoformat()}"),
        (_("Client companies"), ", ".join(c.name for c in companies)),
        (_("Time zone"), _per_company_note(companies, lambda c: c.time_zone)),
        (
            _("First-contact resolution window"),
            _per_company_note(
                companies,
                lambda c: (
                    ngettext(
                        "%(days)s day after the resolution",
                        "%(days)s days after the resolution",
                        c.fcr_window_days,
                    )
                    % {"days": c.fcr_window_days}
                ),
            ),
        ),
        (
            str(kpi("first_contact_resolution").label),
            _(
                "tickets resolved in the period with no later ticket of the same customer on "
                "the same matter (same category; a ticket without a category may be on any "
                "matter) created within the window / tickets resolved in the period"
            ),
        ),
        (
            _("SLA met"),
            _(
                "tickets resolved in the period whose first reply (or resolution, if sooner) "
                "and resolution came by their due times / tickets resolved in the period with "
                "SLA targets"
            ),
        ),
        (
            _("Average first response"),
            _("creation to first reply, over the tickets first replied to in the period"),
        ),
        (_("Backlog at the end"), _("created before the end of the period, not resolved by then")),
        (_("Channel and tier"), _("as the tickets have them now (after any escalation)")),
    ]


def ticket_report(f: ReportFilter) -> TicketReport:
    """Per channel and per tier of each company, each company's total and the total of all
    (see the module's docstring for every definition). Two queries: the companies' KPI
    settings, then one aggregate over the tickets."""
    infos = _company_infos(f)
    grouped = (
        _tickets(f)
        .filter(_relevant(f.utc_ranges()))
        .values("company_id", "channel", "tier")
        .annotate(**_aggregates(f, infos))
    )
    cells: dict[tuple[int, str, int], TicketFigures] = {
        (row["company_id"], row["channel"], row["tier"]): TicketFigures.from_row(row)
        for row in grouped
    }
    by_channel: dict[tuple[int, str], TicketFigures] = defaultdict(TicketFigures)
    by_tier: dict[tuple[int, int], TicketFigures] = defaultdict(TicketFigures)
    company_totals = {cid: TicketFigures() for cid in infos}
    for (company_id, channel, tier), figures in cells.items():
        by_channel[(company_id, channel)] += figures
        by_tier[(company_id, tier)] += figures
        company_totals[company_id] += figures
    return TicketReport(
        filter=f,
        companies=list(infos.values()),
        by_channel=[
            TicketRow(
                cid, CHANNEL, value, str(label), by_channel.get((cid, value), TicketFigures())
            )
            for cid in infos
            for value, label in Channel.choices
        ],
        by_tier=[
            TicketRow(cid, TIER, value, str(label), by_tier.get((cid, value), TicketFigures()))
            for cid in infos
            for value, label in Tier.choices
        ],
        company_totals=company_totals,
        total=sum(company_totals.values(), TicketFigures()),
    )
