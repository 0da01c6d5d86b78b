"""The KPI catalogue: every figure the reports show, with its code, label, unit, formula and the
roles that may see it, and the named service-level formula variants.

The definitions are those of `/work/shared/design.md`, "KPI definitions"; the formulas below
quote it. One vocabulary is used throughout (reporting/queries.py computes exactly these):

- *offered*: calls that entered a queue and are over (a call still open at the end of the range
  is left out of offered and of every rate, never counted as abandoned);
- *answered*: offered calls an agent answered, those later transferred included;
- *abandoned*: the caller hung up while waiting, *short abandons excluded*: a short abandon
  (hung up within the queue's short-abandon threshold, default 5 s) is reported apart and, as
  design.md sets by default, left out of the abandonment rate and of the service level;
- *wait*: queue entry to answer (ring included), or to leaving the queue;
- *within T*: wait <= T, the queue's service-level threshold (default 20 s), as Asterisk counts.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from contactcenter.tenancy.models import Role


class Unit(models.TextChoices):
    COUNT = "count", _("count")
    SECONDS = "seconds", _("seconds")
    RATIO = "ratio", _("ratio")
    HOURS = "hours", _("hours")
    PER_HOUR = "per_hour", _("per hour")


class Report(models.TextChoices):
    QUEUES = "queues", _("Queues")
    AGENTS = "agents", _("Agents")
    INTERVALS = "intervals", _("Intervals")
    TICKETS = "tickets", _("Tickets")


# Who reads KPIs: the people who run the centre and the client companies' managers (for their
# own companies only: the queries are scoped). Agents see none for now.
KPI_ROLES = frozenset({Role.SUPERVISOR, Role.CLIENT_MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class Kpi:
    code: str
    label: Promise
    unit: str
    formula: Promise
    reports: tuple[str, ...]
    roles: frozenset[str] = KPI_ROLES

    def visible_to(self, role: str | None) -> bool:
        return role in self.roles


class ServiceLevelVariant(models.TextChoices):
    """The published service-level formulas (design.md: "support them as named variants and
    print the variant on every report and export"). A_T: answered within T; B: abandoned (short
    abandons excluded); B_T: abandoned within T; S: short abandons; O: offered."""

    ANSWERED_ABANDONED_AFTER_T = (
        "answered_abandoned_after_t",
        _("Answered + abandoned after T (default)"),
    )
    ANSWERED_ONLY = "answered_only", _("Answered only")
    OFFERED = "offered", pgettext_lazy("service level variant", "Offered")
    ANSWERED_ABANDONED = "answered_abandoned", _("Answered + abandoned")
    ABANDONS_WITHIN_T_CREDITED = "abandons_within_t_credited", _("Abandons within T credited")
    SHORT_ABANDONS_EXCLUDED = "short_abandons_excluded", _("Short abandons excluded")
    LEFT_QUEUE_WITHIN_T = "left_queue_within_t", _("Contacts leaving the queue within T")


DEFAULT_SERVICE_LEVEL_VARIANT = ServiceLevelVariant.ANSWERED_ABANDONED_AFTER_T

SERVICE_LEVEL_FORMULAS: dict[str, Promise] = {
    ServiceLevelVariant.ANSWERED_ABANDONED_AFTER_T: _(
        "answered within T / (answered + abandoned after T)"
    ),
    ServiceLevelVariant.ANSWERED_ONLY: _("answered within T / answered"),
    ServiceLevelVariant.OFFERED: _("answered within T / offered (short abandons included)"),
    ServiceLevelVariant.ANSWERED_ABANDONED: _("answered within T / (answered + abandoned)"),
    ServiceLevelVariant.ABANDONS_WITHIN_T_CREDITED: _(
        "(answered within T + abandoned within T) / (answered + abandoned)"
    ),
    ServiceLevelVariant.SHORT_ABANDONS_EXCLUDED: _(
        "answered within T / (offered - short abandons)"
    ),
    ServiceLevelVariant.LEFT_QUEUE_WITHIN_T: _(
        "calls that left the queue within T, however they left / offered"
    ),
}


def service_level_formula(variant: str) -> Promise:
    return SERVICE_LEVEL_FORMULAS[variant]


_Q, _A, _I, _T = Report.QUEUES, Report.AGENTS, Report.INTERVALS, Report.TICKETS

KPIS: tuple[Kpi, ...] = (
    Kpi(
        "offered",
        pgettext_lazy("number of calls", "Offered"),
        Unit.COUNT,
        _("calls that entered a queue and are over"),
        (_Q, _I),
    ),
    Kpi(
        "answered",
        pgettext_lazy("number of calls", "Answered"),
        Unit.COUNT,
        _("offered calls answered (transferred included)"),
        (_Q, _I),
    ),
    Kpi(
        "abandoned",
        pgettext_lazy("number of calls", "Abandoned"),
        Unit.COUNT,
        _("the caller hung up while waiting, short abandons excluded"),
        (_Q, _I),
    ),
    Kpi(
        "short_abandons",
        _("Short abandons"),
        Unit.COUNT,
        _("abandoned within the queue's short-abandon threshold"),
        (_Q, _I),
    ),
    Kpi(
        "timeouts",
        _("Queue timeouts"),
        Unit.COUNT,
        _("the queue's time limit ran out (not an abandon)"),
        (_Q,),
    ),
    Kpi(
        "exits_key",
        _("Left with a key"),
        Unit.COUNT,
        _("the caller left the queue with a key (not an abandon)"),
        (_Q,),
    ),
    Kpi(
        "exits_empty",
        _("Left: no agents"),
        Unit.COUNT,
        _("the queue had no agents (not an abandon)"),
        (_Q,),
    ),
    Kpi("other_outcomes", _("Other endings"), Unit.COUNT, _("missed, busy or failed"), (_Q,)),
    Kpi(
        "transferred",
        pgettext_lazy("number of calls", "Transferred"),
        Unit.COUNT,
        _("answered calls later transferred"),
        (_Q,),
    ),
    Kpi(
        "open_calls",
        _("Still open"),
        Unit.COUNT,
        _("calls not over yet: in no figure or rate"),
        (_Q,),
    ),
    Kpi(
        "asa",
        _("ASA (answered calls)"),
        Unit.SECONDS,
        _(
            "total queue wait of answered calls / answered calls "
            "(queue entry to answer, ring included)"
        ),
        (_Q, _I),
    ),
    Kpi(
        "average_wait",
        _("Average wait"),
        Unit.SECONDS,
        _("total queue wait / offered calls"),
        (_Q,),
    ),
    Kpi(
        "longest_wait",
        _("Longest wait"),
        Unit.SECONDS,
        _("the longest queue wait of an offered call"),
        (_Q,),
    ),
    Kpi(
        "service_level",
        _("Service level"),
        Unit.RATIO,
        _("by the company's formula variant; within T means wait <= T"),
        (_Q, _I),
    ),
    Kpi(
        "abandonment_rate",
        _("Abandonment rate"),
        Unit.RATIO,
        _("abandoned (excluding short) / offered (excluding short)"),
        (_Q, _I),
    ),
    Kpi(
        "average_ring",
        _("Average ring"),
        Unit.SECONDS,
        _("ring time of answered calls / answered calls (not part of AHT)"),
        (_Q,),
    ),
    Kpi("average_talk", _("Average talk"), Unit.SECONDS, _("talk time / handled calls"), (_Q, _A)),
    Kpi("average_hold", _("Average hold"), Unit.SECONDS, _("hold time / handled calls"), (_Q, _A)),
    Kpi(
        "average_wrap_up",
        _("Average wrap-up"),
        Unit.SECONDS,
        _("after-call work / handled calls"),
        (_Q, _A),
    ),
    Kpi(
        "aht",
        _("AHT"),
        Unit.SECONDS,
        _("(talk + hold + after-call work) / handled calls"),
        (_Q, _I, _A),
    ),
    Kpi(
        "handled",
        _("Handled"),
        Unit.COUNT,
        _("answered calls that are over, by the agent who answered"),
        (_A,),
    ),
    Kpi(
        "ring_no_answer",
        _("Ring-no-answer"),
        Unit.COUNT,
        _("rings that stopped while the call went on unanswered and still connected"),
        (_A,),
    ),
    Kpi(
        "logged_in",
        _("Logged in"),
        Unit.SECONDS,
        _("time in any state but offline, within the range"),
        (_A,),
    ),
    Kpi(
        "state_time",
        _("Time in state"),
        Unit.SECONDS,
        _("time in each state, within the range"),
        (_A,),
    ),
    Kpi(
        "pause_time",
        _("Time in pause"),
        Unit.SECONDS,
        _("time paused, per pause reason, within the range"),
        (_A,),
    ),
    Kpi(
        "occupancy",
        _("Occupancy"),
        Unit.RATIO,
        _("handle time / (handle time + available idle time), from agent-state intervals"),
        (_A,),
    ),
    Kpi(
        "calls_per_hour",
        _("Calls per hour"),
        Unit.PER_HOUR,
        _("handled calls / logged-in hours"),
        (_A,),
    ),
    Kpi(
        "first_contact_resolution",
        _("First-contact resolution"),
        Unit.RATIO,
        _(
            "contacts resolved with no repeat contact from the same customer on the same "
            "matter within the company's window (default 7 days) / contacts resolved"
        ),
        (_T,),
    ),
)

KPI_BY_CODE: dict[str, Kpi] = {kpi.code: kpi for kpi in KPIS}


def kpi(code: str) -> Kpi:
    return KPI_BY_CODE[code]


def kpis_for(report: str, role: str | None) -> list[Kpi]:
    """The KPIs of a report that this role may see, in catalogue order."""
    return [k for k in KPIS if report in k.reports and k.visible_to(role)]
