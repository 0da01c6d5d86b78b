"""The tickets report over a synthetic set of tickets built through the crm services, every
figure computed by hand.

The bank is in Europe/Moscow (UTC+3 all year); the period is its local Monday 16 November 2026,
in UTC [15 Nov 21:00, 16 Nov 21:00). SLA policies: normal = first response 60 min, resolution
240 min; high = 15 min and 60 min; low has none (no targets). Times below are local (Moscow);
"16" is the 16th, the period's day.

  id  customer channel   tier cat.   prio.   created     first reply   resolved
  A   Ivan     phone     1    Cards  normal  16 00:30    16 00:50      16 02:00
  B   Ivan     email     1    Cards  normal  16 10:00    16 10:30      16 12:00
  C   Ivan     phone     1    Cards  normal  23 12:00:01 -             -
  D   Maria    chat      3*   Loans  high    16 09:00    16 09:20      16 09:50
  E   Maria    chat      1    Cards  normal  16 15:00    -             -
  F   Petr     web       1    -      normal  16 11:00    -             16 11:40
  G   Petr     phone     1    Loans  normal  18 10:00    -             -
  H   Olga     phone     1    Cards  normal  16 12:30    16 12:45 **   16 13:00
  I   Olga     email     1    Cards  normal  23 13:00    -             -
  J   Sergey   phone     2*   Loans  normal  14 10:00    14 10:30      16 10:00
  K   Elena    messenger 1    -      low     15 23:30    16 00:10      16 01:00
  L   Pavel    phone     1    Cards  normal  17 00:10    -             -
  M   Pavel    email     1    -      normal  10 09:00    10 09:30      -
  N   Nina     phone     1    Cards  normal  16 20:00    17 00:30      17 01:00
  Q   Vera     web       1    -      high    16 14:00    -             closed 16 14:30
  R   Oleg     phone     1    Loans  normal  16 08:00    16 08:10      16 08:30, reopened 09:00

  * escalated: D to tier 3 at 16 09:30, J to tier 2 at 14 11:00.
  ** H also has an internal note at 12:35, which is no response.

A (16 00:30 local = 15 Nov 21:30 UTC) is in the period though its UTC date is the 15th; L
(17 00:10 local = 16 Nov 21:10 UTC) is not, though its UTC date is the 16th. K (15 23:30) was
created before the period but first answered and resolved in it.

The shop (Europe/Rome) has S1 (Rossi, phone, created 10:00 Moscow time = 07:00 UTC, replied
10:10, resolved 11:00) and S2 (Rossi, phone, created 12:00, open), no SLA policies.
"""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.http import Http404

from crm.models import Priority, SLAPolicy, Status, Ticket, TicketCategory
from crm.services.customers import customer_create
from crm.services.tickets import (
    ticket_assign,
    ticket_comment_add,
    ticket_create,
    ticket_escalate,
    ticket_transition,
    ticket_update,
)
from reporting.models import KpiSettings
from reporting.queries import Ratio, ReportError, ReportFilter, report_companies
from reporting.ticket_queries import TicketFigures, ticket_report
from telephony.models import Agent, Queue
from tests.reporting.conftest import DAY, at

NOV = {d: date(2026, 11, d) for d in (10, 14, 15, 16, 17, 18, 23)}


def day_filter(*companies, **extra) -> ReportFilter:
    return ReportFilter(companies=tuple(companies), date_from=DAY, date_to=DAY, **extra)


@pytest.fixture
def tickets(company, other_company, agent) -> dict[str, Ticket]:
    SLAPolicy.objects.create(
        company=company, priority=Priority.NORMAL, first_response_minutes=60, resolution_minutes=240
    )
    SLAPolicy.objects.create(
        company=company, priority=Priority.HIGH, first_response_minutes=15, resolution_minutes=60
    )
    cards = TicketCategory.objects.create(company=company, name="Cards")
    loans = TicketCategory.objects.create(company=company, name="Loans")
    people = {
        name: customer_create(company=company, first_name=name)
        for name in (
            "Ivan",
            "Maria",
            "Petr",
            "Olga",
            "Sergey",
            "Elena",
            "Pavel",
            "Nina",
            "Vera",
            "Oleg",
        )
    }
    made: dict[str, Ticket] = {}

    def new(name, who, channel, category, created, priority=Priority.NORMAL) -> Ticket:
        made[name] = ticket_create(
            company=company,
            customer=people[who],
            subject=f"Ticket {name}",
            channel=channel,
            category=category,
            priority=priority,
            created_at=created,
        )
        return made[name]

    def reply(name, when) -> None:
        ticket_comment_add(
            ticket=made[name], author=agent, body="Reply", is_internal=False, now=when
        )

    def resolve(name, when, status=Status.RESOLVED) -> None:
        ticket_transition(ticket=made[name], to_status=status, now=when)

    new("A", "Ivan", "phone", cards, at(0, 30))
    reply("A", at(0, 50))
    resolve("A", at(2, 0))

    new("B", "Ivan", "email", cards, at(10, 0))
    reply("B", at(10, 30))
    resolve("B", at(12, 0))

    new("C", "Ivan", "phone", cards, at(12, 0, 1, day=NOV[23]))

    new("D", "Maria", "chat", loans, at(9, 0), priority=Priority.HIGH)
    reply("D", at(9, 20))
    ticket_escalate(ticket=made["D"], user=agent, reason="Specialist", to_tier=3, now=at(9, 30))
    resolve("D", at(9, 50))

    new("E", "Maria", "chat", cards, at(15, 0))

    new("F", "Petr", "web", None, at(11, 0))
    resolve("F", at(11, 40))

    new("G", "Petr", "phone", loans, at(10, 0, day=NOV[18]))

    new("H", "Olga", "phone", cards, at(12, 30))
    ticket_comment_add(ticket=made["H"], author=agent, body="Looking", now=at(12, 35))
    reply("H", at(12, 45))
    resolve("H", at(13, 0))

    new("I", "Olga", "email", cards, at(13, 0, day=NOV[23]))

    new("J", "Sergey", "phone", loans, at(10, 0, day=NOV[14]))
    reply("J", at(10, 30, day=NOV[14]))
    ticket_escalate(ticket=made["J"], user=agent, reason="Hard", now=at(11, 0, day=NOV[14]))
    resolve("J", at(10, 0))

    new("K", "Elena", "messenger", None, at(23, 30, day=NOV[15]), priority=Priority.LOW)
    reply("K", at(0, 10))
    resolve("K", at(1, 0))

    new("L", "Pavel", "phone", cards, at(0, 10, day=NOV[17]))

    new("M", "Pavel", "email", None, at(9, 0, day=NOV[10]))
    reply("M", at(9, 30, day=NOV[10]))

    new("N", "Nina", "phone", cards, at(20, 0))
    reply("N", at(0, 30, day=NOV[17]))
    resolve("N", at(1, 0, day=NOV[17]))

    new("Q", "Vera", "web", None, at(14, 0), priority=Priority.HIGH)
    resolve("Q", at(14, 30), status=Status.CLOSED)

    new("R", "Oleg", "phone", loans, at(8, 0))
    reply("R", at(8, 10))
    resolve("R", at(8, 30))
    resolve("R", at(9, 0), status=Status.OPEN)

    rossi = customer_create(company=other_company, last_name="Rossi")
    made["S1"] = ticket_create(
        company=other_company, customer=rossi, subject="Order", created_at=at(10, 0)
    )
    ticket_comment_add(
        ticket=made["S1"], author=None, body="Reply", is_internal=False, now=at(10, 10)
    )
    ticket_transition(ticket=made["S1"], to_status=Status.RESOLVED, now=at(11, 0))
    made["S2"] = ticket_create(
        company=other_company, customer=rossi, subject="Order 2", created_at=at(12, 0)
    )
    for ticket in made.values():
        ticket.refresh_from_db()
    return made


def test_the_tickets_are_built_as_the_table_says(tickets):
    """The premise of every figure below: what the services recorded."""
    t = tickets
    assert (t["D"].tier, t["J"].tier) == (3, 2)
    assert (t["H"].first_response_at, t["F"].first_response_at) == (at(12, 45), None)
    assert (t["Q"].status, t["Q"].resolved_at, t["Q"].closed_at) == (
        Status.CLOSED,
        at(14, 30),
        at(14, 30),
    )
    assert (t["R"].status, t["R"].resolved_at) == (Status.OPEN, None)
    assert (t["D"].first_response_due, t["D"].resolution_due) == (at(9, 15), at(10, 0))
    assert t["D"].first_response_breached  # 09:20 > 09:15
    assert (t["K"].first_response_due, t["K"].sla_policy) == (None, None)
    assert t["J"].resolution_breached  # due 14 Nov 14:00, resolved on the 16th


def test_created_resolved_and_backlog_by_channel(company, tickets):
    report = ticket_report(day_filter(company))
    rows = {r.key: r.figures for r in report.by_channel}
    assert list(rows) == ["phone", "email", "chat", "messenger", "web", "walk_in"]
    # Created on the local 16th: A H N R (phone), B (email), D E (chat), F Q (web) = 9.
    # Resolved on the 16th: A H J (phone), B, D, K (messenger), F Q (web) = 8; R was reopened
    # (no resolved_at any more), N was resolved on the 17th.
    # Backlog at the end of the 16th: N (resolved the 17th) and R (reopened) by phone, M (email,
    # open since the 10th), E (chat) = 4; C G I L were created later.
    counts = {k: (f.created, f.resolved, f.backlog) for k, f in rows.items()}
    assert counts == {
        "phone": (4, 3, 2),
        "email": (1, 1, 1),
        "chat": (2, 1, 1),
        "messenger": (0, 1, 0),
        "web": (2, 2, 0),
        "walk_in": (0, 0, 0),
    }
    total = report.total
    assert (total.created, total.resolved, total.backlog) == (9, 8, 4)
    assert report.company_totals == {company.pk: total}


def test_the_period_is_the_companys_local_day_not_utcs(company, tickets):
    # By UTC dates the 15th would hold A (15 Nov 21:30 UTC) and K, and the 16th L (21:10 UTC).
    # By Moscow's local days the 15th holds K (23:30) only, the 17th L (00:10) only.
    the_15th = ticket_report(ReportFilter(companies=(company,), date_from=NOV[15], date_to=NOV[15]))
    the_17th = ticket_report(ReportFilter(companies=(company,), date_from=NOV[17], date_to=NOV[17]))
    assert (the_15th.total.created, the_17th.total.created) == (1, 1)
    # On the 17th N is resolved (01:00) after its first reply at 00:30, 4 h 30 min = 16200 s
    # after its creation at 20:00 on the 16th. The backlog at the end of the 17th: C G I are
    # later; E L M R are open.
    assert the_17th.total == TicketFigures(
        created=1,
        resolved=1,
        first_responses=1,
        first_response_seconds=16200,
        resolved_with_sla=1,
        sla_met=0,  # first reply due 21:00 on the 16th
        backlog=4,
        first_contact_resolved=1,
    )


def test_first_response_time_is_averaged_over_the_first_replies_in_the_period(company, tickets):
    report = ticket_report(day_filter(company))
    rows = {r.key: r.figures.first_response_time() for r in report.by_channel}
    # Replies on the 16th, from each ticket's creation: A 00:30 -> 00:50 = 1200 s, H 12:30 ->
    # 12:45 = 900 s (its internal note at 12:35 is no response), R 08:00 -> 08:10 = 600 s
    # (phone); B 10:00 -> 10:30 = 1800 s (email); D 09:00 -> 09:20 = 1200 s (chat); K, created
    # on the 15th at 23:30, 00:10 = 2400 s (messenger). N's reply is on the 17th, J's and M's
    # before the period; F and Q were never replied to.
    assert rows == {
        "phone": Ratio(2700, 3),
        "email": Ratio(1800, 1),
        "chat": Ratio(1200, 1),
        "messenger": Ratio(2400, 1),
        "web": Ratio(0, 0),
        "walk_in": Ratio(0, 0),
    }
    assert rows["phone"].value == 900
    assert rows["web"].value is None
    # 1200 + 900 + 600 + 1800 + 1200 + 2400 = 8100 s over 6 replies: 1350 s.
    assert report.total.first_response_time() == Ratio(8100, 6)
    assert report.total.first_response_time().value == 1350


def test_sla_met_reads_the_times_against_the_due_times(company, tickets):
    report = ticket_report(day_filter(company))
    rows = {r.key: r.figures for r in report.by_channel}
    # Resolved on the 16th with SLA targets (normal: reply 60 min, resolve 240 min; high: 15, 60):
    #   A reply 00:50 <= 01:30, resolved 02:00 <= 04:30: met      (phone)
    #   H reply 12:45 <= 13:30, resolved 13:00 <= 16:30: met      (phone)
    #   J resolved on the 16th, due 14 Nov 14:00: breached        (phone)
    #   B reply 10:30 <= 11:00, resolved 12:00 <= 14:00: met      (email)
    #   D reply 09:20 > 09:15: breached, though resolved 09:50 <= 10:00 (chat)
    #   F no reply, resolved 11:40 <= reply due 12:00 and <= 15:00: met (web)
    #   Q no reply, closed 14:30 > reply due 14:15: breached       (web)
    #   K (low priority) has no targets: in neither                (messenger)
    sla = {
        k: (f.sla_met, f.sla_breached, f.resolved_without_sla, f.sla_met_rate())
        for k, f in rows.items()
    }
    assert sla == {
        "phone": (2, 1, 0, Ratio(2, 3)),
        "email": (1, 0, 0, Ratio(1, 1)),
        "chat": (0, 1, 0, Ratio(0, 1)),
        "messenger": (0, 0, 1, Ratio(0, 0)),
        "web": (1, 1, 0, Ratio(1, 2)),
        "walk_in": (0, 0, 0, Ratio(0, 0)),
    }
    total = report.total
    assert (total.sla_met, total.sla_breached, total.resolved_without_sla) == (4, 3, 1)
    assert total.sla_met_rate() == Ratio(4, 7)


def test_first_contact_resolution(company, tickets):
    report = ticket_report(day_filter(company))
    # Resolved on the 16th, and the next ticket of the same customer (7-day window):
    #   A Ivan/Cards, resolved 02:00: B (Ivan/Cards) at 10:00 is a repeat            -> no
    #   B Ivan/Cards, resolved 16 12:00: C at 23 Nov 12:00:01 = 7 days + 1 s later    -> yes
    #   D Maria/Loans: E (Maria/Cards) is on another matter                           -> yes
    #   F Petr, no category: G (Loans, 18th) may be on the same matter: a repeat      -> no
    #   H Olga/Cards, resolved 13:00: I at 23 Nov 13:00:00, exactly 7 days: within    -> no
    #   J, K, Q: no other ticket of Sergey, Elena, Vera                               -> yes
    fcr = {r.key: r.figures.first_contact_resolution() for r in report.by_channel}
    assert fcr == {
        "phone": Ratio(1, 3),  # J of A H J
        "email": Ratio(1, 1),  # B
        "chat": Ratio(1, 1),  # D
        "messenger": Ratio(1, 1),  # K
        "web": Ratio(1, 2),  # Q of F Q
        "walk_in": Ratio(0, 0),
    }
    assert report.total.first_contact_resolution() == Ratio(5, 8)


@pytest.mark.parametrize(
    ("days", "resolved_at_first_contact"),
    [
        # 6 days: H's repeat I (7 days later) falls outside: B D H J K Q.
        (6, 6),
        (7, 5),
        # 8 days: B's repeat C (7 days + 1 s later) falls inside: D J K Q.
        (8, 4),
    ],
)
def test_the_fcr_window_is_the_companys(company, tickets, days, resolved_at_first_contact):
    KpiSettings.objects.create(company=company, fcr_window_days=days)
    report = ticket_report(day_filter(company))
    assert report.total.first_contact_resolution() == Ratio(resolved_at_first_contact, 8)
    assert report.as_dict()["companies"][0]["first_contact_resolution_days"] == days


def test_by_tier(company, tickets):
    report = ticket_report(day_filter(company))
    assert [(r.key, r.label) for r in report.by_tier] == [
        (1, "First line"),
        (2, "Second line"),
        (3, "Specialist"),
    ]
    rows = {r.key: r.figures for r in report.by_tier}
    # Tiers now: D escalated to 3, J to 2, every other ticket first line.
    assert rows == {
        1: TicketFigures(
            created=8,  # A B E F H N Q R
            resolved=6,  # A B F H K Q
            first_responses=5,  # A 1200 + B 1800 + H 900 + K 2400 + R 600 = 6900
            first_response_seconds=6900,
            resolved_with_sla=5,  # A B F H Q (K has none)
            sla_met=4,  # A B F H
            backlog=4,  # E M N R
            first_contact_resolved=3,  # B K Q
        ),
        2: TicketFigures(resolved=1, resolved_with_sla=1, first_contact_resolved=1),  # J
        3: TicketFigures(  # D
            created=1,
            resolved=1,
            first_responses=1,
            first_response_seconds=1200,
            resolved_with_sla=1,
            first_contact_resolved=1,
        ),
    }
    assert sum(rows.values(), TicketFigures()) == report.total


def test_the_report_as_a_dict(company, tickets):
    data = ticket_report(day_filter(company)).as_dict()
    assert (data["report"], data["from"], data["to"]) == ("tickets", "2026-11-16", "2026-11-16")
    assert [c["slug"] for c in data["companies"]] == ["bank"]
    assert data["by_channel"][1] == {
        "company": "bank",
        "channel": "email",
        "label": "E-mail",
        "created": 1,
        "resolved": 1,
        "first_responses": 1,
        "first_response_time": {"value": 1800.0, "numerator": 1800, "denominator": 1},
        "sla_met": 1,
        "sla_breached": 0,
        "resolved_without_sla": 0,
        "sla_met_rate": {"value": 1.0, "numerator": 1, "denominator": 1},
        "backlog": 1,
        "first_contact_resolved": 1,
        "first_contact_resolution": {"value": 1.0, "numerator": 1, "denominator": 1},
    }
    assert data["by_tier"][1]["tier"] == 2
    assert data["by_tier"][1]["label"] == "Second line"
    total = {
        "created": 9,
        "resolved": 8,
        "first_responses": 6,
        "first_response_time": {"value": 1350.0, "numerator": 8100, "denominator": 6},
        "sla_met": 4,
        "sla_breached": 3,
        "resolved_without_sla": 1,
        "sla_met_rate": {"value": 4 / 7, "numerator": 4, "denominator": 7},
        "backlog": 4,
        "first_contact_resolved": 5,
        "first_contact_resolution": {"value": 0.625, "numerator": 5, "denominator": 8},
    }
    assert data["company_totals"] == [{"company": "bank", **total}]
    assert data["total"] == total
    json.dumps(data)  # serialisable as it is


SHOP = TicketFigures(
    created=2,  # S1 S2
    resolved=1,  # S1
    first_responses=1,
    first_response_seconds=600,  # S1: 10:00 -> 10:10
    backlog=1,  # S2
    first_contact_resolved=0,  # S2 (no category) is a repeat of S1
)


def test_another_companys_tickets_are_never_counted(company, other_company, tickets):
    shop_report = ticket_report(day_filter(other_company))
    assert shop_report.total == SHOP
    # Even a row that wrongly pairs the bank's customer Elena with the shop is no repeat of
    # her ticket K at the bank, and the bank never counts it.
    Ticket.objects.create(
        company=other_company,
        number=99,
        customer=tickets["K"].customer,
        subject="Stray",
        created_at=at(5, 0),
    )
    bank = ticket_report(day_filter(company))
    assert (bank.total.created, bank.total.first_contact_resolved) == (9, 5)


def test_several_companies_side_by_side(company, other_company, tickets):
    report = ticket_report(day_filter(company, other_company))
    bank = report.company_totals[company.pk]
    assert report.company_totals[other_company.pk] == SHOP
    assert report.total == bank + SHOP
    assert (report.total.created, report.total.resolved, report.total.backlog) == (11, 9, 5)
    assert report.total.first_contact_resolution() == Ratio(5, 9)
    assert report.total.first_response_time() == Ratio(8700, 7)


def test_a_user_reports_on_their_companies_only(company, other_company, tickets, outsider):
    with pytest.raises(Http404):
        report_companies(outsider, ["bank"])
    visible = report_companies(outsider)
    assert visible == [other_company]
    report = ticket_report(day_filter(*visible))
    assert report.total == SHOP
    assert {r.company_id for r in report.by_channel + report.by_tier} == {other_company.pk}


def test_two_queries_whatever_the_companies(
    company, other_company, tickets, django_assert_num_queries
):
    f = day_filter(company, other_company)
    with django_assert_num_queries(2):  # the KPI settings, then one aggregate over the tickets
        ticket_report(f)


def test_team_and_agent_filters(company, team, agent, tickets):
    ticket_update(ticket=tickets["A"], team=team)
    ticket_assign(ticket=tickets["E"], assignee=agent)
    anna = Agent.objects.create(company=company, user=agent)
    # The team's ticket A: its repeat B is outside the filter and still a repeat.
    assert ticket_report(day_filter(company, team_ids=(team.pk,))).total == TicketFigures(
        created=1,
        resolved=1,
        first_responses=1,
        first_response_seconds=1200,
        resolved_with_sla=1,
        sla_met=1,
        first_contact_resolved=0,
    )
    assert ticket_report(day_filter(company, agent_ids=(anna.pk,))).total == TicketFigures(
        created=1, backlog=1
    )


@pytest.mark.parametrize("extra", [{"queue_ids": (1,)}, {"direction": "inbound"}])
def test_call_filters_are_refused(company, extra):
    with pytest.raises(ReportError) as error:
        ticket_report(day_filter(company, **extra))
    assert str(error.value) == "The queue and direction filters do not apply to tickets."


def test_an_empty_period_has_every_row(company):
    report = ticket_report(day_filter(company))
    assert len(report.by_channel) == 6
    assert len(report.by_tier) == 3
    assert report.total == TicketFigures()
    assert report.total.first_contact_resolution().value is None


NOTES = [
    ("Period", "2026-11-16 - 2026-11-16"),
    ("Client companies", "Bank"),
    ("Time zone", "Europe/Moscow"),
    ("First-contact resolution window", "7 days after the resolution"),
    (
        "First-contact resolution",
        "tickets resolved in the period with no later ticket of the same customer on the same "
        "matter (same category; a ticket without a category may be on any matter) created "
        "within the window / tickets resolved in the period",
    ),
    (
        "SLA met",
        "tickets resolved in the period whose first reply (or resolution, if sooner) and "
        "resolution came by their due times / tickets resolved in the period with SLA targets",
    ),
    (
        "Average first response",
        "creation to first reply, over the tickets first replied to in the period",
    ),
    ("Backlog at the end", "created before the end of the period, not resolved by then"),
    ("Channel and tier", "as the tickets have them now (after any escalation)"),
]
FIGURE_COLUMNS = [
    ("created", "Created", "count"),
    ("resolved", "Resolved", "count"),
    ("first_responses", "First responses", "count"),
    ("first_response_time", "Average first response", "seconds"),
    ("sla_met", "SLA met", "count"),
    ("sla_breached", "SLA breached", "count"),
    ("resolved_without_sla", "Resolved without SLA", "count"),
    ("sla_met_rate", "SLA met rate", "ratio"),
    ("backlog", "Backlog at the end", "count"),
    ("first_contact_resolved", "Resolved at first contact", "count"),
    ("first_contact_resolution", "First-contact resolution", "ratio"),
]


def test_the_tier_table(company, tickets):
    table = ticket_report(day_filter(company)).table("tier")
    assert table.title == "Tickets by support tier"
    assert [(c.key, c.label, c.kind) for c in table.columns] == [
        ("tier", "Support tier", "text"),
        *FIGURE_COLUMNS,
    ]
    assert [(k, str(v)) for k, v in table.notes] == NOTES
    assert table.rows[1] == {
        "company": "Bank",
        "tier": "Second line",
        "created": 0,
        "resolved": 1,
        "first_responses": 0,
        "first_response_time": None,
        "sla_met": 0,
        "sla_breached": 1,
        "resolved_without_sla": 0,
        "sla_met_rate": 0.0,
        "backlog": 0,
        "first_contact_resolved": 1,
        "first_contact_resolution": 1.0,
    }
    assert table.total["tier"] == "Total"
    assert table.total["first_response_time"] == 1350
    assert table.total["first_contact_resolution"] == 0.625


def test_the_channel_table_of_several_companies(company, other_company, tickets):
    table = ticket_report(day_filter(company, other_company)).table()
    assert table.title == "Tickets by channel"
    assert [c.key for c in table.columns][:2] == ["company", "channel"]
    assert len(table.rows) == 6 + 6 + 2  # each company's channels, then each company's total
    assert [(r["company"], r["channel"], r["created"]) for r in table.rows[-2:]] == [
        ("Bank", "All channels", 9),
        ("Shop", "All channels", 2),
    ]
    assert table.rows[6] == {"company": "Shop", "channel": "Phone", **SHOP.table_values()}
    assert table.total["created"] == 11
    notes = dict(table.notes)
    assert notes["Time zone"] == "Bank: Europe/Moscow; Shop: Europe/Rome"
    assert notes["First-contact resolution window"] == "7 days after the resolution"


def run(*args) -> str:
    out = StringIO()
    call_command("kpi_report", *args, stdout=out)
    return out.getvalue()


DAY_ARGS = ("--company", "bank", "--from", "2026-11-16", "--to", "2026-11-16")


def test_the_command_prints_tickets_as_json(tickets):
    data = json.loads(run("tickets", *DAY_ARGS))
    assert data["report"] == "tickets"
    assert [c["slug"] for c in data["companies"]] == ["bank"]
    assert data["total"]["created"] == 9
    assert data["total"]["first_contact_resolution"] == {
        "value": 0.625,
        "numerator": 5,
        "denominator": 8,
    }
    assert data["total"]["sla_met_rate"] == {"value": 4 / 7, "numerator": 4, "denominator": 7}
    assert [(r["channel"], r["created"]) for r in data["by_channel"]][:2] == [
        ("phone", 4),
        ("email", 1),
    ]
    assert [(r["tier"], r["resolved"]) for r in data["by_tier"]] == [(1, 6), (2, 1), (3, 1)]


def test_the_command_prints_both_ticket_tables_as_csv(tickets):
    text = run("tickets", *DAY_ARGS, "--format", "csv")
    assert text.count("\ufeff") == 1
    lines = text.splitlines()
    assert lines[0] == "\ufeffTickets by channel"
    assert lines[1:4] == [
        "Period,2026-11-16 - 2026-11-16",
        "Client companies,Bank",
        "Time zone,Europe/Moscow",
    ]
    header = (
        "Created,Resolved,First responses,Average first response (s),"
        "Average first response (h:mm:ss),SLA met,SLA breached,Resolved without SLA,"
        "SLA met rate (%),Backlog at the end,Resolved at first contact,"
        "First-contact resolution (%)"
    )
    assert lines[10:12] == ["", "Channel," + header]
    # Phone: 4 created, 3 resolved, replies 2700 / 3 = 900 s; SLA 2 of 3 = 66.67 %; backlog 2;
    # FCR 1 of 3 = 33.33 %.
    assert lines[12] == "Phone,4,3,3,900.0,0:15:00,2,1,0,66.67,2,1,33.33"
    assert lines[16] == "Web form,2,2,0,,,1,1,0,50.0,0,1,50.0"
    # Total: 8100 / 6 = 1350 s = 0:22:30; SLA 4 / 7 = 57.14 %; FCR 5 / 8 = 62.5 %.
    assert lines[18] == "Total,9,8,6,1350.0,0:22:30,4,3,1,57.14,4,5,62.5"
    assert lines[19:21] == ["", "Tickets by support tier"]
    assert lines[31] == "Support tier," + header
    # First line: 6900 / 5 = 1380 s = 0:23:00; SLA 4 / 5 = 80 %; FCR 3 / 6 = 50 %.
    assert lines[32] == "First line,8,6,5,1380.0,0:23:00,4,1,1,80.0,4,3,50.0"
    assert lines[35] == "Total,9,8,6,1350.0,0:22:30,4,3,1,57.14,4,5,62.5"
    assert len(lines) == 36


def test_the_command_refuses_a_queue_for_tickets(company):
    Queue.objects.create(company=company, name="Cards", code="cards")
    with pytest.raises(CommandError) as error:
        run("tickets", *DAY_ARGS, "--queue", "cards")
    assert str(error.value) == "The queue and direction filters do not apply to tickets."
