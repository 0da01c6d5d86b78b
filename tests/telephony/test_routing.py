import json
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import OperationalError

from contactcenter.tenancy.models import Role, Skill
from crm.models import Customer
from crm.services.customers import customer_create
from telephony.models import (
    Agent,
    AgentSkill,
    AgentState,
    AgentStateInterval,
    BlockedNumber,
    DidRoute,
    Extension,
    PbxConnection,
    Queue,
)
from telephony.pbx import native
from telephony.pbx.events import PayloadError
from telephony.routing import RouteDecision, RouteReason, route_decide
from tests.conftest import make_user

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BANK_DID = "+74951234567"
SHOP_DID = "+390212345678"
CALLER = "8 (916) 123-45-67"  # the `customer` fixture's phone, read in Russia


@pytest.fixture
def connection(company):
    return PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", secret="s3cret"
    )


@pytest.fixture
def cards(company, connection):
    """The queue the bank's DID routes to; it requires the "cards" skill."""
    queue = Queue.objects.create(company=company, name="Cards", code="cards")
    queue.skills.add(Skill.objects.create(company=company, name="cards"))
    DidRoute.objects.create(company=company, connection=connection, did=BANK_DID, queue=queue)
    return queue


def skill(company, name):
    return Skill.objects.get_or_create(company=company, name=name)[0]


def make_agent(company, username, extension, state=None, idle_minutes=0, skills=None, user=None):
    """An agent with an extension, skills ({name: level}) and, unless None, an open state."""
    user = user or make_user(username, company, Role.AGENT)
    agent = Agent.objects.create(company=company, user=user)
    if extension is not None:
        Extension.objects.create(company=company, agent=agent, number=extension)
    for name, level in (skills or {}).items():
        AgentSkill.objects.create(agent=agent, skill=skill(company, name), level=level)
    if state is not None:
        set_state(agent, state, idle_minutes)
    return agent


def set_state(agent, state, minutes_ago=0):
    AgentStateInterval.objects.filter(agent=agent, ended_at__isnull=True).update(ended_at=T0)
    AgentStateInterval.objects.create(
        company=agent.company,
        agent=agent,
        state=state,
        started_at=T0 - timedelta(minutes=minutes_ago),
        ended_at=None,
    )


def own(customer, user):
    Customer.objects.filter(pk=customer.pk).update(owner=user)


def post_route(client, connection, payload, secret=None, stamp=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = native.sign(secret or connection.secret, body, stamp or int(time.time()))
    return client.post(
        f"/telephony/route/{connection.key}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def decision(connection, caller=CALLER, did=BANK_DID) -> RouteDecision:
    return route_decide(connection=connection, caller=caller, did=did)


# --- who is preferred ------------------------------------------------------------------------


def test_the_available_owner_is_preferred_over_a_longer_idle_agent(
    client, company, connection, cards, customer
):
    owner = make_agent(company, "owner", "101", AgentState.AVAILABLE, 1, {"cards": 1})
    make_agent(company, "veteran", "102", AgentState.AVAILABLE, 60, {"cards": 9})
    own(customer, owner.user)
    response = post_route(client, connection, {"caller": CALLER, "did": BANK_DID})
    assert response.status_code == 200
    assert response.json() == {
        "company": "bank",
        "queue": "cards",
        "agent": {"extension": "101", "id": owner.pk},
        "reason": "owner",
        "block": False,
        "block_reason": "",
        "customers": [customer.pk],
    }


def test_a_busy_owner_gives_way_to_the_longest_idle_skilled_agent(
    company, connection, cards, customer
):
    owner = make_agent(company, "owner", "101", AgentState.ON_CALL, 90, {"cards": 5})
    make_agent(company, "fresh", "102", AgentState.AVAILABLE, 5, {"cards": 5})
    veteran = make_agent(company, "veteran", "103", AgentState.AVAILABLE, 30, {"cards": 2})
    own(customer, owner.user)
    assert decision(connection) == RouteDecision(
        company="bank",
        queue="cards",
        agent_id=veteran.pk,
        agent_extension="103",
        reason=RouteReason.LONGEST_IDLE,
        block=False,
        block_reason="",
        customer_ids=(customer.pk,),
    )


def test_an_owner_without_the_queues_skill_is_not_preferred(company, connection, cards, customer):
    owner = make_agent(company, "owner", "101", AgentState.AVAILABLE, 90, {"sales": 9})
    skilled = make_agent(company, "skilled", "102", AgentState.AVAILABLE, 5, {"cards": 1})
    own(customer, owner.user)
    result = decision(connection)
    assert (result.agent_id, result.reason) == (skilled.pk, RouteReason.LONGEST_IDLE)


def test_an_agent_lacking_one_required_skill_is_skipped(company, connection, cards):
    cards.skills.add(skill(company, "english"))
    make_agent(company, "half", "101", AgentState.AVAILABLE, 90, {"cards": 10})
    both = make_agent(company, "both", "102", AgentState.AVAILABLE, 1, {"cards": 1, "english": 1})
    result = decision(connection)
    assert (result.agent_id, result.agent_extension) == (both.pk, "102")


def test_without_a_queue_no_skill_is_required(company, connection, customer):
    anyone = make_agent(company, "anyone", "101", AgentState.AVAILABLE, 3)
    result = decision(connection, did="+74959999999")  # our number, but no route to a queue
    assert (result.queue, result.agent_id, result.reason) == (
        "",
        anyone.pk,
        RouteReason.LONGEST_IDLE,
    )


@pytest.mark.parametrize(
    "state", [AgentState.PAUSED, AgentState.OFFLINE, AgentState.RINGING, AgentState.WRAP_UP]
)
def test_an_agent_not_available_is_skipped(company, connection, cards, state):
    make_agent(company, "away", "101", state, 90, {"cards": 5})
    ready = make_agent(company, "ready", "102", AgentState.AVAILABLE, 1, {"cards": 5})
    assert decision(connection).agent_id == ready.pk


def test_an_agent_with_no_open_state_or_no_extension_is_skipped(company, connection, cards):
    ended = make_agent(company, "ended", "101", AgentState.AVAILABLE, 90, {"cards": 5})
    AgentStateInterval.objects.filter(agent=ended).update(ended_at=T0)
    make_agent(company, "no_phone", None, AgentState.AVAILABLE, 80, {"cards": 5})
    assert decision(connection).reason == RouteReason.NONE_AVAILABLE
    assert decision(connection).agent_id is None


def test_nobody_available_leaves_the_agent_empty(client, company, connection, cards, customer):
    make_agent(company, "busy", "101", AgentState.ON_CALL, 9, {"cards": 5})
    response = post_route(client, connection, {"caller": CALLER, "did": BANK_DID})
    assert response.json() == {
        "company": "bank",
        "queue": "cards",
        "agent": None,
        "reason": "none_available",
        "block": False,
        "block_reason": "",
        "customers": [customer.pk],
    }


def test_a_person_busy_in_another_company_is_not_available_here(
    company, other_company, connection, cards, customer
):
    person = make_user("twofold", company, Role.AGENT)
    here = make_agent(company, None, "101", AgentState.AVAILABLE, 90, {"cards": 5}, user=person)
    make_agent(other_company, None, "7001", AgentState.WRAP_UP, 1, user=person)
    other = make_agent(company, "other", "102", AgentState.AVAILABLE, 1, {"cards": 5})
    own(customer, person)
    assert decision(connection).agent_id == other.pk
    # Paused in the other company does not take the headset: available here again.
    set_state(Agent.objects.get(company=other_company, user=person), AgentState.PAUSED)
    assert (decision(connection).agent_id, decision(connection).reason) == (
        here.pk,
        RouteReason.OWNER,
    )


def test_ties_go_to_the_higher_skill_total_then_the_lower_id(company, connection, cards):
    cards.skills.add(skill(company, "english"))
    first = make_agent(
        company, "first", "101", AgentState.AVAILABLE, 10, {"cards": 2, "english": 2}
    )
    second = make_agent(
        company, "second", "102", AgentState.AVAILABLE, 10, {"cards": 3, "english": 2}
    )
    # Levels in skills the queue does not require do not count.
    make_agent(
        company, "third", "103", AgentState.AVAILABLE, 10, {"cards": 2, "english": 2, "x": 9}
    )
    assert decision(connection).agent_id == second.pk
    AgentSkill.objects.filter(agent=second, skill__name="cards").update(level=2)
    assert decision(connection).agent_id == first.pk


def test_the_first_matched_customer_with_an_available_owner_wins(
    company, connection, cards, customer
):
    twin = customer_create(company=company, first_name="Anna", last_name="Petrova", phones=[CALLER])
    busy = make_agent(company, "busy_owner", "101", AgentState.ON_CALL, 1, {"cards": 5})
    free = make_agent(company, "free_owner", "102", AgentState.AVAILABLE, 1, {"cards": 5})
    make_agent(company, "veteran", "103", AgentState.AVAILABLE, 60, {"cards": 5})
    own(twin, busy.user)  # "Anna Petrova" sorts before "Ivan Petrov"
    own(customer, free.user)
    result = decision(connection)
    assert (result.agent_id, result.reason, result.customer_ids) == (
        free.pk,
        RouteReason.OWNER,
        (twin.pk, customer.pk),
    )


def test_a_withheld_caller_matches_nobody_and_still_gets_an_agent(company, connection, cards):
    ready = make_agent(company, "ready", "101", AgentState.AVAILABLE, 1, {"cards": 5})
    for caller in ("", "anonymous"):
        result = decision(connection, caller=caller)
        assert (result.customer_ids, result.agent_id, result.block) == ((), ready.pk, False)


# --- blocking --------------------------------------------------------------------------------


def test_a_blocked_caller_is_refused_and_rings_nobody(client, company, connection, cards, customer):
    make_agent(company, "ready", "101", AgentState.AVAILABLE, 1, {"cards": 5})
    BlockedNumber.objects.create(company=company, e164="+79161234567", reason="abusive")
    response = post_route(client, connection, {"caller": "+7 916 123 45 67", "did": BANK_DID})
    assert response.json() == {
        "company": "bank",
        "queue": "cards",
        "agent": None,
        "reason": "blocked",
        "block": True,
        "block_reason": "abusive",
        "customers": [customer.pk],
    }


def test_a_number_blocked_by_another_company_is_not_blocked_here(
    company, other_company, connection, cards
):
    BlockedNumber.objects.create(company=other_company, e164="+79161234567", reason="x")
    assert decision(connection).block is False


# --- shared connections ----------------------------------------------------------------------


@pytest.fixture
def shared(company, other_company):
    pbx = PbxConnection.objects.create(name="Shared", company=None, format="native", secret="sh")
    bank_queue = Queue.objects.create(company=company, name="Loans", code="loans")
    shop_queue = Queue.objects.create(company=other_company, name="Ordini", code="ordini")
    DidRoute.objects.create(company=company, connection=pbx, did=BANK_DID, queue=bank_queue)
    DidRoute.objects.create(company=other_company, connection=pbx, did=SHOP_DID, queue=shop_queue)
    return pbx


def test_a_shared_connection_routes_by_did_in_each_companys_country(
    client, company, other_company, shared, customer
):
    bank_agent = make_agent(company, "bank_a", "101", AgentState.AVAILABLE, 5)
    shop_agent = make_agent(other_company, "shop_a", "101", AgentState.AVAILABLE, 50)
    # National formats: "8 495..." is Moscow read in Russia, "02..." is Milan read in Italy.
    response = post_route(client, shared, {"caller": CALLER, "did": "8 (495) 123-45-67"})
    assert response.json() == {
        "company": "bank",
        "queue": "loans",
        "agent": {"extension": "101", "id": bank_agent.pk},
        "reason": "longest_idle",
        "block": False,
        "block_reason": "",
        "customers": [customer.pk],
    }
    response = post_route(client, shared, {"caller": "+79161234567", "did": "02 1234 5678"})
    assert response.json() == {
        "company": "shop",
        "queue": "ordini",
        "agent": {"extension": "101", "id": shop_agent.pk},
        "reason": "longest_idle",
        "block": False,
        "block_reason": "",
        "customers": [],
    }
    assert decision(shared, did=SHOP_DID).company == "shop"


def test_an_unknown_did_on_a_shared_connection_is_refused(client, shared):
    response = post_route(client, shared, {"caller": CALLER, "did": "+74950000000"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "did: +74950000000 is not routed to any client company on this connection"},
    )
    with pytest.raises(PayloadError, match="did: - is not routed"):
        decision(shared, did="")


def test_a_did_routed_on_another_connection_does_not_route_this_one(company, connection, shared):
    # `connection` is the bank's own; its DID route (cards) is not the shared one's.
    DidRoute.objects.create(company=company, connection=connection, did="+74957654321")
    with pytest.raises(PayloadError):
        decision(shared, did="+74957654321")


# --- isolation -------------------------------------------------------------------------------


def test_a_connection_never_names_agents_or_customers_of_a_company_it_does_not_serve(
    client, company, other_company, cards, customer
):
    shop_pbx = PbxConnection.objects.create(
        name="Shop PBX", company=other_company, format="native", secret="shop"
    )
    # The bank has an available agent owning the caller's card, on the extension the shop uses,
    # and a DID route on its own connection for the number the shop's PBX reports.
    bank_owner = make_agent(company, "bank_owner", "101", AgentState.AVAILABLE, 60, {"cards": 5})
    own(customer, bank_owner.user)
    shop_agent = make_agent(other_company, "shop_busy", "101", AgentState.ON_CALL, 1)
    response = post_route(client, shop_pbx, {"caller": "+79161234567", "did": BANK_DID})
    assert response.json() == {
        "company": "shop",
        "queue": "",
        "agent": None,
        "reason": "none_available",
        "block": False,
        "block_reason": "",
        "customers": [],
    }
    set_state(shop_agent, AgentState.AVAILABLE)
    shop_customer = customer_create(
        company=other_company, last_name="Rossi", phones=["+79161234567"]
    )
    response = post_route(client, shop_pbx, {"caller": "+79161234567", "did": BANK_DID})
    assert (response.json()["agent"], response.json()["customers"]) == (
        {"extension": "101", "id": shop_agent.pk},
        [shop_customer.pk],
    )


# --- the endpoint ----------------------------------------------------------------------------


def test_a_bad_signature_is_refused(client, company, connection, cards):
    make_agent(company, "ready", "101", AgentState.AVAILABLE, 1, {"cards": 5})
    response = post_route(client, connection, {"caller": CALLER, "did": BANK_DID}, secret="no")
    assert (response.status_code, response.json()) == (401, {"error": "signature mismatch"})
    stale = int(time.time()) - 400
    response = post_route(client, connection, {"caller": CALLER, "did": BANK_DID}, stamp=stale)
    assert response.status_code == 401
    assert "outside the replay window of 300 s" in response.json()["error"]
    unsigned = client.post(
        f"/telephony/route/{connection.key}/",
        data=json.dumps({"caller": CALLER, "did": BANK_DID}),
        content_type="application/json",
    )
    assert (unsigned.status_code, unsigned.json()) == (
        401,
        {"error": "missing header X-CC-Timestamp"},
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b"{",
            "body: not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        (b"[]", "body: expected a JSON object, got an array"),
        (b'{"did": "+74951234567"}', "caller: missing"),
        (b'{"caller": "+79161234567"}', "did: missing"),
        (
            b'{"caller": 79161234567, "did": "+74951234567"}',
            "caller: expected a string, got a number",
        ),
        (b'{"caller": "1", "did": ["+74951234567"]}', "did: expected a string, got an array"),
        (b'{"caller": "' + b"9" * 65 + b'", "did": ""}', "caller: longer than 64 characters"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(client, connection, body, error):
    response = post_route(client, connection, body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_an_unknown_or_inactive_key_is_not_found(client, connection):
    connection.is_active = False
    connection.save()
    for key in (connection.key, "no-such-key"):
        body = json.dumps({"caller": CALLER, "did": BANK_DID}).encode()
        response = client.post(
            f"/telephony/route/{key}/",
            data=body,
            content_type="application/json",
            headers=native.sign(connection.secret, body, int(time.time())),
        )
        assert (response.status_code, response.json()) == (404, {"error": "unknown connection"})


def test_only_native_connections_may_ask(client, company):
    cti = PbxConnection.objects.create(name="CTI", company=company, format="zammad", secret="z")
    response = post_route(client, cti, {"caller": CALLER, "did": BANK_DID})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "format zammad is not accepted on this endpoint"},
    )


def test_a_database_failure_asks_the_pbx_to_retry(client, connection):
    with mock.patch("telephony.routing_views.route_decide", side_effect=OperationalError("down")):
        response = post_route(client, connection, {"caller": CALLER, "did": BANK_DID})
    assert (response.status_code, response.json(), response["Retry-After"]) == (
        503,
        {"error": "database unavailable, retry later"},
        "5",
    )


def test_only_post_is_allowed(client, connection):
    assert client.get(f"/telephony/route/{connection.key}/").status_code == 405


# --- cost ------------------------------------------------------------------------------------


def crowd(company, count, start):
    for n in range(start, start + count):
        make_agent(company, f"crowd{n}", str(1000 + n), AgentState.AVAILABLE, 1, {"cards": 5})
        make_agent(company, f"busy{n}", str(5000 + n), AgentState.ON_CALL, 200, {"cards": 5})
        customer_create(company=company, last_name=f"Same{n}", phones=[CALLER])


def test_the_number_of_queries_does_not_grow_with_agents_or_customers(
    client, company, connection, cards, customer, django_assert_num_queries
):
    owner = make_agent(company, "owner", "101", AgentState.ON_CALL, 1, {"cards": 5})
    own(customer, owner.user)
    payload = {"caller": CALLER, "did": BANK_DID}
    crowd(company, 2, 0)
    # connection, DID route, blocked number, customers, available owners, longest idle
    with django_assert_num_queries(6):
        small = post_route(client, connection, payload).json()
    crowd(company, 40, 2)
    with django_assert_num_queries(6):
        large = post_route(client, connection, payload).json()
    assert (small["reason"], large["reason"]) == ("longest_idle", "longest_idle")
    assert (len(small["customers"]), len(large["customers"])) == (3, 43)


def test_a_shared_connection_costs_one_query_more_for_a_national_did(
    company, shared, django_assert_num_queries
):
    make_agent(company, "ready", "101", AgentState.AVAILABLE, 1)
    # countries of the routed companies, DID routes, blocked number, customers, longest idle
    with django_assert_num_queries(5):
        assert decision(shared, did="8 495 123-45-67").company == "bank"
    with django_assert_num_queries(4):
        assert decision(shared, did=BANK_DID).company == "bank"
