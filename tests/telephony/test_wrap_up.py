"""The wrap-up of a call: disposition, notes and the ticket it leads to, one transaction; finishing
it ends the agent's wrap-up at an exact time. Refusals name the field and change nothing."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from contactcenter.tenancy.models import Role
from crm.models import Ticket, TicketComment
from crm.services.customers import customer_create
from crm.services.tickets import ticket_create
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    Disposition,
    Extension,
    PbxConnection,
    Queue,
)
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause
from telephony.services import call_event_apply
from telephony.wrapup import TicketAction, call_wrap_up
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
    Queue.objects.create(company=company, name="Cards", code="cards", max_wrap_up_seconds=30)
    row = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=row, number="101")
    return row


@pytest.fixture
def dispositions(company, other_company):
    return {
        "resolved": Disposition.objects.create(
            company=company, code="resolved", label="Resolved", resolves_contact=True
        ),
        "old": Disposition.objects.create(
            company=company, code="old", label="Old code", is_active=False
        ),
        "foreign": Disposition.objects.create(
            company=other_company, code="resolved", label="Risolto"
        ),
    }


def play(connection, call_id="c1", caller="8 (916) 123-45-67", hang_up=True):
    events = [
        (K.QUEUED, 0, {"queue": "cards", "caller": caller}),
        (K.RINGING, 3, {"agent": "101"}),
        (K.ANSWERED, 10, {"agent": "101"}),
    ]
    if hang_up:
        events.append((K.HANGUP, 70, {"cause": HangupCause.NORMAL}))
    for n, (kind, second, fields) in enumerate(events):
        call_event_apply(
            connection=connection,
            event=CallEvent(
                kind=kind,
                call_id=call_id,
                event_id=f"{call_id}-{n}",
                occurred_at=at(second),
                **fields,
            ),
        )
    return Call.objects.select_related("company").get(pbx_call_id=call_id)


def timeline(agent_row):
    return [
        (i.state, (i.started_at - T0).total_seconds(), i.ended_at and (i.ended_at - T0).seconds)
        for i in AgentStateInterval.objects.filter(agent=agent_row).order_by("started_at", "id")
    ]


def frozen(call):
    """What a refused wrap-up must leave as it was."""
    call.refresh_from_db()
    return (
        call.disposition_id,
        call.notes,
        call.ticket_id,
        call.wrap_up_seconds,
        sorted(call.customers.values_list("pk", flat=True)),
        Ticket.objects.count(),
        TicketComment.objects.count(),
        AgentStateInterval.objects.count(),
    )


# --- the service --------------------------------------------------------------------------------


def test_wrap_up_creates_a_ticket_linked_to_the_call_and_ends_the_wrap_up(
    connection, anna, agent, customer, dispositions
):
    call = play(connection)
    result = call_wrap_up(
        call=call,
        user=agent,
        disposition=dispositions["resolved"],
        notes="  Card unblocked after the security check.  ",
        ticket_action=TicketAction.CREATE,
        subject="Card unblock",
        finish=True,
        now=at(95),
    )
    ticket = Ticket.objects.get()
    assert result.ticket == ticket and result.comment is None and result.finished is True
    assert (
        ticket.reference,
        ticket.company_id,
        ticket.customer_id,
        ticket.subject,
        ticket.description,
        ticket.channel,
        ticket.created_by_id,
        ticket.status,
        ticket.created_at,
    ) == (
        "BANK-1",
        call.company_id,
        customer.pk,
        "Card unblock",
        "Card unblocked after the security check.",
        "phone",
        agent.pk,
        "new",
        at(95),
    )
    call.refresh_from_db()
    assert (call.ticket_id, call.disposition_id, call.notes) == (
        ticket.pk,
        dispositions["resolved"].pk,
        "Card unblocked after the security check.",
    )
    assert (call.wrap_up_ended_at, call.wrap_up_seconds) == (at(95), 25)
    assert timeline(anna) == [
        (S.RINGING, 3, 10),
        (S.ON_CALL, 10, 70),
        (S.WRAP_UP, 70, 95),
        (S.AVAILABLE, 95, None),
    ]


def test_wrap_up_adds_an_internal_comment_to_an_open_ticket_of_the_customer(
    connection, anna, agent, customer, ticket
):
    call = play(connection)
    result = call_wrap_up(
        call=call,
        user=agent,
        notes="Customer called again about it.",
        ticket_action=TicketAction.UPDATE,
        ticket=ticket,
        now=at(80),
    )
    comment = TicketComment.objects.get()
    assert result.comment == comment and result.ticket == ticket and result.finished is False
    assert (comment.ticket_id, comment.author_id, comment.body, comment.is_internal) == (
        ticket.pk,
        agent.pk,
        "Customer called again about it.",
        True,
    )
    assert comment.created_at == at(80)
    call.refresh_from_db()
    assert (call.ticket_id, Ticket.objects.count()) == (ticket.pk, 1)
    # Saved without finishing: the wrap-up goes on.
    assert timeline(anna)[-1] == (S.WRAP_UP, 70, None)
    assert call.wrap_up_seconds is None


def test_saving_during_the_call_is_allowed_and_finish_waits_for_the_end(
    connection, anna, agent, customer, dispositions
):
    call = play(connection, hang_up=False)
    result = call_wrap_up(
        call=call,
        user=agent,
        notes="Asks about the limit",
        ticket_action=TicketAction.NONE,
        finish=True,
        now=at(40),
    )
    assert result.finished is False
    call.refresh_from_db()
    assert (call.notes, call.disposition_id, call.wrap_up_seconds) == (
        "Asks about the limit",
        None,  # during the call a disposition is not required yet
        None,
    )
    assert timeline(anna)[-1] == (S.ON_CALL, 10, None)


def test_finishing_an_ended_call_needs_a_disposition_when_the_company_has_some(
    connection, anna, agent, customer, dispositions
):
    call = play(connection)
    before = frozen(call)
    with pytest.raises(ValidationError) as error:
        call_wrap_up(call=call, user=agent, notes="x", finish=True, now=at(90))
    assert error.value.message_dict == {
        "disposition": ["Choose a disposition to finish the wrap-up."]
    }
    assert frozen(call) == before


@pytest.mark.parametrize("which", ["old", "foreign"])
def test_an_inactive_or_foreign_disposition_is_refused(
    connection, anna, agent, customer, dispositions, which
):
    call = play(connection)
    before = frozen(call)
    with pytest.raises(ValidationError) as error:
        call_wrap_up(call=call, user=agent, disposition=dispositions[which], now=at(90))
    assert error.value.message_dict == {
        "disposition": ["Choose one of the client company's active dispositions."]
    }
    assert frozen(call) == before


def test_a_ticket_of_another_customer_is_refused_and_nothing_changes(
    connection, anna, agent, company, customer
):
    maria = customer_create(company=company, first_name="Maria", phones=["8 916 000 11 22"])
    hers = ticket_create(company=company, customer=maria, subject="Her card")
    call = play(connection)
    before = frozen(call)
    with pytest.raises(ValidationError) as error:
        call_wrap_up(
            call=call,
            user=agent,
            notes="Notes",
            ticket_action=TicketAction.UPDATE,
            ticket=hers,
            now=at(90),
        )
    assert error.value.message_dict == {
        "ticket": ["Choose an open ticket of the caller's customer."]
    }
    assert frozen(call) == before


def test_a_ticket_of_another_company_is_refused_and_nothing_changes(
    connection, anna, agent, customer, other_company
):
    giulia = customer_create(company=other_company, first_name="Giulia", phones=["06 1234 5678"])
    foreign = ticket_create(company=other_company, customer=giulia, subject="Ordine")
    call = play(connection)
    before = frozen(call)
    with pytest.raises(ValidationError) as error:
        call_wrap_up(
            call=call,
            user=agent,
            notes="Notes",
            ticket_action=TicketAction.UPDATE,
            ticket=foreign,
            now=at(90),
        )
    assert error.value.message_dict == {
        "ticket": ["Choose an open ticket of the caller's customer."]
    }
    assert frozen(call) == before


def test_adding_to_a_ticket_needs_notes_and_an_open_ticket(
    connection, anna, agent, customer, ticket
):
    call = play(connection)
    ticket.status = "closed"
    ticket.save()
    before = frozen(call)
    with pytest.raises(ValidationError) as error:
        call_wrap_up(call=call, user=agent, ticket_action=TicketAction.UPDATE, ticket=ticket)
    assert error.value.message_dict == {
        "notes": ["Write the notes to add to the ticket."],
        "ticket": ["Choose an open ticket of the caller's customer."],
    }
    assert frozen(call) == before


def test_a_customer_not_matched_to_the_call_is_refused(
    connection, anna, agent, company, customer, other_company
):
    maria = customer_create(company=company, first_name="Maria", phones=["8 916 000 11 22"])
    giulia = customer_create(company=other_company, first_name="Giulia", phones=["06 1234 5678"])
    call = play(connection)
    before = frozen(call)
    for stranger in (maria, giulia):
        with pytest.raises(ValidationError) as error:
            call_wrap_up(
                call=call,
                user=agent,
                ticket_action=TicketAction.CREATE,
                subject="S",
                customer=stranger,
            )
        assert error.value.message_dict == {
            "customer": ["Choose one of the customers matched to this call."]
        }
    assert frozen(call) == before


def test_with_several_matched_customers_the_agent_chooses_one(
    connection, anna, agent, company, customer
):
    wife = customer_create(company=company, first_name="Olga", phones=["+7 916 123-45-67"])
    call = play(connection)
    assert sorted(call.customers.values_list("pk", flat=True)) == [customer.pk, wife.pk]
    before = frozen(call)
    with pytest.raises(ValidationError) as error:
        call_wrap_up(call=call, user=agent, ticket_action=TicketAction.CREATE, subject="Card")
    assert error.value.message_dict == {
        "customer": ["Choose which of the matched customers the ticket is for."]
    }
    assert frozen(call) == before
    result = call_wrap_up(
        call=call, user=agent, ticket_action=TicketAction.CREATE, subject="Card", customer=wife
    )
    assert (result.ticket.customer_id, result.call.ticket_id) == (wife.pk, result.ticket.pk)


def test_an_unknown_caller_gets_a_ticket_once_created_as_a_customer(
    connection, anna, agent, company
):
    call = play(connection, caller="+7 916 555-00-00")
    assert list(call.customers.all()) == []
    before = frozen(call)
    with pytest.raises(ValidationError) as error:
        call_wrap_up(call=call, user=agent, ticket_action=TicketAction.CREATE, subject="New")
    assert error.value.message_dict == {
        "customer": ["The caller is not a customer yet: create the customer first."]
    }
    assert frozen(call) == before
    newcomer = customer_create(company=company, first_name="Pavel", phones=["8 916 555 00 00"])
    result = call_wrap_up(
        call=call, user=agent, ticket_action=TicketAction.CREATE, subject="New", now=at(75)
    )
    assert result.ticket.customer_id == newcomer.pk
    # The call was with them: it is now matched to them too.
    assert list(result.call.customers.values_list("pk", flat=True)) == [newcomer.pk]


# --- the endpoint -------------------------------------------------------------------------------


def url(call):
    return f"/telephony/calls/{call.pk}/wrap-up/"


def test_the_form_creates_the_ticket_and_finishes_then_returns_to_the_workspace(
    client, connection, anna, agent, customer, dispositions
):
    call = play(connection)
    client.force_login(agent)
    response = client.post(
        url(call),
        {
            "disposition": dispositions["resolved"].pk,
            "notes": "Unblocked",
            "ticket_action": "create",
            "customer": customer.pk,
            "subject": "Card unblock",
            "finish": "Save and finish wrap-up",
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/telephony/workspace/")
    ticket = Ticket.objects.get()
    call.refresh_from_db()
    assert (call.ticket_id, ticket.subject, ticket.description, ticket.created_by_id) == (
        ticket.pk,
        "Card unblock",
        "Unblocked",
        agent.pk,
    )
    assert call.wrap_up_ended_at is not None
    assert AgentStateInterval.objects.get(agent=anna, ended_at__isnull=True).state == S.AVAILABLE
    page = client.get("/telephony/workspace/").content.decode()
    assert "Ticket BANK-1 created. Wrap-up saved and finished." in page


def test_the_script_gets_json_with_the_fresh_card(
    client, connection, anna, agent, customer, ticket
):
    call = play(connection)
    client.force_login(agent)
    response = client.post(
        url(call),
        {"notes": "Called again", "ticket_action": "update", "ticket": ticket.pk, "save": "Save"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["message"], body["finished"], body["ticket"]) == (
        "Notes added to ticket BANK-1. Wrap-up saved.",
        False,
        "BANK-1",
    )
    assert f'data-call-id="{call.pk}"' in body["card"]
    assert f'Linked ticket: <a href="/tickets/{ticket.pk}/"' in body["card"]
    assert TicketComment.objects.get().body == "Called again"


def test_finish_during_the_call_says_it_waits_for_the_end(client, connection, anna, agent):
    call = play(connection, hang_up=False)
    client.force_login(agent)
    response = client.post(
        url(call),
        {"notes": "x", "ticket_action": "none", "finish": "1"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json()["message"] == (
        "Wrap-up saved. The call is still going on: finish the wrap-up once it has ended."
    )
    assert response.json()["finished"] is False


def test_errors_come_back_per_field_with_the_card_as_typed(
    client, connection, anna, agent, customer
):
    call = play(connection)
    client.force_login(agent)
    before = frozen(call)
    response = client.post(
        url(call),
        {"notes": "Typed notes", "ticket_action": "create", "subject": " "},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"subject": [{"message": "A subject is required.", "code": ""}]}
    assert "Typed notes</textarea>" in body["card"]
    assert frozen(call) == before
    # Without the script: the same form on a page of its own.
    page = client.post(url(call), {"notes": "Typed notes", "ticket_action": "create"})
    assert page.status_code == 400
    assert "A subject is required." in page.content.decode()
    assert frozen(call) == before


def test_a_foreign_ticket_id_is_not_a_choice(
    client, connection, anna, agent, customer, other_company
):
    giulia = customer_create(company=other_company, first_name="Giulia", phones=["06 1234 5678"])
    foreign = ticket_create(company=other_company, customer=giulia, subject="Ordine")
    call = play(connection)
    client.force_login(agent)
    before = frozen(call)
    response = client.post(
        url(call),
        {"notes": "x", "ticket_action": "update", "ticket": foreign.pk},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["ticket"][0]["code"] == "invalid_choice"
    assert frozen(call) == before


@pytest.mark.parametrize("role, status", [(Role.AGENT, 403), (Role.CLIENT_MANAGER, 403)])
def test_a_colleague_or_client_manager_may_not_wrap_up(
    client, connection, anna, company, role, status
):
    call = play(connection)
    client.force_login(make_user("other", company, role))
    before = frozen(call)
    response = client.post(url(call), {"notes": "Mine now", "ticket_action": "none"})
    assert response.status_code == status
    assert frozen(call) == before


def test_an_outsider_gets_404_like_a_missing_call(client, connection, anna, outsider):
    call = play(connection)
    client.force_login(outsider)
    before = frozen(call)
    foreign = client.post(url(call), {"notes": "x", "ticket_action": "none"})
    missing = client.post(
        "/telephony/calls/999999/wrap-up/", {"notes": "x", "ticket_action": "none"}
    )
    assert (foreign.status_code, foreign.content) == (404, missing.content)
    assert frozen(call) == before


def test_a_supervisor_may_correct_the_wrap_up_without_ending_the_agents(
    client, connection, anna, supervisor, dispositions
):
    call = play(connection)
    client.force_login(supervisor)
    response = client.post(
        url(call),
        {
            "disposition": dispositions["resolved"].pk,
            "notes": "Checked by the supervisor",
            "ticket_action": "none",
            "finish": "1",
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.json()["message"] == (
        "Wrap-up saved. You had no wrap-up of this call going on to finish."
    )
    call.refresh_from_db()
    assert (call.notes, call.disposition_id) == (
        "Checked by the supervisor",
        dispositions["resolved"].pk,
    )
    assert timeline(anna)[-1] == (S.WRAP_UP, 70, None)
    assert json.loads(json.dumps(response.json())) == response.json()
