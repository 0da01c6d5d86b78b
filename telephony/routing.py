"""The routing decision a PBX asks for before it rings anyone: which company, which queue,
which agent first, and whether to refuse the caller.

Every read is an index lookup or an index range scan, and their number does not grow with the
number of agents or customers: the PBX waits on this answer while the caller hears ringing.

- Company: the connection's; on a shared connection, the DID route's (the same rule as the call
  log: the DID read in the routed company's own country must equal the route's number).
- Preferred agent: the owner of the first matched customer (in `customers_by_phone` order) who is
  available here; otherwise the agent idle longest, i.e. the earliest start of an open
  "available" interval. Ties go to the higher total level in the queue's required skills, then
  the lower agent id, so that the answer is deterministic.
- Eligible: an open "available" interval in this company, an extension in this company, every
  skill the queue requires (any level), and the same person not ringing, on a call or in wrap-up
  in any company (one person has one headset).
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from contactcenter.lib.phones import lookup_key
from contactcenter.tenancy.models import Company
from crm.selectors import customers_by_phone
from telephony.models import (
    AgentSkill,
    AgentState,
    AgentStateInterval,
    BlockedNumber,
    DidRoute,
    Extension,
    PbxConnection,
    Queue,
)
from telephony.pbx.events import PayloadError

# The states in which a person's phone is taken, whichever company the call is for.
BUSY_STATES = (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP)


class RouteReason(StrEnum):
    OWNER = "owner"  # the matched customer's owner is available
    LONGEST_IDLE = "longest_idle"  # the eligible agent idle longest
    NONE_AVAILABLE = "none_available"  # nobody eligible: let the PBX queue the call
    BLOCKED = "blocked"  # the caller is blocked: ring nobody


@dataclass(frozen=True)
class RouteDecision:
    company: str  # the company's slug
    queue: str  # the queue's code (as the PBX names it), or "" without a DID route to a queue
    agent_id: int | None
    agent_extension: str | None
    reason: RouteReason
    block: bool
    block_reason: str
    customer_ids: tuple[int, ...]


def did_route_find(*, connection: PbxConnection, did: str) -> DidRoute | None:
    """The route of `did` on this connection, with its company and queue, or None.

    On a connection of one company only that company's routes count. On a shared one the DID is
    read in each routed company's country, and a route counts only when the reading in its own
    company's country gives its number (the rule `services.company_for_event` applies).
    """
    if not did.strip():
        return None
    routes = DidRoute.objects.filter(connection=connection).select_related("company", "queue")
    if connection.company_id is not None:
        key = lookup_key(did, connection.company.default_country)
        return routes.filter(company_id=connection.company_id, did=key).first() if key else None
    if did.lstrip().startswith(("+", "00")):
        # An international number reads the same in every country: no need to ask which.
        regions = {"ZZ"}
    else:
        regions = set(
            Company.objects.filter(
                id__in=DidRoute.objects.filter(connection=connection).values("company_id")
            ).values_list("default_country", flat=True)
        )
    keys = {key for key in (lookup_key(did, region) for region in regions) if key}
    if not keys:
        return None
    matches = [
        route
        for route in routes.filter(did__in=keys).order_by("id")
        if lookup_key(did, route.company.default_country) == route.did
    ]
    return matches[0] if matches else None


def _eligible(company: Company, queue: Queue | None) -> QuerySet[AgentStateInterval]:
    """Open "available" intervals of agents this company may ring now, with their extension."""
    extension = (
        Extension.objects.filter(company=company, agent_id=OuterRef("agent_id"))
        .order_by("id")
        .values("number")[:1]
    )
    busy_elsewhere = AgentStateInterval.objects.filter(
        agent__user_id=OuterRef("agent__user_id"), ended_at__isnull=True, state__in=BUSY_STATES
    )
    intervals = (
        AgentStateInterval.objects.filter(
            company=company,
            state=AgentState.AVAILABLE,
            ended_at__isnull=True,
            agent__company=company,
        )
        .annotate(extension=Subquery(extension))
        .filter(extension__isnull=False)
        .filter(~Exists(busy_elsewhere))
    )
    if queue is None:
        return intervals.annotate(skill_total=Value(0, output_field=IntegerField()))
    # Counting the required skills an agent holds, rather than "no required skill is missing":
    # PostgreSQL answered the doubly nested NOT EXISTS with a hash of every agent skill row,
    # while these correlated counts stay index lookups on (agent, skill) for each candidate.
    required = Queue.skills.through.objects.filter(queue_id=queue.pk)
    required_count = required.values("queue_id").annotate(n=Count("*")).values("n")
    held = AgentSkill.objects.filter(
        agent_id=OuterRef("agent_id"), skill_id__in=required.values("skill_id")
    ).values("agent_id")
    return intervals.annotate(
        skill_count=Coalesce(Subquery(held.annotate(n=Count("*")).values("n")), 0),
        skill_total=Coalesce(Subquery(held.annotate(total=Sum("level")).values("total")), 0),
    ).filter(skill_count=Coalesce(Subquery(required_count), 0))


def _owner_pick(company, queue, customers) -> tuple[int, str] | None:
    owners = list(dict.fromkeys(c.owner_id for c in customers if c.owner_id is not None))
    if not owners:
        return None
    available = {
        row["agent__user_id"]: (row["agent_id"], row["extension"])
        for row in _eligible(company, queue)
        .filter(agent__user_id__in=owners)
        .values("agent__user_id", "agent_id", "extension")
    }
    return next((available[user] for user in owners if user in available), None)


def _longest_idle_pick(company, queue) -> tuple[int, str] | None:
    row = (
        _eligible(company, queue)
        .order_by("started_at", "-skill_total", "agent_id")
        .values("agent_id", "extension")
        .first()
    )
    return (row["agent_id"], row["extension"]) if row else None


def route_decide(*, connection: PbxConnection, caller: str, did: str) -> RouteDecision:
    """Where the PBX should send a call from `caller` to our number `did`.

    Raises PayloadError when a shared connection has no route for `did`.
    """
    route = did_route_find(connection=connection, did=did)
    if connection.company_id is not None:
        company = connection.company
    elif route is not None:
        company = route.company
    else:
        # The same message as the call log's, so that one translation serves both.
        raise PayloadError(
            _("did: %(did)s is not routed to any client company on this connection")
            % {"did": did or "-"}
        )
    queue = route.queue if route is not None and route.queue is not None else None
    if queue is not None and queue.company_id != company.pk:
        queue = None

    e164 = lookup_key(caller, company.default_country) if caller.strip() else None
    blocked = (
        BlockedNumber.objects.for_tenant(company).filter(e164=e164).only("reason").first()
        if e164
        else None
    )
    customers = customers_by_phone(company, e164) if e164 else []
    decision = {
        "company": company.slug,
        "queue": queue.code if queue is not None else "",
        "block": blocked is not None,
        "block_reason": blocked.reason if blocked is not None else "",
        "customer_ids": tuple(c.pk for c in customers),
    }
    if blocked is not None:
        return RouteDecision(
            **decision, agent_id=None, agent_extension=None, reason=RouteReason.BLOCKED
        )
    for reason, pick in (
        (RouteReason.OWNER, lambda: _owner_pick(company, queue, customers)),
        (RouteReason.LONGEST_IDLE, lambda: _longest_idle_pick(company, queue)),
    ):
        found = pick()
        if found is not None:
            return RouteDecision(
                **decision, agent_id=found[0], agent_extension=found[1], reason=reason
            )
    return RouteDecision(
        **decision, agent_id=None, agent_extension=None, reason=RouteReason.NONE_AVAILABLE
    )
