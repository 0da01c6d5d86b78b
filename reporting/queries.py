"""The KPI reports as aggregate SQL: queues, agents and intervals.

Every figure is defined in `/work/shared/design.md`, "KPI definitions", and catalogued in
reporting/catalogue.py; this module computes exactly those, with the ORM's aggregates (Count,
Sum, Max with filters, GROUP BY through values().annotate()) on PostgreSQL and SQLite alike.
No loop ever runs over calls or intervals: Python only folds the aggregate rows (one per queue,
agent, state or time slot) into report rows.

Each report returns dataclasses that keep every ratio as its numerator and denominator
(`Ratio`), so that the pages, the API, the exports and `manage.py kpi_report` show the same
numbers, and totals are summed numerators over summed denominators, never averages of averages.

Rules that apply to every report:

- A call belongs to the local day and interval of its queue entry (`offered_at`), in its
  company's time zone; the range is the company's local days `date_from` to `date_to`.
- A call still open (no hang-up yet: `ended_at` is null, whether it waits, rings or talks) is in
  no figure and no rate; queue rows count it apart as `open_calls`. A call that entered the
  queue within the range and ended after it counts in the range, with its final outcome.
- Service level uses each call's own queue threshold T (wait <= T is within), and each
  company's formula variant (reporting.models.KpiSettings); across several companies the
  total sums each company's numerator and denominator under its own variant.
- Short abandons are told apart by the outcome the apply service derived with the queue's
  short-abandon threshold (telephony/derive.py), so a report reads the call as it was built.
- AHT's parts are the answered call's talk, hold and wrap-up (the answering agent's after-call
  work); a wrap-up still going on counts as none yet. Ring time is reported apart.
- Team and agent filters select the calls of those agents (answered by them, or that last rang
  at them, as Call.agent says) and, in the agent report, those agents' rows.

Queue attribution: design.md wants an overflowed call offered in each queue it visited and
counted once at company level. Each call is offered in its last queue (`Call.queue`, through
`_queue_offers`), which makes the company totals (the sum of those rows: each call once); the
queues it left for another are stored by the apply service as telephony.QueueVisit rows and
added to those queues' rows only (`_overflow_offers`: offered there, left on the queue's
timeout, with the wait in that queue). The interval, agent and forecast figures filtered by a
queue read calls by their last queue.
"""

import bisect
import operator
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, ExtractMinute, Greatest, Least, Trunc
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcenter.tenancy.models import Company
from contactcenter.tenancy.scoping import company_ids_for
from reporting.catalogue import KPI_ROLES, ServiceLevelVariant, kpi, service_level_formula
from reporting.models import KpiSettings
from reporting.periods import IntervalSize, Period, local_range, periods
from reporting.report_tables import COUNT, HOURS, RATIO, SECONDS, TEXT, Column, ReportTable
from telephony.models import Agent, AgentState, AgentStateInterval, Call, Queue, QueueVisit
from telephony.pbx.events import Direction

Outcome = Call.Outcome


class ReportError(ValueError):
    """The report cannot be made as asked; the message names the problem."""


@dataclass(frozen=True)
class Ratio:
    """A rate or an average, kept as its parts; undefined (None) over nothing."""

    numerator: int | float
    denominator: int | float

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __add__(self, other: "Ratio") -> "Ratio":
        return Ratio(self.numerator + other.numerator, self.denominator + other.denominator)

    def as_dict(self) -> dict:
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator}


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers. The companies are already scoped to the viewer (see
    `report_companies`); queue, team and agent ids of other companies simply match nothing."""

    companies: tuple[Company, ...]
    date_from: date
    date_to: date
    queue_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()
    agent_ids: tuple[int, ...] = ()
    direction: str = ""

    def __post_init__(self):
        if not self.companies:
            raise ReportError(_("Choose at least one client company."))
        if self.date_from > self.date_to:
            raise ReportError(
                _("The range starts (%(start)s) after it ends (%(end)s).")
                % {"start": self.date_from.isoformat(), "end": self.date_to.isoformat()}
            )
        if self.direction and self.direction not in {d.value for d in Direction}:
            raise ReportError(
                _("Unknown direction %(direction)s: choose inbound, outbound or internal.")
                % {"direction": self.direction}
            )

    def utc_ranges(self) -> dict[int, tuple[datetime, datetime]]:
        """{company id: (start, end)} in UTC: each company's own local days."""
        return {
            c.pk: local_range(self.date_from, self.date_to, ZoneInfo(c.time_zone))
            for c in self.companies
        }

    @property
    def company_ids(self) -> list[int]:
        return [c.pk for c in self.companies]


def report_companies(user, slugs: list[str] | None = None) -> list[Company]:
    """The companies whose KPIs the user may read, or the ones named among them; a slug the user
    may not read answers 404 like a missing one."""
    visible = Company.objects.filter(pk__in=company_ids_for(user, KPI_ROLES)).order_by("name")
    if not slugs:
        return list(visible)
    return [get_object_or_404(visible, slug=slug) for slug in dict.fromkeys(slugs)]


def _in_range(ranges: dict[int, tuple[datetime, datetime]], time_field: str) -> Q:
    """Rows of each company within its own range: (company A and A's range) or (company B...)."""
    return reduce(
        operator.or_,
        (
            Q(company_id=company_id, **{f"{time_field}__gte": start, f"{time_field}__lt": end})
            for company_id, (start, end) in ranges.items()
        ),
    )


def _agents_in(f: ReportFilter) -> QuerySet[Agent] | None:
    """The agents the team and agent filters leave, or None when there are no such filters."""
    if not f.team_ids and not f.agent_ids:
        return None
    agents = Agent.objects.filter(company_id__in=f.company_ids)
    if f.team_ids:
        agents = agents.filter(teams__in=f.team_ids)
    if f.agent_ids:
        agents = agents.filter(pk__in=f.agent_ids)
    return agents.values("pk")


def _calls(f: ReportFilter) -> QuerySet[Call]:
    """The calls of the range, open ones included (the aggregates tell them apart)."""
    calls = Call.objects.filter(_in_range(f.utc_ranges(), "offered_at")).order_by()
    if f.queue_ids:
        calls = calls.filter(queue_id__in=f.queue_ids)
    agents = _agents_in(f)
    if agents is not None:
        # A team's or an agent's calls: those they answered or that last rang at them.
        calls = calls.filter(agent_id__in=agents)
    if f.direction:
        calls = calls.filter(direction=f.direction)
    return calls


def _queue_offers(f: ReportFilter) -> QuerySet[Call]:
    """Each call offered in its last queue (`Call.queue`); the queues it overflowed from come
    from `_overflow_offers`."""
    return _calls(f).filter(queue__isnull=False)


# `_queue_offers` gives each call one row (its last queue): a company's total is the sum of its
# queue rows, and the report reads the calls once (bench/reports.py: one scan instead of two).
# The offers in queues a call overflowed from are added to those queues' rows only.
ONE_OFFER_PER_CALL = True


def _company_calls(f: ReportFilter) -> QuerySet[Call]:
    """Each queued call once, for company totals, whatever the queues it visited."""
    return _calls(f).filter(queue__isnull=False)


# --- call figures -------------------------------------------------------------------------------

_OVER = Q(ended_at__isnull=False)
_ANSWERED = _OVER & Q(outcome=Outcome.ANSWERED)
_ABANDONED = _OVER & Q(outcome=Outcome.ABANDONED)
_WITHIN = Q(queue_wait_seconds__lte=F("queue__service_level_seconds"))


def _count(condition: Q) -> Count:
    return Count("id", filter=condition)


# Annotation names may not be the model's field names: each figure is "k_<figure>".
_AGGREGATES = {
    "k_offered": _count(_OVER),
    "k_answered": _count(_ANSWERED),
    "k_abandoned": _count(_ABANDONED),
    "k_short_abandons": _count(_OVER & Q(outcome=Outcome.SHORT_ABANDON)),
    "k_timeouts": _count(_OVER & Q(outcome=Outcome.TIMEOUT)),
    "k_exits_key": _count(_OVER & Q(outcome=Outcome.EXIT_KEY)),
    "k_exits_empty": _count(_OVER & Q(outcome=Outcome.EXIT_EMPTY)),
    "k_other_outcomes": _count(
        _OVER & Q(outcome__in=[Outcome.MISSED, Outcome.BUSY, Outcome.FAILED, Outcome.IN_PROGRESS])
    ),
    "k_transferred": _count(_ANSWERED & Q(transfer_count__gt=0)),
    "k_open_calls": _count(Q(ended_at__isnull=True)),
    "k_answered_within": _count(_ANSWERED & _WITHIN),
    "k_abandoned_within": _count(_ABANDONED & _WITHIN),
    "k_left_within": _count(_OVER & _WITHIN),
    "k_waits": Count("queue_wait_seconds", filter=_OVER),
    "k_wait_seconds": Sum("queue_wait_seconds", filter=_OVER),
    "k_longest_wait": Max("queue_wait_seconds", filter=_OVER),
    "k_answered_wait_seconds": Sum("queue_wait_seconds", filter=_ANSWERED),
    "k_ring_seconds": Sum("ring_seconds", filter=_ANSWERED),
    "k_talk_seconds": Sum("talk_seconds", filter=_ANSWERED),
    "k_hold_seconds": Sum("hold_seconds", filter=_ANSWERED),
    "k_wrap_up_seconds": Sum("wrap_up_seconds", filter=_ANSWERED),
}


@dataclass(frozen=True)
class CallFigures:
    """The additive parts of the queue KPIs over a set of calls (see catalogue.py)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0  # short abandons excluded
    short_abandons: int = 0
    timeouts: int = 0
    exits_key: int = 0
    exits_empty: int = 0
    other_outcomes: int = 0
    transferred: int = 0
    open_calls: int = 0  # not in offered nor in any rate
    answered_within: int = 0
    abandoned_within: int = 0
    left_within: int = 0  # every offered call whose wait was <= T, however it left
    waits: int = 0  # offered calls with a known wait
    wait_seconds: int = 0
    longest_wait: int | None = None
    answered_wait_seconds: int = 0
    ring_seconds: int = 0
    talk_seconds: int = 0
    hold_seconds: int = 0
    wrap_up_seconds: int = 0

    @classmethod
    def from_row(cls, row: dict) -> "CallFigures":
        values = {f.name: row.get(f"k_{f.name}") for f in fields(cls)}
        return cls(
            **{k: (v or 0) if k != "longest_wait" else v for k, v in values.items()},
        )

    def __add__(self, other: "CallFigures") -> "CallFigures":
        values = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "longest_wait":
                values[f.name] = max((v for v in (mine, theirs) if v is not None), default=None)
            else:
                values[f.name] = mine + theirs
        return CallFigures(**values)

    @property
    def handle_seconds(self) -> int:
        return self.talk_seconds + self.hold_seconds + self.wrap_up_seconds

    def asa(self) -> Ratio:
        return Ratio(self.answered_wait_seconds, self.answered)

    def average_wait(self) -> Ratio:
        return Ratio(self.wait_seconds, self.waits)

    def abandonment_rate(self) -> Ratio:
        return Ratio(self.abandoned, self.offered - self.short_abandons)

    def average_ring(self) -> Ratio:
        return Ratio(self.ring_seconds, self.answered)

    def average_talk(self) -> Ratio:
        return Ratio(self.talk_seconds, self.answered)

    def average_hold(self) -> Ratio:
        return Ratio(self.hold_seconds, self.answered)

    def average_wrap_up(self) -> Ratio:
        return Ratio(self.wrap_up_seconds, self.answered)

    def aht(self) -> Ratio:
        return Ratio(self.handle_seconds, self.answered)

    def service_level(self, variant: str) -> Ratio:
        """The service level by one of the named formulas (catalogue.SERVICE_LEVEL_FORMULAS)."""
        answered_within, answered = self.answered_within, self.answered
        abandoned, abandoned_within = self.abandoned, self.abandoned_within
        parts = {
            ServiceLevelVariant.ANSWERED_ABANDONED_AFTER_T: (
                answered_within,
                answered + abandoned - abandoned_within,
            ),
            ServiceLevelVariant.ANSWERED_ONLY: (answered_within, answered),
            ServiceLevelVariant.OFFERED: (answered_within, self.offered),
            ServiceLevelVariant.ANSWERED_ABANDONED: (answered_within, answered + abandoned),
            ServiceLevelVariant.ABANDONS_WITHIN_T_CREDITED: (
                answered_within + abandoned_within,
                answered + abandoned,
            ),
            ServiceLevelVariant.SHORT_ABANDONS_EXCLUDED: (
                answered_within,
                self.offered - self.short_abandons,
            ),
            ServiceLevelVariant.LEFT_QUEUE_WITHIN_T: (self.left_within, self.offered),
        }
        return Ratio(*parts[ServiceLevelVariant(variant)])

    def figure(self, code: str) -> int | Ratio | None:
        """A count (`COUNT_FIGURES`) or a ratio (`RATIO_FIGURES`) by its catalogue code."""
        if code in COUNT_FIGURES:
            return getattr(self, code)
        if code in RATIO_FIGURES:
            return getattr(self, code)()
        raise KeyError(code)

    def figures_dict(self) -> dict:
        return {code: getattr(self, code) for code in COUNT_FIGURES} | {
            code: getattr(self, code)().as_dict() for code in RATIO_FIGURES
        }


# What the queue and interval reports show of CallFigures, beside the service level.
COUNT_FIGURES = (
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "timeouts",
    "exits_key",
    "exits_empty",
    "other_outcomes",
    "transferred",
    "open_calls",
    "longest_wait",
)
RATIO_FIGURES = (
    "asa",
    "average_wait",
    "abandonment_rate",
    "average_ring",
    "average_talk",
    "average_hold",
    "average_wrap_up",
    "aht",
)


def _service_level(by_company: dict[int, CallFigures], variants: dict[int, str]) -> Ratio:
    """Summed per company, each under its own formula variant."""
    total = Ratio(0, 0)
    for company_id, figures in by_company.items():
        total += figures.service_level(variants[company_id])
    return total


@dataclass(frozen=True)
class CompanyInfo:
    id: int
    slug: str
    name: str
    time_zone: str
    service_level_variant: str
    fcr_window_days: int

    def as_dict(self) -> dict:
        return {
            "slug": self.slug,
            "name": self.name,
            "time_zone": self.time_zone,
            "service_level_variant": {
                "code": self.service_level_variant,
                "label": str(ServiceLevelVariant(self.service_level_variant).label),
                "formula": str(service_level_formula(self.service_level_variant)),
            },
            "first_contact_resolution_days": self.fcr_window_days,
        }


def _company_infos(f: ReportFilter) -> dict[int, CompanyInfo]:
    settings = KpiSettings.objects.for_companies(f.companies)
    return {
        c.pk: CompanyInfo(
            id=c.pk,
            slug=c.slug,
            name=c.name,
            time_zone=c.time_zone,
            service_level_variant=settings[c.pk].service_level_variant,
            fcr_window_days=settings[c.pk].fcr_window_days,
        )
        for c in f.companies
    }


def _variant_note(companies: list[CompanyInfo]) -> str:
    def one(info: CompanyInfo) -> str:
        variant = info.service_level_variant
        return f"{ServiceLevelVariant(variant).label}: {service_level_formula(variant)}"

    if len({c.service_level_variant for c in companies}) == 1:
        return one(companies[0])
    return "; ".join(f"{c.name}: {one(c)}" for c in companies)


def _common_notes(f: ReportFilter, companies: list[CompanyInfo]) -> list[tuple[str, str]]:
    zones = sorted({c.time_zone for c in companies})
    zone_note = (
        zones[0] if len(zones) == 1 else "; ".join(f"{c.name}: {c.time_zone}" for c in companies)
    )
    return [
        (_("Period"), f"{f.date_from.isoformat()} - {f.date_to.isoformat()}"),
        (_("Client companies"), ", ".join(c.name for c in companies)),
        (_("Time zone"), zone_note),
        (_("Service-level formula"), _variant_note(companies)),
    ]


@dataclass(frozen=True)
class Thresholds:
    """A queue's thresholds, as the service level and short abandons of its calls read them."""

    company_id: int
    queue_id: int
    code: str
    name: str
    service_level_seconds: int
    short_abandon_seconds: int

    def as_dict(self) -> dict:
        return {
            "queue": self.code,
            "name": self.name,
            "service_level_seconds": self.service_level_seconds,
            "short_abandon_seconds": self.short_abandon_seconds,
        }


def _queues(f: ReportFilter) -> list[Thresholds]:
    queues = Queue.objects.filter(company_id__in=f.company_ids).order_by("company_id", "name")
    if f.queue_ids:
        queues = queues.filter(pk__in=f.queue_ids)
    return [
        Thresholds(
            company_id=q.company_id,
            queue_id=q.pk,
            code=q.code,
            name=q.name,
            service_level_seconds=q.service_level_seconds,
            short_abandon_seconds=q.short_abandon_seconds,
        )
        for q in queues
    ]


def _thresholds_note(queues: list[Thresholds]) -> tuple[str, str]:
    return (
        _("Thresholds"),
        "; ".join(
            _("%(queue)s: T = %(t)s s, short abandon <= %(short)s s")
            % {"queue": q.name, "t": q.service_level_seconds, "short": q.short_abandon_seconds}
            for q in queues
        ),
    )


# --- queue report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    queue: Thresholds
    service_level_variant: str
    figures: CallFigures

    @property
    def company_id(self) -> int:
        return self.queue.company_id

    @property
    def queue_id(self) -> int:
        return self.queue.queue_id

    @property
    def code(self) -> str:
        return self.queue.code

    @property
    def name(self) -> str:
        return self.queue.name

    @property
    def service_level(self) -> Ratio:
        return self.figures.service_level(self.service_level_variant)

    def as_dict(self) -> dict:
        return {
            **self.queue.as_dict(),
            **self.figures.figures_dict(),
            "service_level": self.service_level.as_dict(),
        }


@dataclass(frozen=True)
class TotalRow:
    """Calls counted once (a company's total, or all companies'), with its service level
    summed per company under each company's variant."""

    figures: CallFigures
    service_level: Ratio
    company_id: int | None = None

    def as_dict(self) -> dict:
        return {**self.figures.figures_dict(), "service_level": self.service_level.as_dict()}


_QUEUE_COLUMNS = (
    ("offered", COUNT),
    ("answered", COUNT),
    ("abandoned", COUNT),
    ("short_abandons", COUNT),
    ("timeouts", COUNT),
    ("exits_key", COUNT),
    ("exits_empty", COUNT),
    ("other_outcomes", COUNT),
    ("transferred", COUNT),
    ("open_calls", COUNT),
    ("asa", SECONDS),
    ("average_wait", SECONDS),
    ("longest_wait", SECONDS),
    ("service_level", RATIO),
    ("abandonment_rate", RATIO),
    ("average_ring", SECONDS),
    ("average_talk", SECONDS),
    ("average_hold", SECONDS),
    ("average_wrap_up", SECONDS),
    ("aht", SECONDS),
)


def _table_values(figures: CallFigures, service_level: Ratio, columns) -> dict:
    """Raw values for a ReportTable: counts, seconds, and ratios as fractions (None if
    undefined)."""
    values = {}
    for code, _kind in columns:
        value = service_level if code == "service_level" else figures.figure(code)
        values[code] = value.value if isinstance(value, Ratio) else value
    return values


@dataclass(frozen=True)
class QueueReport:
    filter: ReportFilter
    companies: list[CompanyInfo]
    rows: list[QueueRow]
    company_totals: list[TotalRow]
    total: TotalRow
    # Queues whose rows hold offers of calls that overflowed to another queue (QueueVisit).
    overflowed_queue_ids: frozenset[int] = frozenset()

    def as_dict(self) -> dict:
        names = {c.id: c.slug for c in self.companies}
        return {
            "report": "queues",
            "from": self.filter.date_from.isoformat(),
            "to": self.filter.date_to.isoformat(),
            "companies": [c.as_dict() for c in self.companies],
            "rows": [{"company": names[r.company_id], **r.as_dict()} for r in self.rows],
            "company_totals": [
                {"company": names[t.company_id], **t.as_dict()} for t in self.company_totals
            ],
            "total": self.total.as_dict(),
        }

    def table(self) -> ReportTable:
        several = len(self.companies) > 1
        names = {c.id: c.name for c in self.companies}
        columns = [Column("company", _("Client company"), TEXT)] if several else []
        columns += [
            Column("queue", _("Queue"), TEXT),
            Column("threshold", _("Service level T (s)"), COUNT),
            Column("short_abandon_threshold", _("Short abandon (s)"), COUNT),
        ]
        columns += [Column(code, str(kpi(code).label), kind) for code, kind in _QUEUE_COLUMNS]
        rows = [
            {
                "company": names[r.company_id],
                "queue": r.queue.name,
                "threshold": r.queue.service_level_seconds,
                "short_abandon_threshold": r.queue.short_abandon_seconds,
                **_table_values(r.figures, r.service_level, _QUEUE_COLUMNS),
            }
            for r in self.rows
        ]
        total = {
            "company": _("Total"),
            "queue": _("Total (each call once)"),
            "threshold": None,
            "short_abandon_threshold": None,
            **_table_values(self.total.figures, self.total.service_level, _QUEUE_COLUMNS),
        }
        return ReportTable(
            title=_("Queues"),
            columns=columns,
            rows=rows,
            total=total,
            notes=[
                *_common_notes(self.filter, self.companies),
                _thresholds_note([r.queue for r in self.rows]),
            ],
        )


def _overflow_offers(f: ReportFilter) -> dict[int, CallFigures]:
    """{queue id: the offers of calls that left that queue for another} (telephony.QueueVisit):
    offered there and left on the queue's timeout, with their wait in that queue. Like every
    figure, only calls that are over; filtered as the calls are (the call's agent, direction)."""
    visits = QueueVisit.objects.filter(
        _in_range(f.utc_ranges(), "entered_at"), call__ended_at__isnull=False
    ).order_by()
    if f.queue_ids:
        visits = visits.filter(queue_id__in=f.queue_ids)
    agents = _agents_in(f)
    if agents is not None:
        visits = visits.filter(call__agent_id__in=agents)
    if f.direction:
        visits = visits.filter(call__direction=f.direction)
    rows = visits.values("queue_id").annotate(
        k_offered=Count("id"),
        k_wait_seconds=Sum("wait_seconds"),
        k_longest_wait=Max("wait_seconds"),
        k_left_within=Count("id", filter=Q(wait_seconds__lte=F("queue__service_level_seconds"))),
    )
    return {
        row["queue_id"]: CallFigures(
            offered=row["k_offered"],
            timeouts=row["k_offered"],
            waits=row["k_offered"],
            wait_seconds=row["k_wait_seconds"] or 0,
            longest_wait=row["k_longest_wait"],
            left_within=row["k_left_within"],
        )
        for row in rows
    }


def queue_report(f: ReportFilter) -> QueueReport:
    """Per queue, then per company (each call once) and for all the companies together."""
    infos = _company_infos(f)
    variants = {cid: info.service_level_variant for cid, info in infos.items()}
    by_company = {cid: CallFigures() for cid in infos}
    by_queue = {}
    for row in _queue_offers(f).values("company_id", "queue_id").annotate(**_AGGREGATES):
        by_queue[row["queue_id"]] = figures = CallFigures.from_row(row)
        if ONE_OFFER_PER_CALL:
            by_company[row["company_id"]] += figures
    if not ONE_OFFER_PER_CALL:
        # A call offered in several queues is in several queue rows: count it once here.
        for row in _company_calls(f).values("company_id").annotate(**_AGGREGATES):
            by_company[row["company_id"]] = CallFigures.from_row(row)
    # Overflowed calls are offered in each queue they visited (design.md), after the company
    # totals were taken: there each call counts once.
    overflow = _overflow_offers(f)
    for queue_id, figures in overflow.items():
        by_queue[queue_id] = by_queue.get(queue_id, CallFigures()) + figures
    rows = [
        QueueRow(
            queue=q,
            service_level_variant=variants[q.company_id],
            figures=by_queue.get(q.queue_id, CallFigures()),
        )
        for q in _queues(f)
    ]
    company_totals = [
        TotalRow(
            figures=figures,
            service_level=figures.service_level(variants[cid]),
            company_id=cid,
        )
        for cid, figures in by_company.items()
    ]
    grand = sum(by_company.values(), CallFigures())
    return QueueReport(
        filter=f,
        companies=list(infos.values()),
        rows=rows,
        company_totals=company_totals,
        total=TotalRow(figures=grand, service_level=_service_level(by_company, variants)),
        overflowed_queue_ids=frozenset(overflow),
    )


# --- interval report ----------------------------------------------------------------------------

# The coarsest UTC grain that every interval boundary falls on is what the SQL groups by; each
# grain-sized slot then lies within exactly one local interval, and the slots' sums are added
# into it. (Boundaries come from periods.py, stepped in local time: the grain only lets the
# database group coarsely. A zone whose offset is not a whole number of minutes, as before
# 1980 in a few places, falls back to grouping by second: slower, never wrong.)
_GRAINS = ((86400, "day"), (3600, "hour"), (1800, "hour"), (900, "hour"), (60, "minute"))


def _grain(boundaries: list[datetime]) -> tuple[int, str]:
    epochs = [int(b.timestamp()) for b in boundaries]
    for seconds, kind in _GRAINS:
        if all(e % seconds == 0 for e in epochs):
            return seconds, kind
    return 1, "second"


def slotted(queryset: QuerySet, expression, grain: int, kind: str) -> QuerySet:
    """The rows annotated with their UTC slot of `expression`, `grain` seconds long
    (`k_slot`, `k_part`; `_grain`: every interval boundary falls on a slot boundary, so a
    slot lies within one interval). Group by both, then place each with `slot_start`."""
    queryset = queryset.annotate(k_slot=Trunc(expression, kind, tzinfo=UTC))
    if kind == "hour" and grain < 3600:
        # PostgreSQL's EXTRACT is numeric: made whole, the division is a whole one everywhere.
        minute = Cast(ExtractMinute(expression, tzinfo=UTC), IntegerField())
        return queryset.annotate(k_part=minute / (grain // 60))
    return queryset.annotate(k_part=Value(0))


def slot_start(row: dict, grain: int) -> datetime:
    return row["k_slot"] + timedelta(seconds=int(row["k_part"]) * grain)


@dataclass(frozen=True)
class IntervalRow:
    period: Period
    figures: CallFigures
    service_level: Ratio

    def as_dict(self) -> dict:
        return {
            "interval": self.period.label,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "offered": self.figures.offered,
            "answered": self.figures.answered,
            "abandoned": self.figures.abandoned,
            "short_abandons": self.figures.short_abandons,
            "open_calls": self.figures.open_calls,
            "service_level": self.service_level.as_dict(),
            "asa": self.figures.asa().as_dict(),
            "abandonment_rate": self.figures.abandonment_rate().as_dict(),
            "aht": self.figures.aht().as_dict(),
        }


_INTERVAL_COLUMNS = (
    ("offered", COUNT),
    ("answered", COUNT),
    ("abandoned", COUNT),
    ("short_abandons", COUNT),
    ("service_level", RATIO),
    ("asa", SECONDS),
    ("abandonment_rate", RATIO),
    ("aht", SECONDS),
)


@dataclass(frozen=True)
class IntervalReport:
    filter: ReportFilter
    size: str
    time_zone: str
    companies: list[CompanyInfo]
    queues: list[Thresholds]
    rows: list[IntervalRow]
    total: TotalRow

    def as_dict(self) -> dict:
        return {
            "report": "intervals",
            "interval": self.size,
            "time_zone": self.time_zone,
            "from": self.filter.date_from.isoformat(),
            "to": self.filter.date_to.isoformat(),
            "companies": [c.as_dict() for c in self.companies],
            "queues": [q.as_dict() for q in self.queues],
            "rows": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
        }

    def table(self) -> ReportTable:
        columns = [Column("interval", _("Interval"), TEXT)]
        columns += [Column(code, str(kpi(code).label), kind) for code, kind in _INTERVAL_COLUMNS]
        return ReportTable(
            title=_("Intervals"),
            columns=columns,
            rows=[
                {
                    "interval": r.period.label,
                    **_table_values(r.figures, r.service_level, _INTERVAL_COLUMNS),
                }
                for r in self.rows
            ],
            total={
                "interval": _("Total"),
                **_table_values(self.total.figures, self.total.service_level, _INTERVAL_COLUMNS),
            },
            notes=[
                *_common_notes(self.filter, self.companies),
                _thresholds_note(self.queues),
                (_("Interval"), str(IntervalSize(self.size).label)),
            ],
        )


def interval_report(f: ReportFilter, size: str) -> IntervalReport:
    """Every interval of the range a row, empty ones included; a call in the interval of its
    queue entry. The rows add up to the range: the same calls as the queue report's total."""
    zones = {c.time_zone for c in f.companies}
    if len(zones) > 1:
        raise ReportError(
            _("Intervals need one time zone; these companies are in %(zones)s.")
            % {"zones": ", ".join(sorted(zones))}
        )
    zone = zones.pop()
    infos = _company_infos(f)
    variants = {cid: info.service_level_variant for cid, info in infos.items()}
    rows_periods = periods(f.date_from, f.date_to, size, ZoneInfo(zone))
    grain, kind = _grain([p.start for p in rows_periods] + [rows_periods[-1].end])
    slots = slotted(_company_calls(f), "offered_at", grain, kind)
    starts = [p.start for p in rows_periods]
    cells: dict[tuple[int, int], CallFigures] = defaultdict(CallFigures)
    for row in slots.values("company_id", "k_slot", "k_part").annotate(**_AGGREGATES):
        index = bisect.bisect_right(starts, slot_start(row, grain)) - 1
        cells[(index, row["company_id"])] += CallFigures.from_row(row)
    rows = []
    by_company = {cid: CallFigures() for cid in infos}
    for index, period in enumerate(rows_periods):
        in_period = {cid: cells.get((index, cid), CallFigures()) for cid in infos}
        for cid, figures in in_period.items():
            by_company[cid] += figures
        rows.append(
            IntervalRow(
                period=period,
                figures=sum(in_period.values(), CallFigures()),
                service_level=_service_level(in_period, variants),
            )
        )
    return IntervalReport(
        filter=f,
        size=str(size),
        time_zone=zone,
        companies=list(infos.values()),
        queues=_queues(f),
        rows=rows,
        total=TotalRow(
            figures=sum(by_company.values(), CallFigures()),
            service_level=_service_level(by_company, variants),
        ),
    )


# --- agent report -------------------------------------------------------------------------------

# Occupancy (design.md): handle time / (handle time + available idle time), from the intervals.
# Handle time is on a call or wrapping one up; ringing is neither handling nor idle (ring time
# is reported apart from AHT), so it is in neither part.
HANDLING_STATES = (AgentState.ON_CALL, AgentState.WRAP_UP)
NO_REASON = ""


@dataclass(frozen=True)
class AgentFigures:
    handled: int = 0
    talk_seconds: int = 0
    hold_seconds: int = 0
    wrap_up_seconds: int = 0
    ring_no_answer: int = 0
    state_seconds: dict[str, int] = field(default_factory=dict)
    pause_seconds: dict[str, int] = field(default_factory=dict)  # by reason code

    def __add__(self, other: "AgentFigures") -> "AgentFigures":
        def merged(a: dict, b: dict) -> dict:
            return {k: a.get(k, 0) + b.get(k, 0) for k in {**a, **b}}

        return AgentFigures(
            handled=self.handled + other.handled,
            talk_seconds=self.talk_seconds + other.talk_seconds,
            hold_seconds=self.hold_seconds + other.hold_seconds,
            wrap_up_seconds=self.wrap_up_seconds + other.wrap_up_seconds,
            ring_no_answer=self.ring_no_answer + other.ring_no_answer,
            state_seconds=merged(self.state_seconds, other.state_seconds),
            pause_seconds=merged(self.pause_seconds, other.pause_seconds),
        )

    def seconds_in(self, state: str) -> int:
        return self.state_seconds.get(state, 0)

    @property
    def logged_in_seconds(self) -> int:
        return sum(s for state, s in self.state_seconds.items() if state != AgentState.OFFLINE)

    def aht(self) -> Ratio:
        return Ratio(self.talk_seconds + self.hold_seconds + self.wrap_up_seconds, self.handled)

    def average_talk(self) -> Ratio:
        return Ratio(self.talk_seconds, self.handled)

    def average_hold(self) -> Ratio:
        return Ratio(self.hold_seconds, self.handled)

    def average_wrap_up(self) -> Ratio:
        return Ratio(self.wrap_up_seconds, self.handled)

    def occupancy(self) -> Ratio:
        handling = sum(self.seconds_in(s) for s in HANDLING_STATES)
        return Ratio(handling, handling + self.seconds_in(AgentState.AVAILABLE))

    def calls_per_hour(self) -> Ratio:
        """Handled calls / logged-in hours, kept in whole numbers: (handled x 3600) / seconds."""
        return Ratio(self.handled * 3600, self.logged_in_seconds)

    def as_dict(self) -> dict:
        return {
            "handled": self.handled,
            "talk_seconds": self.talk_seconds,
            "hold_seconds": self.hold_seconds,
            "wrap_up_seconds": self.wrap_up_seconds,
            "average_talk": self.average_talk().as_dict(),
            "average_hold": self.average_hold().as_dict(),
            "average_wrap_up": self.average_wrap_up().as_dict(),
            "aht": self.aht().as_dict(),
            "ring_no_answer": self.ring_no_answer,
            "logged_in_seconds": self.logged_in_seconds,
            "state_seconds": {s: self.seconds_in(s) for s in AgentState.values},
            "pause_seconds": dict(sorted(self.pause_seconds.items())),
            "occupancy": self.occupancy().as_dict(),
            "calls_per_hour": self.calls_per_hour().as_dict(),
        }


@dataclass(frozen=True)
class AgentRow:
    agent_id: int
    company_id: int
    name: str
    figures: AgentFigures

    def as_dict(self) -> dict:
        return {"agent_id": self.agent_id, "name": self.name, **self.figures.as_dict()}


@dataclass(frozen=True)
class AgentReport:
    filter: ReportFilter
    companies: list[CompanyInfo]
    until: datetime  # intervals still open count up to this instant
    rows: list[AgentRow]
    total: AgentFigures
    pause_reasons: dict[str, str]  # code -> label, for the reasons in the rows

    def as_dict(self) -> dict:
        names = {c.id: c.slug for c in self.companies}
        return {
            "report": "agents",
            "from": self.filter.date_from.isoformat(),
            "to": self.filter.date_to.isoformat(),
            "until": self.until.isoformat(),
            "companies": [c.as_dict() for c in self.companies],
            "pause_reasons": self.pause_reasons,
            "rows": [{"company": names[r.company_id], **r.as_dict()} for r in self.rows],
            "total": self.total.as_dict(),
        }

    def table(self) -> ReportTable:
        columns = [
            Column("agent", _("Agent"), TEXT),
            Column("handled", str(kpi("handled").label), COUNT),
            Column("average_talk", str(kpi("average_talk").label), SECONDS),
            Column("average_hold", str(kpi("average_hold").label), SECONDS),
            Column("average_wrap_up", str(kpi("average_wrap_up").label), SECONDS),
            Column("aht", str(kpi("aht").label), SECONDS),
            Column("ring_no_answer", str(kpi("ring_no_answer").label), COUNT),
            Column("logged_in", str(kpi("logged_in").label), SECONDS),
        ]
        columns += [Column(f"state:{s}", str(label), SECONDS) for s, label in AgentState.choices]
        columns += [
            Column(f"pause:{code}", _("Paused: %(reason)s") % {"reason": label}, SECONDS)
            for code, label in self.pause_reasons.items()
        ]
        columns += [
            Column("occupancy", str(kpi("occupancy").label), RATIO),
            Column("calls_per_hour", str(kpi("calls_per_hour").label), HOURS),
        ]

        def values(name: str, figures: AgentFigures) -> dict:
            return {
                "agent": name,
                "handled": figures.handled,
                "average_talk": figures.average_talk().value,
                "average_hold": figures.average_hold().value,
                "average_wrap_up": figures.average_wrap_up().value,
                "aht": figures.aht().value,
                "ring_no_answer": figures.ring_no_answer,
                "logged_in": figures.logged_in_seconds,
                **{f"state:{s}": figures.seconds_in(s) for s in AgentState.values},
                **{f"pause:{c}": figures.pause_seconds.get(c, 0) for c in self.pause_reasons},
                "occupancy": figures.occupancy().value,
                "calls_per_hour": figures.calls_per_hour().value,
            }

        return ReportTable(
            title=_("Agents"),
            columns=columns,
            rows=[values(r.name, r.figures) for r in self.rows],
            total=values(str(_("Total")), self.total),
            notes=[
                *_common_notes(self.filter, self.companies),
                (_("States counted until"), self.until.isoformat(timespec="seconds")),
            ],
        )


def _windows(f: ReportFilter, until: datetime) -> dict[int, tuple[datetime, datetime]]:
    """Each company's range, ended at `until` if sooner; a range not begun yet is left out."""
    windows = {}
    for company_id, (start, end) in f.utc_ranges().items():
        end = min(end, until)
        if end > start:
            windows[company_id] = (start, end)
    return windows


def _per_company(values: dict[int, datetime]):
    """A datetime that depends on the row's company (each company has its own local day)."""
    distinct = set(values.values())
    if len(distinct) == 1:
        return Value(distinct.pop(), output_field=DateTimeField())
    return Case(
        *[
            When(company_id=cid, then=Value(v, output_field=DateTimeField()))
            for cid, v in values.items()
        ],
        output_field=DateTimeField(),
    )


def _state_seconds(f: ReportFilter, windows, agents) -> QuerySet:
    """Seconds per (agent, state, pause reason), each interval clipped to its company's window;
    an interval still open counts up to the window's end."""
    overlapping = reduce(
        operator.or_,
        (
            Q(company_id=company_id, started_at__lt=end)
            & (Q(ended_at__isnull=True) | Q(ended_at__gt=start))
            for company_id, (start, end) in windows.items()
        ),
    )
    window_start = _per_company({cid: w[0] for cid, w in windows.items()})
    window_end = _per_company({cid: w[1] for cid, w in windows.items()})
    clipped = ExpressionWrapper(
        Least(Coalesce(F("ended_at"), window_end), window_end)
        - Greatest(F("started_at"), window_start),
        output_field=DurationField(),
    )
    intervals = AgentStateInterval.objects.filter(overlapping).order_by()
    if agents is not None:
        intervals = intervals.filter(agent_id__in=agents)
    return intervals.values(
        "agent_id", "state", "pause_reason__code", "pause_reason__label"
    ).annotate(k_duration=Sum(clipped))


def _rings_not_answered(f: ReportFilter, windows, agents) -> QuerySet:
    """Ring-no-answer, per agent: a ringing interval (begun in the range) that ended while its
    call went on unanswered: nobody went on the call at that instant (neither this agent nor a
    colleague it was offered to at the same time) and the caller had not hung up. A ring that
    stops because the caller hangs up is an abandon, not the agent's ring-no-answer; a ring
    timed out that moves the call to another agent or back to the queue is one."""
    answered_then = AgentStateInterval.objects.filter(
        call_id=OuterRef("call_id"), state=AgentState.ON_CALL, started_at=OuterRef("ended_at")
    )
    rings = (
        AgentStateInterval.objects.filter(
            _in_range(windows, "started_at"),
            state=AgentState.RINGING,
            call__isnull=False,
            ended_at__isnull=False,
        )
        .filter(~Exists(answered_then))
        .filter(Q(call__ended_at__isnull=True) | Q(call__ended_at__gt=F("ended_at")))
        .order_by()
    )
    if agents is not None:
        rings = rings.filter(agent_id__in=agents)
    if f.queue_ids:
        rings = rings.filter(call__queue_id__in=f.queue_ids)
    if f.direction:
        rings = rings.filter(call__direction=f.direction)
    return rings.values("agent_id").annotate(k_rings=Count("id"))


def agent_report(f: ReportFilter, *, now: datetime | None = None) -> AgentReport:
    """Per agent: the calls they handled (answered, over, entered in the range) and their
    states (intervals clipped to the range, and to `now` for those still open).

    The queue and direction filters narrow the calls and the rings; states are the agent's
    whatever queue they served. Agents with neither a handled call nor a state in the range
    have no row.
    """
    until = now or timezone.now()
    infos = _company_infos(f)
    windows = _windows(f, until)
    agents = _agents_in(f)
    figures: dict[int, dict] = defaultdict(dict)
    handled = (
        _calls(f)
        .filter(_ANSWERED, agent_id__isnull=False)
        .values("agent_id")
        .annotate(
            k_handled=Count("id"),
            k_talk=Sum("talk_seconds"),
            k_hold=Sum("hold_seconds"),
            k_wrap_up=Sum("wrap_up_seconds"),
        )
    )
    for row in handled:
        figures[row["agent_id"]].update(
            handled=row["k_handled"],
            talk_seconds=row["k_talk"] or 0,
            hold_seconds=row["k_hold"] or 0,
            wrap_up_seconds=row["k_wrap_up"] or 0,
        )
    pause_reasons: dict[str, str] = {}
    states: dict[int, dict[str, int]] = defaultdict(dict)
    pauses: dict[int, dict[str, int]] = defaultdict(dict)
    if windows:
        for row in _state_seconds(f, windows, agents):
            seconds = max(0, int(row["k_duration"].total_seconds()))
            agent_states = states[row["agent_id"]]
            agent_states[row["state"]] = agent_states.get(row["state"], 0) + seconds
            if row["state"] == AgentState.PAUSED:
                code = row["pause_reason__code"] or NO_REASON
                pause_reasons[code] = row["pause_reason__label"] or str(_("No reason"))
                agent_pauses = pauses[row["agent_id"]]
                agent_pauses[code] = agent_pauses.get(code, 0) + seconds
        for row in _rings_not_answered(f, windows, agents):
            figures[row["agent_id"]]["ring_no_answer"] = row["k_rings"]
    for agent_id in states:
        figures[agent_id].update(state_seconds=states[agent_id], pause_seconds=pauses[agent_id])
    people = Agent.objects.filter(pk__in=list(figures)).select_related("user")
    rows = sorted(
        (
            AgentRow(
                agent_id=a.pk,
                company_id=a.company_id,
                name=str(a),
                figures=AgentFigures(**figures[a.pk]),
            )
            for a in people
        ),
        key=lambda r: (r.name.casefold(), r.agent_id),
    )
    return AgentReport(
        filter=f,
        companies=list(infos.values()),
        until=until,
        rows=rows,
        total=sum((r.figures for r in rows), AgentFigures()),
        pause_reasons=dict(sorted(pause_reasons.items())),
    )
