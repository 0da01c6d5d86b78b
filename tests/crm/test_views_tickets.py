import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contactcenter.tenancy.models import Membership, Role, Skill, Team
from crm.models import (
    Priority,
    SLAPolicy,
    Status,
    Ticket,
    TicketCategory,
    TicketComment,
    TicketEscalation,
)
from crm.services.customers import customer_create
from crm.services.tickets import ticket_create, ticket_transition
from tests.conftest import make_user


@pytest.fixture
def second_line(company):
    return Team.objects.create(company=company, name="Second line")


@pytest.fixture
def shop_team(other_company):
    return Team.objects.create(company=other_company, name="Returns")


def _snapshot():
    return (
        list(Ticket.objects.order_by("pk").values()),
        list(TicketComment.objects.order_by("pk").values()),
        list(TicketEscalation.objects.order_by("pk").values()),
    )


def _status_buttons(html: str) -> list[str]:
    return re.findall(r'<button type="submit" name="status" value="(\w+)"', html)


def test_url_names():
    assert reverse("crm:ticket_list") == "/tickets/"
    assert reverse("crm:ticket_create") == "/tickets/new/"
    assert reverse("crm:ticket_detail", args=[3]) == "/tickets/3/"
    assert reverse("crm:ticket_edit", args=[3]) == "/tickets/3/edit/"
    assert reverse("crm:ticket_transition", args=[3]) == "/tickets/3/transition/"
    assert reverse("crm:ticket_assign", args=[3]) == "/tickets/3/assign/"
    assert reverse("crm:ticket_escalate", args=[3]) == "/tickets/3/escalate/"
    assert reverse("crm:ticket_comment_add", args=[3]) == "/tickets/3/comments/"


# --- List and filters -------------------------------------------------------------------------


def _listed(client, **params) -> list[str]:
    response = client.get("/tickets/", params)
    assert response.status_code == 200
    return sorted(t.subject for t in response.context["table"].data)


def test_list_filters(client, agent, supervisor, company, customer, team, second_line):
    SLAPolicy.objects.create(
        company=company, priority=Priority.URGENT, first_response_minutes=5, resolution_minutes=10
    )
    ticket_create(company=company, customer=customer, subject="A new", team=team)
    ticket_create(
        company=company,
        customer=customer,
        subject="B mine urgent late",
        assignee=agent,
        priority="urgent",
        created_at=timezone.now() - timedelta(hours=1),
    )
    resolved = ticket_create(
        company=company, customer=customer, subject="C resolved", team=second_line, tier=2
    )
    ticket_transition(ticket=resolved, to_status=Status.RESOLVED)
    ticket_create(company=company, customer=customer, subject="D theirs", assignee=supervisor)
    client.force_login(agent)

    assert _listed(client) == ["A new", "B mine urgent late", "C resolved", "D theirs"]
    assert _listed(client, status="resolved") == ["C resolved"]
    assert _listed(client, priority="urgent") == ["B mine urgent late"]
    assert _listed(client, tier="2") == ["C resolved"]
    assert _listed(client, team=str(team.pk)) == ["A new"]
    assert _listed(client, assignee="me") == ["B mine urgent late"]
    assert _listed(client, assignee=str(supervisor.pk)) == ["D theirs"]
    assert _listed(client, assignee="none") == ["A new", "C resolved"]
    assert _listed(client, company="bank") == [
        "A new",
        "B mine urgent late",
        "C resolved",
        "D theirs",
    ]
    assert _listed(client, overdue="on") == ["B mine urgent late"]


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_query_count_is_the_same_for_3_and_30_tickets(
    client, agent, supervisor, company, customer, team
):
    def open_tickets(n):
        for i in range(n):
            ticket_create(
                company=company,
                customer=customer,
                subject=f"T{i}",
                team=team,
                assignee=(agent, supervisor, None)[i % 3],
            )

    client.force_login(agent)
    open_tickets(3)
    with_3 = _queries_for(client, "/tickets/?status=open")

    open_tickets(27)
    with_30 = _queries_for(client, "/tickets/?status=open")

    assert with_3 == with_30


def test_list_shows_nothing_of_other_companies(client, outsider, ticket, other_company, shop_team):
    shop_customer = customer_create(company=other_company, last_name="Rossi")
    ticket_create(company=other_company, customer=shop_customer, subject="Shop ticket")
    client.force_login(outsider)

    assert _listed(client) == ["Shop ticket"]


def test_company_filter_of_a_foreign_company_is_404(client, outsider, ticket):
    client.force_login(outsider)

    assert client.get("/tickets/", {"company": "bank"}).status_code == 404


def test_filters_offer_only_the_users_companies_teams_and_people(
    client, agent, team, shop_team, outsider
):
    client.force_login(agent)

    form = client.get("/tickets/").context["filter_form"]

    assert [v for v, _ in form.fields["team"].choices] == ["", str(team.pk)]
    assert [v for v, _ in form.fields["company"].choices] == ["", "bank"]
    assert str(outsider.pk) not in [v for v, _ in form.fields["assignee"].choices]


def test_filter_naming_a_foreign_team_matches_nothing_of_it(
    client, outsider, ticket, shop_team, team
):
    client.force_login(outsider)

    response = client.get("/tickets/", {"team": str(team.pk)})

    assert list(response.context["table"].data) == []


def test_list_overdue_rows_are_marked(client, agent, company, customer):
    SLAPolicy.objects.create(
        company=company, priority=Priority.NORMAL, first_response_minutes=5, resolution_minutes=10
    )
    ticket_create(
        company=company,
        customer=customer,
        subject="Late",
        created_at=timezone.now() - timedelta(hours=1),
    )
    client.force_login(agent)

    html = client.get("/tickets/").content.decode()

    assert '<tr class="overdue' in html


# --- Create and edit --------------------------------------------------------------------------


def test_agent_creates_a_ticket_for_a_customer(client, agent, company, customer, team):
    category = TicketCategory.objects.create(company=company, name="Cards")
    skill = Skill.objects.create(company=company, name="Fraud")
    client.force_login(agent)

    response = client.post(
        f"/tickets/new/?customer={customer.pk}",
        {
            "subject": "Card lost",
            "description": "Lost in the metro",
            "channel": "phone",
            "priority": "high",
            "category": str(category.pk),
            "required_skill": str(skill.pk),
            "tier": "1",
            "team": str(team.pk),
            "assignee": str(agent.pk),
        },
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"
    assert (ticket.company, ticket.customer, ticket.number) == (company, customer, 1)
    assert (ticket.subject, ticket.priority, ticket.category, ticket.required_skill) == (
        "Card lost",
        "high",
        category,
        skill,
    )
    assert (ticket.team, ticket.assignee, ticket.status) == (team, agent, Status.OPEN)
    assert ticket.created_by == agent


def test_create_form_offers_only_the_customers_company_choices(
    client, agent, customer, team, shop_team, other_company, outsider
):
    TicketCategory.objects.create(company=other_company, name="Returns")
    client.force_login(agent)

    form = client.get(f"/tickets/new/?customer={customer.pk}").context["form"]

    assert list(form.fields["team"].queryset) == [team]
    assert list(form.fields["category"].queryset) == []
    assert outsider not in form.fields["assignee"].queryset


def test_create_refuses_a_foreign_team_and_writes_nothing(client, agent, customer, shop_team):
    client.force_login(agent)

    response = client.post(
        f"/tickets/new/?customer={customer.pk}",
        {
            "subject": "X",
            "channel": "phone",
            "priority": "normal",
            "tier": "1",
            "team": str(shop_team.pk),
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["team"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert Ticket.objects.count() == 0


def test_create_without_a_customer_sends_to_the_customer_list(client, agent):
    client.force_login(agent)

    response = client.get("/tickets/new/")

    assert response.status_code == 302
    assert response["Location"] == "/customers/"


def test_edit_details_changes_the_ticket_and_history_shows_it(client, agent, ticket, second_line):
    client.force_login(agent)

    response = client.post(
        f"/tickets/{ticket.pk}/edit/",
        {
            "subject": "Card blocked abroad",
            "description": "",
            "channel": "phone",
            "priority": "normal",
            "team": str(second_line.pk),
        },
    )
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()

    ticket.refresh_from_db()
    assert response.status_code == 302
    assert (ticket.subject, ticket.team) == ("Card blocked abroad", second_line)
    assert (
        '<strong>Subject</strong>: <span class="old">Card blocked</span> &rarr; '
        '<span class="new">Card blocked abroad</span>'
    ) in html
    assert '<strong>Team</strong>: <span class="old">Cards</span> &rarr; ' in html


# --- The ticket page --------------------------------------------------------------------------


def test_only_allowed_transitions_are_offered(client, agent, company, customer, ticket):
    client.force_login(agent)
    resolved = ticket_create(company=company, customer=customer, subject="Done")
    ticket_transition(ticket=resolved, to_status=Status.RESOLVED)
    closed = ticket_create(company=company, customer=customer, subject="Gone")
    ticket_transition(ticket=closed, to_status=Status.CLOSED)

    new_page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    resolved_page = client.get(f"/tickets/{resolved.pk}/").content.decode()
    closed_page = client.get(f"/tickets/{closed.pk}/").content.decode()

    assert _status_buttons(new_page) == ["open", "pending", "resolved", "closed"]
    assert _status_buttons(resolved_page) == ["open", "closed"]
    assert _status_buttons(closed_page) == []


def test_transition_changes_the_status(client, agent, ticket):
    client.force_login(agent)

    response = client.post(f"/tickets/{ticket.pk}/transition/", {"status": "pending"})

    ticket.refresh_from_db()
    assert response.status_code == 302
    assert ticket.status == Status.PENDING


def test_disallowed_transition_is_shown_and_changes_nothing(client, agent, ticket):
    ticket_transition(ticket=ticket, to_status=Status.CLOSED)
    client.force_login(agent)
    before = _snapshot()

    response = client.post(f"/tickets/{ticket.pk}/transition/", {"status": "open"})

    assert response.status_code == 200
    assert response.context["transition_errors"] == ["A Closed ticket cannot become Open."]
    assert "A Closed ticket cannot become Open." in response.content.decode()
    assert _snapshot() == before


def test_page_shows_sla_due_times_and_breach_flags(client, agent, company, customer):
    SLAPolicy.objects.create(
        company=company, priority=Priority.NORMAL, first_response_minutes=5, resolution_minutes=600
    )
    ticket = ticket_create(
        company=company,
        customer=customer,
        subject="Slow",
        created_at=timezone.now() - timedelta(minutes=30),
    )
    Ticket.objects.filter(pk=ticket.pk).update(first_response_breached=True)
    client.force_login(agent)

    html = client.get(f"/tickets/{ticket.pk}/").content.decode()

    # 5 minutes after opening, 30 minutes ago: 25 minutes late.
    assert "(25\xa0minutes ago)" in html
    assert '<dd id="first-response-breach"><strong class="overdue">breached</strong></dd>' in html
    assert '<dd id="resolution-breach">not breached</dd>' in html
    assert '<span class="badge overdue">Overdue</span>' in html


def test_assign_to_me(client, agent, ticket):
    client.force_login(agent)

    response = client.post(f"/tickets/{ticket.pk}/assign/", {"assignee": str(agent.pk)})

    ticket.refresh_from_db()
    assert response.status_code == 302
    assert (ticket.assignee, ticket.status) == (agent, Status.OPEN)


def test_assign_to_a_member_and_unassign(client, agent, supervisor, ticket):
    client.force_login(agent)

    client.post(f"/tickets/{ticket.pk}/assign/", {"assignee": str(supervisor.pk)})
    ticket.refresh_from_db()
    assert ticket.assignee == supervisor

    client.post(f"/tickets/{ticket.pk}/assign/", {"assignee": ""})
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_assign_offers_and_accepts_only_members_who_work_tickets(
    client, agent, client_manager, outsider, ticket
):
    client.force_login(agent)
    before = _snapshot()

    form = client.get(f"/tickets/{ticket.pk}/").context["assign_form"]
    to_outsider = client.post(f"/tickets/{ticket.pk}/assign/", {"assignee": str(outsider.pk)})
    to_manager = client.post(f"/tickets/{ticket.pk}/assign/", {"assignee": str(client_manager.pk)})

    assert [u.username for u in form.fields["assignee"].queryset] == ["agent"]
    assert to_outsider.status_code == 200
    assert "assignee" in to_outsider.context["assign_form"].errors
    assert "assignee" in to_manager.context["assign_form"].errors
    assert _snapshot() == before


def test_escalation_is_recorded_with_who_when_and_why(client, agent, ticket, second_line):
    client.force_login(agent)
    before = timezone.now()

    response = client.post(
        f"/tickets/{ticket.pk}/escalate/",
        {"to_tier": "2", "to_team": str(second_line.pk), "reason": "Needs a card specialist"},
    )
    page = client.get(f"/tickets/{ticket.pk}/")

    escalation = TicketEscalation.objects.get()
    ticket.refresh_from_db()
    assert response.status_code == 302
    assert (escalation.escalated_by, escalation.reason) == (agent, "Needs a card specialist")
    assert (escalation.from_tier, escalation.to_tier, escalation.to_team) == (1, 2, second_line)
    assert before <= escalation.escalated_at <= timezone.now()
    assert (ticket.tier, ticket.team) == (2, second_line)
    html = page.content.decode()
    log = html[html.index('id="escalations"') :]
    when = timezone.localtime(escalation.escalated_at, timezone=ticket.company.zoneinfo)
    assert f'<time datetime="{when.isoformat()}">' in log
    assert "<td>Anna</td>" in log
    assert '<td class="reason">Needs a card specialist</td>' in log
    # Tier 2 reached: only tier 3 is left to escalate to.
    assert [v for v, _ in page.context["escalate_form"].fields["to_tier"].choices] == [3]


def test_escalation_without_a_reason_or_to_a_foreign_team_is_refused(
    client, agent, ticket, shop_team
):
    client.force_login(agent)
    before = _snapshot()

    no_reason = client.post(f"/tickets/{ticket.pk}/escalate/", {"to_tier": "2", "reason": ""})
    foreign = client.post(
        f"/tickets/{ticket.pk}/escalate/",
        {"to_tier": "2", "to_team": str(shop_team.pk), "reason": "why not"},
    )

    assert no_reason.context["escalate_form"].errors["reason"] == ["This field is required."]
    assert "to_team" in foreign.context["escalate_form"].errors
    assert _snapshot() == before


def test_comments_and_replies_show_in_one_timeline_marked_apart(client, agent, ticket):
    client.force_login(agent)

    client.post(f"/tickets/{ticket.pk}/comments/", {"body": "Checked logs", "is_internal": "on"})
    client.post(f"/tickets/{ticket.pk}/comments/", {"body": "We are on it"})
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()

    ticket.refresh_from_db()
    assert list(TicketComment.objects.values_list("body", "is_internal", "author")) == [
        ("Checked logs", True, agent.pk),
        ("We are on it", False, agent.pk),
    ]
    assert ticket.first_response_at is not None
    conversation = html[html.index('id="comments"') :]
    assert conversation.index('<li class="internal">') < conversation.index('<li class="reply">')
    assert '<span class="badge">Internal note</span>' in conversation
    assert '<span class="badge">Reply to the customer</span>' in conversation


def test_empty_comment_is_refused(client, agent, ticket):
    client.force_login(agent)

    response = client.post(f"/tickets/{ticket.pk}/comments/", {"body": ""})

    assert response.context["comment_form"].errors["body"] == ["This field is required."]
    assert TicketComment.objects.count() == 0


def test_history_shows_status_changes(client, agent, ticket):
    client.force_login(agent)
    client.post(f"/tickets/{ticket.pk}/transition/", {"status": "pending"})

    html = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert (
        '<strong>Status</strong>: <span class="old">New</span> &rarr; '
        '<span class="new">Pending customer</span>'
    ) in html


# --- Roles and tenancy ------------------------------------------------------------------------


def test_client_manager_reads_the_ticket_without_actions(client, client_manager, ticket):
    client.force_login(client_manager)

    response = client.get(f"/tickets/{ticket.pk}/")
    html = response.content.decode()

    assert response.status_code == 200
    assert _status_buttons(html) == []
    for form_id in ("assign-form", "escalate-form", "comment-form"):
        assert f'id="{form_id}"' not in html


def test_client_manager_gets_403_on_every_write(client, client_manager, ticket, customer, team):
    client.force_login(client_manager)
    before = _snapshot()
    url = f"/tickets/{ticket.pk}"

    assert client.get(f"/tickets/new/?customer={customer.pk}").status_code == 403
    created = client.post(f"/tickets/new/?customer={customer.pk}", {"subject": "x"})
    assert created.status_code == 403
    assert client.get(f"{url}/edit/").status_code == 403
    assert client.post(f"{url}/edit/", {"subject": "x"}).status_code == 403
    assert client.post(f"{url}/transition/", {"status": "open"}).status_code == 403
    assigned = client.post(f"{url}/assign/", {"assignee": str(client_manager.pk)})
    assert assigned.status_code == 403
    escalated = client.post(f"{url}/escalate/", {"to_tier": "2", "reason": "x"})
    assert escalated.status_code == 403
    assert client.post(f"{url}/comments/", {"body": "x"}).status_code == 403
    assert _snapshot() == before


def test_outsider_gets_404_for_every_ticket_url_and_changes_nothing(
    client, outsider, ticket, customer, shop_team
):
    client.force_login(outsider)
    before = _snapshot()
    url = f"/tickets/{ticket.pk}"

    assert client.get(f"{url}/").status_code == 404
    assert client.get(f"{url}/edit/").status_code == 404
    assert client.post(f"{url}/edit/", {"subject": "x"}).status_code == 404
    assert client.post(f"{url}/transition/", {"status": "open"}).status_code == 404
    assert client.post(f"{url}/assign/", {"assignee": str(outsider.pk)}).status_code == 404
    escalated = client.post(f"{url}/escalate/", {"to_tier": "2", "reason": "x"})
    assert escalated.status_code == 404
    assert client.post(f"{url}/comments/", {"body": "x"}).status_code == 404
    assert client.get(f"/tickets/new/?customer={customer.pk}").status_code == 404
    created = client.post(
        f"/tickets/new/?customer={customer.pk}",
        {"subject": "x", "channel": "phone", "priority": "normal", "tier": "1"},
    )
    assert created.status_code == 404
    assert _snapshot() == before


def test_actions_answer_only_post(client, agent, ticket):
    client.force_login(agent)

    for action in ("transition", "assign", "escalate", "comments"):
        assert client.get(f"/tickets/{ticket.pk}/{action}/").status_code == 405


def test_agent_of_two_companies_acts_by_their_role_in_the_tickets_company(
    client, company, other_company, customer, ticket
):
    # An agent at the shop who only reads at the bank.
    user = make_user("mixed", other_company, Role.AGENT)
    Membership.objects.create(user=user, company=company, role=Role.CLIENT_MANAGER)
    client.force_login(user)

    assert client.get(f"/tickets/{ticket.pk}/").status_code == 200
    assert client.post(f"/tickets/{ticket.pk}/transition/", {"status": "open"}).status_code == 403
