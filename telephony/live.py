"""Reads for the agent's workspace and the supervisors' live view: current states, active calls."""

from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from contactcenter.tenancy.scoping import company_ids_for
from telephony import realtime
from telephony.models import Agent, AgentStateInterval, Call


def _with_current_state(agents: QuerySet[Agent]) -> list[Agent]:
    """Each agent with `.current`: the open state interval, or None (never logged in: offline)."""
    open_states = AgentStateInterval.objects.filter(ended_at__isnull=True).select_related(
        "pause_reason"
    )
    agents = agents.prefetch_related(Prefetch("states", open_states, to_attr="_open"))
    result = list(agents)
    for agent in result:
        agent.current = agent._open[0] if agent._open else None
    return result


def agent_list_for_user(user) -> list[Agent]:
    """The user's own agent rows, in the companies they work for, with their current states."""
    return _with_current_state(
        Agent.objects.filter(user=user, company_id__in=company_ids_for(user))
        .select_related("company")
        .order_by("company__name")
    )


# A call whose hang-up never reached us (a PBX restart, a queue_log cut short) is not shown as
# live for ever: after this long it is a stale record, not a call.
STALE_AFTER = timedelta(hours=12)


def active_calls(now: datetime | None = None) -> QuerySet[Call]:
    """Calls not yet ended at `now`: waiting, ringing or talking (an answered call keeps the
    outcome "answered" while the parties talk; only the hang-up sets ended_at)."""
    return Call.objects.filter(
        ended_at__isnull=True, offered_at__gte=(now or timezone.now()) - STALE_AFTER
    ).order_by("offered_at")


def active_calls_of_agents(agent_ids: list[int]) -> QuerySet[Call]:
    return (
        active_calls()
        .filter(agent_id__in=agent_ids)
        .select_related("company", "queue")
        .prefetch_related("customers")
        .order_by("offered_at")
    )


def live_snapshot(company_ids: list[int]) -> dict:
    """Every agent of these companies with their state, and every call now in progress."""
    agents = _with_current_state(
        Agent.objects.filter(company_id__in=company_ids)
        .select_related("user", "company")
        .prefetch_related("extensions")
        .order_by("company__name", "user__first_name", "user__last_name", "pk")
    )
    calls = active_calls().filter(company_id__in=company_ids).select_related("company", "queue")
    return {
        "agents": [
            {
                "id": agent.pk,
                "name": str(agent),
                "company": agent.company.name,
                "extensions": [e.number for e in agent.extensions.all()],
                "state": (realtime.state_payload(agent, agent.current) if agent.current else None),
            }
            for agent in agents
        ],
        "calls": [realtime.live_call_payload(call) for call in calls],
    }
