"""The agent's workspace: the page, the call card fragment and the state switcher."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from contactcenter.tenancy.models import Membership, Role
from crm.models import Ticket
from crm.services.customers import customer_create, customer_note_add
from crm.services.tickets import ticket_create, ticket_transition
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    Disposition,
    Extension,
    PauseReason,
    PbxConnection,
    Queue,
)
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause
from telephony.presence import agent_state_set
from telephony.services import call_event_apply
from tests.conftest import make_user

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
K = CallEventKind
S = AgentState


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


@pytest.fixture
def connection(company):
    return PbxConnection.objects.create(name="Bank PBX", company=company, format="native")


@pytest.fixture
def anna(company, agent):
    Queue.objects.create(company=company, name="Cards", code="cards")
    PauseReason.objects.create(company=company, code="lunch", label="Lunch")
    PauseReason.objects.create(company=company, code="break", label="Break")
    row = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=row, number="101")
    return row


@pytest.fixture
def boris(company):
    user = make_user("boris", company, Role.AGENT)
    row = Agent.objects.create(company=company, user=user)
    Extension.objects.create(company=company, agent=row, number="102")
    return user


def play(connection, call_id, start, caller="8 (916) 123-45-67", ext="101", end=True, talk=60):
    events = [
        (K.QUEUED, 0, {"queue": "cards", "caller": caller}),
        (K.RINGING, 3, {"agent": ext}),
        (K.ANSWERED, 10, {"agent": ext}),
    ]
    if end:
        events.append((K.HANGUP, 10 + talk, {"cause": HangupCause.NORMAL}))
    for n, (kind, second, fields) in enumerate(events):
        call_event_apply(
            connection=connection,
            event=CallEvent(
                kind=kind,
                call_id=call_id,
                event_id=f"{call_id}-{n}",
                occurred_at=at(start + second),
                **fields,
            ),
        )
    return Call.objects.get(pbx_call_id=call_id)


# --- the page -----------------------------------------------------------------------------------


def test_the_page_shows_the_agents_state_and_their_own_calls(
    client, connection, anna, boris, agent, customer
):
    Disposition.objects.create(company=anna.company, code="resolved", label="Resolved")
    first = play(connection, "c1", 0, talk=65)
    second = play(connection, "c2", 300, caller="+7 916 555-00-00", talk=5)
    play(connection, "c3", 600, ext="102")  # Boris's call is not Anna's
    agent_state_set(user=agent, state=S.PAUSED, pause_reason_code="lunch", now=at(1000))
    client.force_login(agent)
    response = client.get("/telephony/workspace/")
    assert response.status_code == 200
    html = response.content.decode()
    assert [
        (r["pk"], r["caller"], r["customers"], r["outcome"], r["talk"])
        for r in response.context["calls"]
    ] == [
        (second.pk, "+7 916 555-00-00", [], "answered", "0:00:05"),
        (first.pk, "+7 916 123-45-67", ["Ivan Petrov"], "answered", "0:01:05"),
    ]
    # The state, since 12:16:40 in Moscow (the agent's company's zone).
    state = re.search(r'<div id="agent-state"[^>]*>', html).group(0)
    assert 'data-state="paused"' in state
    assert 'data-since="2026-11-23T12:16:40+03:00"' in state
    assert '<span class="pause-reason" data-role="reason">Lunch</span>' in html
    assert '<time data-role="since" datetime="2026-11-23T12:16:40+03:00">12:16:40</time>' in html
    assert (
        '<option value="break">Break</option><option value="lunch" selected>Lunch</option>' in html
    )
    # The card of the last call, with its wrap-up form.
    assert f'<article class="call-card status-ended" id="call-{second.pk}"' in html
    assert f'action="/telephony/calls/{second.pk}/wrap-up/"' in html
    assert '<a href="/telephony/calls/?mine=on" id="all-my-calls">All my calls</a>' in html
    assert '<script src="/static/js/workspace.js" defer></script>' in html
    strings = response.context["strings"]
    assert strings["states"]["paused"] == "Paused"
    assert strings["reconnecting"] == "Connection lost: reconnecting in %(seconds)s s…"
    assert '<div id="ws-status"' in html and '<div id="call-card"' in html


def test_the_page_shows_the_call_the_agent_is_on(client, connection, anna, agent, customer):
    play(connection, "old", 0)
    current = play(connection, "now", 500, end=False)
    client.force_login(agent)
    html = client.get("/telephony/workspace/").content.decode()
    assert f'<article class="call-card status-on_call" id="call-{current.pk}"' in html
    assert 'data-state="on_call"' in html
    # During the call the form says that finishing waits for its end.
    assert '<p class="help" data-role="during-call">' in html


def test_an_agent_with_no_calls_sees_an_empty_card_area(client, anna, agent):
    client.force_login(agent)
    html = client.get("/telephony/workspace/").content.decode()
    assert "No call yet: the caller's card shows here as soon as your phone rings." in html
    assert "You have taken no calls yet." in html
    assert 'data-state="offline"' in html


def test_a_member_without_an_agent_row_gets_403_with_a_reason(client, supervisor):
    client.force_login(supervisor)
    response = client.get("/telephony/workspace/")
    assert response.status_code == 403
    assert "You are not set up as an agent of any client company." in response.content.decode()


def test_a_user_of_no_company_gets_404(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("loner", password="x"))
    assert client.get("/telephony/workspace/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/telephony/workspace/")
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/telephony/workspace/",
    )


def test_the_page_costs_the_same_queries_for_2_or_20_calls(client, connection, anna, agent):
    for n in range(2):
        play(connection, f"a{n}", n * 100)
    client.force_login(agent)
    client.get("/telephony/workspace/")  # warm the per-process caches (content types, sessions)
    with CaptureQueriesContext(db_connection) as few:
        assert client.get("/telephony/workspace/").status_code == 200
    for n in range(2, 25):
        play(connection, f"a{n}", n * 100, caller=f"+7 916 000-00-{n:02d}")
    with CaptureQueriesContext(db_connection) as many:
        response = client.get("/telephony/workspace/")
    assert len(response.context["calls"]) == 20
    assert len(many) == len(few)


# --- the card -----------------------------------------------------------------------------------


def card(client, call):
    return client.get(f"/telephony/calls/{call.pk}/card/")


def test_the_card_shows_the_customer_with_open_tickets_recent_calls_and_notes(
    client, connection, anna, agent, company, customer, ticket
):
    done = ticket_create(company=company, customer=customer, subject="Old question")
    ticket_transition(ticket=done, to_status="closed")
    for n in range(7):
        customer_note_add(customer=customer, author=agent, body=f"Note {n}")
    earlier = [play(connection, f"e{n}", n * 100) for n in range(6)]
    call = play(connection, "now", 1000, end=False)
    client.force_login(agent)
    response = card(client, call)
    assert response.status_code == 200
    [section] = response.context["sections"]
    assert section["customer"] == customer
    assert section["tickets"] == [ticket]
    assert [row["call"].pk for row in section["calls"]] == [c.pk for c in earlier[::-1][:5]]
    assert [note["body"] for note in section["notes"]] == [f"Note {n}" for n in (6, 5, 4, 3, 2)]
    html = response.content.decode()
    assert not html.lstrip().startswith("<!DOCTYPE")  # a fragment, not a page
    assert f'<article class="call-card status-on_call" id="call-{call.pk}"' in html
    assert '<strong class="caller" data-role="caller">+7 916 123-45-67</strong>' in html
    assert '<code class="e164" data-role="e164">+79161234567</code>' in html
    assert (
        f'<a href="/tickets/{ticket.pk}/" target="_blank" rel="noopener">BANK-1</a> Card blocked'
        in html
    )
    assert "Old question" not in html
    assert "No script for the queue Cards yet." in html
    assert "No debt accounts." in html
    assert "Unknown caller" not in html


def test_customers_sharing_the_number_are_all_shown_to_choose_from(
    client, connection, anna, agent, company, customer
):
    olga = customer_create(company=company, first_name="Olga", phones=["+7 916 123 45 67"])
    call = play(connection, "c1", 0)
    client.force_login(agent)
    response = card(client, call)
    assert [s["customer"] for s in response.context["sections"]] == [customer, olga]
    html = response.content.decode()
    assert "2 customers have this number: ask who is calling." in html
    # The ticket is for the one the agent picks.
    assert html.count('name="customer"') == 2


def test_an_unknown_caller_has_a_create_customer_link_with_the_number(
    client, connection, anna, agent
):
    call = play(connection, "c1", 0, caller="8 916 555-00-00")
    client.force_login(agent)
    html = card(client, call).content.decode()
    assert "Unknown caller: no customer has this number." in html
    link = "/customers/new/?company=bank&amp;phone=%2B79165550000"
    assert f'<a class="button" href="{link}" target="_blank"' in html
    form = client.get(link.replace("&amp;", "&")).content.decode()
    assert 'name="phones-0-raw" value="+79165550000"' in form
    # Created meanwhile: the card shows them at once, though the call matched no one when it rang.
    customer_create(company=call.company, first_name="Pavel", phones=["+79165550000"])
    assert "Pavel" in card(client, call).content.decode()


def test_a_colleague_agent_gets_403_on_someone_elses_card(client, connection, anna, boris):
    call = play(connection, "c1", 0)
    client.force_login(boris)
    assert card(client, call).status_code == 403


@pytest.mark.parametrize(
    "role, status", [(Role.SUPERVISOR, 200), (Role.ADMIN, 200), (Role.CLIENT_MANAGER, 403)]
)
def test_the_card_by_role(client, connection, anna, company, role, status):
    call = play(connection, "c1", 0)
    client.force_login(make_user("member", company, role))
    assert card(client, call).status_code == status


def test_an_outsider_gets_404_on_the_card_like_a_missing_call(client, connection, anna, outsider):
    call = play(connection, "c1", 0)
    client.force_login(outsider)
    foreign = card(client, call)
    missing = client.get("/telephony/calls/999999/card/")
    assert (foreign.status_code, foreign.content) == (404, missing.content)


# --- the state switcher -------------------------------------------------------------------------


def current(row):
    interval = AgentStateInterval.objects.get(agent=row, ended_at__isnull=True)
    return interval.state, interval.pause_reason.code if interval.pause_reason_id else None


def post_state(client, data, json=True):
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post("/telephony/workspace/state/", data, **headers)


def test_the_agent_switches_between_available_paused_and_offline(client, anna, agent):
    client.force_login(agent)
    response = post_state(client, {"state": "available"})
    assert response.status_code == 200
    [payload] = response.json()["states"]
    assert (payload["agent_id"], payload["state"], payload["pause_reason"]) == (
        anna.pk,
        "available",
        "",
    )
    assert current(anna) == ("available", None)
    assert post_state(client, {"state": "paused", "pause_reason": "lunch"}).status_code == 200
    assert current(anna) == ("paused", "lunch")
    # Without the script: the same, and back to the page.
    response = post_state(client, {"state": "offline"}, json=False)
    assert (response.status_code, response["Location"]) == (302, "/telephony/workspace/")
    assert current(anna) == ("offline", None)
    assert AgentStateInterval.objects.filter(agent=anna).count() == 3


@pytest.mark.parametrize(
    "data, message",
    [
        ({"state": "paused"}, "Choose a pause reason."),
        ({"state": "paused", "pause_reason": "nap"}, "Unknown pause reason."),
        ({"state": "on_call"}, "Choose available, paused or offline."),
        ({}, "Choose available, paused or offline."),
    ],
)
def test_a_refused_choice_answers_400_with_the_reason(client, anna, agent, data, message):
    agent_state_set(user=agent, state=S.AVAILABLE, now=at(0))
    client.force_login(agent)
    response = post_state(client, data)
    assert (response.status_code, response.json()) == (400, {"error": message})
    assert current(anna) == ("available", None)


def test_during_a_call_the_state_follows_the_call(client, connection, anna, agent):
    play(connection, "c1", 0, end=False)
    client.force_login(agent)
    response = post_state(client, {"state": "available"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "You are on a call: your state follows the call until it ends."},
    )
    assert current(anna) == ("on_call", None)
    # Without the script the reason shows on the page it returns to.
    response = post_state(client, {"state": "available"}, json=False)
    page = client.get(response["Location"]).content.decode()
    assert "You are on a call: your state follows the call until it ends." in page


def test_an_outsider_changes_no_agent_of_the_company(client, anna, agent, outsider):
    agent_state_set(user=agent, state=S.AVAILABLE, now=at(0))
    before = list(AgentStateInterval.objects.values())
    client.force_login(outsider)
    response = post_state(client, {"state": "offline"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "You are not set up as an agent of any client company."},
    )
    assert list(AgentStateInterval.objects.values()) == before


def test_an_agent_of_two_companies_sees_both_and_the_latest_state(
    client, connection, anna, agent, other_company
):
    Membership.objects.create(user=agent, company=other_company, role=Role.AGENT)
    shop = Agent.objects.create(company=other_company, user=agent)
    agent_state_set(user=agent, state=S.AVAILABLE, now=at(0))
    play(connection, "c1", 100, end=False)
    client.force_login(agent)
    response = client.get("/telephony/workspace/")
    html = response.content.decode()
    assert response.context["state"].agent_id == anna.pk
    assert 'data-state="on_call"' in html
    assert (
        f'<li data-agent-id="{shop.pk}">Shop: <span data-role="label">Available</span></li>' in html
    )
    assert (
        f'<li data-agent-id="{anna.pk}">Bank: <span data-role="label">On call</span></li>' in html
    )
    assert Ticket.objects.count() == 0


def test_the_card_costs_the_same_queries_for_1_or_4_earlier_calls_of_a_colleague(
    client, connection, anna, boris, agent, customer
):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    def queries_and_links(earlier: int) -> tuple[int, list[str]]:
        for n in range(earlier):
            play(connection, f"b{earlier}-{n}", n * 100, ext="102")
        call = play(connection, f"now{earlier}", 5000 + earlier, end=False)
        with CaptureQueriesContext(db) as captured:
            response = card(client, call)
        [section] = response.context["sections"]
        return len(captured.captured_queries), [c["url"] for c in section["calls"]]

    client.force_login(agent)
    few, few_links = queries_and_links(1)
    many, many_links = queries_and_links(4)
    assert few == many
    # Boris's calls are listed, but Anna, an agent, may not open them; her own earlier card is.
    assert few_links == [""]
    assert many_links[1:] == [""] * 4
    assert many_links[0] == f"/telephony/calls/{Call.objects.get(pbx_call_id='now1').pk}/"
