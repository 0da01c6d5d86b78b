"""The live wallboard: per queue, calls waiting and the longest wait, agents by state, and
today's offered, answered, abandoned and service level, for the viewer's companies.

The consumer (reporting/consumers.py) listens to the supervisors' live groups and, after a
burst of call and state changes, reads this snapshot again: a few indexed aggregates, whatever
the number of events that caused it.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, Min
from django.utils import timezone

from contactcenter.tenancy.models import Company
from reporting import queries
from telephony.live import active_calls
from telephony.models import Agent, AgentSkill, AgentState, AgentStateInterval, Queue

STATES = [state for state, _label in AgentState.choices]
# A queue row shows who can take its calls now and who is busy; offline agents are not there.
QUEUE_STATES = [
    AgentState.AVAILABLE,
    AgentState.RINGING,
    AgentState.ON_CALL,
    AgentState.WRAP_UP,
    AgentState.PAUSED,
]


def _local_today(company: Company, now: datetime):
    return now.astimezone(ZoneInfo(company.time_zone)).date()


def wallboard_snapshot(company_ids: list[int], now: datetime | None = None) -> dict:
    now = now or timezone.now()
    companies = list(Company.objects.filter(pk__in=company_ids).order_by("name"))
    queues = list(
        Queue.objects.filter(company_id__in=company_ids)
        .select_related("company")
        .order_by("company__name", "name")
    )
    waiting = {
        row["queue_id"]: row
        for row in active_calls(now)
        .filter(company_id__in=company_ids, answered_at__isnull=True, queue__isnull=False)
        .order_by()  # active_calls() orders by offer time, which GROUP BY would split on
        .values("queue_id")
        .annotate(waiting=Count("id"), since=Min("offered_at"))
    }
    states = {}
    for row in (
        AgentStateInterval.objects.filter(company_id__in=company_ids, ended_at__isnull=True)
        .values("company_id", "state")
        .annotate(n=Count("id"))
    ):
        states.setdefault(row["company_id"], {})[row["state"]] = row["n"]
    agents = dict(
        Agent.objects.filter(company_id__in=company_ids)
        .values("company_id")
        .annotate(n=Count("id"))
        .values_list("company_id", "n")
    )
    agents_by_queue = _agents_by_queue(company_ids, queues)
    today = {}
    for company in companies:
        day = _local_today(company, now)
        for row in _today_by_queue(company, day):
            today[row["queue_id"]] = row
    return {
        "generated_at": now.isoformat(),
        "companies": [
            {
                "id": company.pk,
                "name": company.name,
                "agents": _agents_by_state(states.get(company.pk, {}), agents.get(company.pk, 0)),
            }
            for company in companies
        ],
        "queues": [
            {
                **_queue_row(queue, waiting.get(queue.pk), today.get(queue.pk), now),
                "agents": agents_by_queue[queue.pk],
            }
            for queue in queues
        ],
    }


def _today_by_queue(company: Company, day) -> list[dict]:
    """Today's figures per queue, from the queue report itself: the wallboard and the reports
    never disagree (same definitions, same service-level variant)."""
    report = queries.queue_report(
        queries.ReportFilter(companies=(company,), date_from=day, date_to=day)
    )
    return [
        {
            "queue_id": row.queue_id,
            "offered": row.figures.offered,
            "answered": row.figures.answered,
            "abandoned": row.figures.abandoned,
            "service_level": row.service_level.value,
        }
        for row in report.rows
    ]


def _agents_by_queue(company_ids: list[int], queues: list[Queue]) -> dict[int, dict[str, int]]:
    """Per queue, its agents by state: the company's agents who hold every skill the queue
    requires (whom routing may ring for it). Three queries; the counting runs over agents
    (a few hundred), never over calls."""
    current = dict(
        AgentStateInterval.objects.filter(company_id__in=company_ids, ended_at__isnull=True)
        .values_list("agent_id", "state")
        .order_by()
    )
    skills: dict[int, set[int]] = {}
    for agent_id, skill_id in AgentSkill.objects.filter(
        agent__company_id__in=company_ids
    ).values_list("agent_id", "skill_id"):
        skills.setdefault(agent_id, set()).add(skill_id)
    required: dict[int, set[int]] = {}
    for queue_id, skill_id in Queue.skills.through.objects.filter(
        queue__company_id__in=company_ids
    ).values_list("queue_id", "skill_id"):
        required.setdefault(queue_id, set()).add(skill_id)
    agents = list(Agent.objects.filter(company_id__in=company_ids).values_list("pk", "company_id"))
    result = {}
    for queue in queues:
        needed = required.get(queue.pk, set())
        counts = dict.fromkeys(STATES, 0)
        for agent_id, company_id in agents:
            if company_id == queue.company_id and needed <= skills.get(agent_id, set()):
                counts[current.get(agent_id, AgentState.OFFLINE)] += 1
        result[queue.pk] = counts
    return result


def _agents_by_state(open_states: dict[str, int], agents: int) -> dict[str, int]:
    """Counts per state; an agent with no open interval has never logged in: offline."""
    counts = {state: open_states.get(state, 0) for state in STATES}
    counts[AgentState.OFFLINE] += max(0, agents - sum(open_states.values()))
    return counts


def _queue_row(queue: Queue, waiting: dict | None, today: dict | None, now: datetime) -> dict:
    since = waiting["since"] if waiting else None
    today = today or {}
    return {
        "id": queue.pk,
        "company_id": queue.company_id,
        "company": queue.company.name,
        "name": queue.name,
        "waiting": waiting["waiting"] if waiting else 0,
        "longest_wait_since": since.isoformat() if since else None,
        "longest_wait_seconds": max(0, int((now - since).total_seconds())) if since else 0,
        "service_level_seconds": queue.service_level_seconds,
        "offered": today.get("offered", 0),
        "answered": today.get("answered", 0),
        "abandoned": today.get("abandoned", 0),
        "service_level": today.get("service_level"),
    }
