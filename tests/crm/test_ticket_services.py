from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from contactcenter.tenancy.models import Team
from crm.models import BusinessHours, Holiday, SLAPolicy, Status, Ticket, TicketEscalation, Tier
from crm.services.sla import sla_mark_breaches
from crm.services.tickets import (
    ticket_assign,
    ticket_comment_add,
    ticket_create,
    ticket_escalate,
    ticket_transition,
    ticket_update,
)

# The fixtures' company is in Europe/Moscow: UTC+3 all year, no daylight saving.
MONDAY_10_MSK = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
MONDAY_9_MSK = MONDAY_10_MSK - timedelta(hours=1)


def test_ticket_numbers_count_per_company(company, other_company, customer):
    from crm.services.customers import customer_create

    shop_customer = customer_create(company=other_company, last_name="Rossi")
    first = ticket_create(company=company, customer=customer, subject="a")
    second = ticket_create(company=company, customer=customer, subject="b")
    shop = ticket_create(company=other_company, customer=shop_customer, subject="c")
    assert (first.number, second.number, shop.number) == (1, 2, 1)
    assert first.reference == "BANK-1"
    company.refresh_from_db()
    assert company.last_ticket_number == 2


def test_a_ticket_for_another_companys_customer_is_refused(company, other_company):
    from crm.services.customers import customer_create

    foreign = customer_create(company=other_company, last_name="Rossi")
    with pytest.raises(ValidationError) as error:
        ticket_create(company=company, customer=foreign, subject="x")
    assert error.value.message_dict == {"customer": ["It belongs to another client company."]}
    assert Ticket.objects.count() == 0


def test_a_ticket_needs_a_subject(company, customer):
    with pytest.raises(ValidationError) as error:
        ticket_create(company=company, customer=customer, subject="  ")
    assert error.value.message_dict == {"subject": ["A subject is required."]}


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([Status.OPEN, Status.PENDING, Status.OPEN, Status.RESOLVED, Status.CLOSED], True),
        ([Status.RESOLVED, Status.OPEN], True),
        ([Status.CLOSED, Status.OPEN], False),
        ([Status.OPEN, Status.NEW], False),
        ([Status.RESOLVED, Status.PENDING], False),
    ],
)
def test_status_transitions(ticket, path, allowed):
    try:
        for status in path:
            ticket_transition(ticket=ticket, to_status=status)
    except ValidationError:
        assert not allowed
        ticket.refresh_from_db()
        assert ticket.status == path[-2]
    else:
        assert allowed
        ticket.refresh_from_db()
        assert ticket.status == path[-1]


def test_a_refused_transition_names_both_states(ticket):
    ticket_transition(ticket=ticket, to_status=Status.CLOSED)
    with pytest.raises(ValidationError) as error:
        ticket_transition(ticket=ticket, to_status=Status.OPEN)
    assert error.value.message_dict == {"status": ["A Closed ticket cannot become Open."]}


def test_allowed_transitions_of_a_new_ticket(ticket):
    assert ticket.allowed_transitions() == ["open", "pending", "resolved", "closed"]


def test_reopening_clears_the_resolution_time(ticket):
    ticket_transition(ticket=ticket, to_status=Status.RESOLVED, now=MONDAY_10_MSK)
    assert ticket.resolved_at == MONDAY_10_MSK
    ticket_transition(ticket=ticket, to_status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.resolved_at is None


def test_escalation_records_who_when_and_why(ticket, agent, company):
    second_line = Team.objects.create(company=company, name="Second line")
    ticket_assign(ticket=ticket, assignee=agent)
    escalation = ticket_escalate(
        ticket=ticket,
        user=agent,
        reason="Chargeback dispute",
        to_team=second_line,
        now=MONDAY_10_MSK,
    )
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.team, ticket.assignee) == (Tier.SECOND_LINE, second_line, None)
    assert (escalation.from_tier, escalation.to_tier) == (1, 2)
    assert (escalation.escalated_by, escalation.escalated_at) == (agent, MONDAY_10_MSK)
    assert escalation.reason == "Chargeback dispute"


def test_escalation_needs_a_reason_and_a_higher_tier(ticket, agent):
    with pytest.raises(ValidationError) as error:
        ticket_escalate(ticket=ticket, user=agent, reason="")
    assert error.value.message_dict == {"reason": ["Say why the ticket is escalated."]}
    with pytest.raises(ValidationError) as error:
        ticket_escalate(ticket=ticket, user=agent, reason="x", to_tier=Tier.FIRST_LINE)
    assert error.value.message_dict == {"to_tier": ["Escalation goes to a higher support tier."]}
    assert TicketEscalation.objects.count() == 0


def test_assigning_a_non_member_is_refused(ticket, outsider):
    with pytest.raises(ValidationError):
        ticket_assign(ticket=ticket, assignee=outsider)
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_first_reply_to_the_customer_is_the_first_response(ticket, agent):
    ticket_comment_add(
        ticket=ticket, author=agent, body="Internal", is_internal=True, now=MONDAY_9_MSK
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.status == Status.NEW
    reply = ticket_comment_add(
        ticket=ticket, author=agent, body="We are on it", is_internal=False, now=MONDAY_10_MSK
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at == MONDAY_10_MSK
    assert ticket.status == Status.OPEN
    assert list(ticket.comments.values_list("body", flat=True)) == ["Internal", "We are on it"]
    assert reply.is_internal is False


# --- SLA ------------------------------------------------------------------------------------


@pytest.fixture
def business_hours(company):
    for weekday in range(5):
        BusinessHours.objects.create(
            company=company, weekday=weekday, opens=time(9), closes=time(18)
        )
    Holiday.objects.create(company=company, date=date(2026, 12, 31), name="New Year's Eve")


def test_calendar_hours_sla(company, customer):
    SLAPolicy.objects.create(
        company=company, priority="high", first_response_minutes=60, resolution_minutes=8 * 60
    )
    ticket = ticket_create(
        company=company, customer=customer, subject="x", priority="high", created_at=MONDAY_10_MSK
    )
    assert ticket.first_response_due == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert ticket.resolution_due == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_business_hours_sla_across_a_weekend_and_a_holiday(company, customer, business_hours):
    SLAPolicy.objects.create(
        company=company,
        priority="normal",
        first_response_minutes=120,
        resolution_minutes=18 * 60,
        business_hours=True,
    )
    # Wednesday 30 Dec 2026, 17:00 Moscow: 1 h left that day; Thursday 31 is a holiday;
    # Friday 1 Jan is a working day here (9 h); then the weekend; Monday 4 Jan.
    created = datetime(2026, 12, 30, 14, 0, tzinfo=UTC)
    ticket = ticket_create(company=company, customer=customer, subject="x", created_at=created)
    # First response: 1 h on Wednesday + 1 h on Friday -> Friday 10:00 Moscow = 07:00 UTC.
    assert ticket.first_response_due == datetime(2027, 1, 1, 7, 0, tzinfo=UTC)
    # Resolution: 1 h Wed + 9 h Fri = 10 h; 8 h more on Monday 4 Jan -> 17:00 Moscow.
    assert ticket.resolution_due == datetime(2027, 1, 4, 14, 0, tzinfo=UTC)


def test_changing_priority_recomputes_due_times_from_creation(company, customer):
    SLAPolicy.objects.create(
        company=company, priority="normal", first_response_minutes=240, resolution_minutes=2880
    )
    SLAPolicy.objects.create(
        company=company, priority="urgent", first_response_minutes=15, resolution_minutes=120
    )
    ticket = ticket_create(
        company=company, customer=customer, subject="x", created_at=MONDAY_10_MSK
    )
    ticket_update(ticket=ticket, priority="urgent")
    ticket.refresh_from_db()
    assert ticket.first_response_due == MONDAY_10_MSK + timedelta(minutes=15)
    assert ticket.resolution_due == MONDAY_10_MSK + timedelta(minutes=120)


def test_no_policy_means_no_due_times(ticket):
    assert (ticket.first_response_due, ticket.resolution_due, ticket.sla_policy) == (
        None,
        None,
        None,
    )


def test_the_periodic_job_marks_breaches_once(company, customer, agent):
    SLAPolicy.objects.create(
        company=company, priority="normal", first_response_minutes=30, resolution_minutes=60
    )
    ticket_create(company=company, customer=customer, subject="late", created_at=MONDAY_10_MSK)
    answered = ticket_create(
        company=company, customer=customer, subject="answered", created_at=MONDAY_10_MSK
    )
    ticket_comment_add(
        ticket=answered,
        author=agent,
        body="hi",
        is_internal=False,
        now=MONDAY_10_MSK + timedelta(minutes=10),
    )
    done = ticket_create(
        company=company, customer=customer, subject="done", created_at=MONDAY_10_MSK
    )
    ticket_comment_add(
        ticket=done,
        author=agent,
        body="hi",
        is_internal=False,
        now=MONDAY_10_MSK + timedelta(minutes=5),
    )
    ticket_transition(
        ticket=done, to_status=Status.RESOLVED, now=MONDAY_10_MSK + timedelta(minutes=20)
    )

    at = MONDAY_10_MSK + timedelta(minutes=45)  # response due passed, resolution not yet
    assert sla_mark_breaches(now=at) == 1
    assert sla_mark_breaches(now=at) == 0

    later = MONDAY_10_MSK + timedelta(minutes=61)  # resolution due passed for the open two
    assert sla_mark_breaches(now=later) == 2
    flags = {
        t.subject: (t.first_response_breached, t.resolution_breached) for t in Ticket.objects.all()
    }
    assert flags == {
        "late": (True, True),
        "answered": (False, True),
        "done": (False, False),
    }


def test_a_late_reply_and_a_late_resolution_are_flagged_when_they_happen(company, customer, agent):
    SLAPolicy.objects.create(
        company=company, priority="normal", first_response_minutes=30, resolution_minutes=60
    )
    ticket = ticket_create(
        company=company, customer=customer, subject="x", created_at=MONDAY_10_MSK
    )
    ticket_comment_add(
        ticket=ticket,
        author=agent,
        body="sorry",
        is_internal=False,
        now=MONDAY_10_MSK + timedelta(minutes=31),
    )
    ticket_transition(
        ticket=ticket, to_status=Status.RESOLVED, now=MONDAY_10_MSK + timedelta(minutes=61)
    )
    ticket.refresh_from_db()
    assert (ticket.first_response_breached, ticket.resolution_breached) == (True, True)


def test_history_records_which_fields_changed(ticket, agent):
    ticket.assignee = None
    ticket_assign(ticket=ticket, assignee=agent)
    assert ticket.history.count() == 2
    latest = ticket.history.first()
    diff = latest.diff_against(latest.prev_record)
    assert sorted(c.field for c in diff.changes) == ["assignee", "status"]
