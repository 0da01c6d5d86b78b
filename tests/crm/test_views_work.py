from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contactcenter.tenancy.models import UserPreference
from crm.models import Priority, SLAPolicy
from crm.services.tickets import ticket_create

URL = "/work/"


@pytest.fixture
def sla(company):
    return SLAPolicy.objects.create(
        company=company, priority=Priority.NORMAL, first_response_minutes=30, resolution_minutes=120
    )


def _open(company, customer, team, n, assignee=None, prefix="T"):
    return [
        ticket_create(
            company=company, customer=customer, subject=f"{prefix}{i}", team=team, assignee=assignee
        )
        for i in range(n)
    ]


def test_my_work_url_name():
    assert reverse("crm:my_work") == URL


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/work/"


def test_my_work_lists_my_tickets_and_my_teams_unassigned_queue(
    client, agent, supervisor, company, customer, team
):
    mine = ticket_create(company=company, customer=customer, subject="Mine", assignee=agent)
    queued = ticket_create(company=company, customer=customer, subject="Queued", team=team)
    ticket_create(company=company, customer=customer, subject="Someone else's", assignee=supervisor)
    client.force_login(agent)

    response = client.get(URL)

    assert response.status_code == 200
    assert [t.pk for t in response.context["mine"].data] == [mine.pk]
    assert [t.pk for t in response.context["queue"].data] == [queued.pk]
    assert "Someone else&#x27;s" not in response.content.decode()


def test_my_work_sorts_by_resolution_due_soonest_first(client, agent, company, customer, team):
    SLAPolicy.objects.create(
        company=company, priority=Priority.LOW, first_response_minutes=60, resolution_minutes=600
    )
    SLAPolicy.objects.create(
        company=company, priority=Priority.URGENT, first_response_minutes=5, resolution_minutes=30
    )
    no_sla = ticket_create(
        company=company, customer=customer, subject="No SLA", assignee=agent, priority="high"
    )
    low = ticket_create(
        company=company, customer=customer, subject="Low", assignee=agent, priority="low"
    )
    urgent = ticket_create(
        company=company, customer=customer, subject="Urgent", assignee=agent, priority="urgent"
    )
    client.force_login(agent)

    response = client.get(URL)

    assert [t.pk for t in response.context["mine"].data] == [urgent.pk, low.pk, no_sla.pk]


def test_overdue_rows_are_marked(client, agent, company, customer, sla):
    two_hours_ago = timezone.now() - timedelta(hours=3)
    late = ticket_create(
        company=company,
        customer=customer,
        subject="Late",
        assignee=agent,
        created_at=two_hours_ago,
    )
    on_time = ticket_create(company=company, customer=customer, subject="Fine", assignee=agent)
    client.force_login(agent)

    html = client.get(URL).content.decode()

    late_link = f'href="/tickets/{late.pk}/"'
    on_time_link = f'href="/tickets/{on_time.pk}/"'
    late_row = html[html.rindex("<tr", 0, html.index(late_link)) : html.index(late_link)]
    on_time_row = html[html.rindex("<tr", 0, html.index(on_time_link)) : html.index(on_time_link)]
    assert 'class="overdue' in late_row
    assert "overdue" not in on_time_row


def test_due_times_show_in_the_users_zone_absolute_and_relative(
    client, agent, company, customer, sla
):
    UserPreference.objects.create(user=agent, time_zone="Asia/Tokyo")
    ticket_create(
        company=company,
        customer=customer,
        subject="New year",
        assignee=agent,
        created_at=datetime(2039, 12, 31, 22, 0, tzinfo=UTC),
    )
    soon = timezone.now() + timedelta(seconds=30)
    ticket_create(
        company=company, customer=customer, subject="Soon", assignee=agent, created_at=soon
    )
    client.force_login(agent)

    html = client.get(URL).content.decode()

    # Resolution due 2040-01-01 00:00 UTC is 09:00 in Tokyo (UTC+9).
    assert '<time datetime="2040-01-01T09:00:00+09:00">01/01/2040 9 a.m.</time>' in html
    # Due two hours and thirty seconds after it was opened, i.e. two hours from now.
    assert "(in 2\xa0hours)" in html


def test_due_times_default_to_the_company_zone(client, agent, company, customer, sla):
    ticket_create(
        company=company,
        customer=customer,
        subject="Moscow",
        assignee=agent,
        created_at=datetime(2039, 12, 31, 22, 0, tzinfo=UTC),
    )
    client.force_login(agent)

    html = client.get(URL).content.decode()

    # Europe/Moscow is UTC+3 all year.
    assert '<time datetime="2040-01-01T03:00:00+03:00">' in html


def test_outsider_sees_nothing_of_the_company(client, outsider, agent, company, customer, team):
    _open(company, customer, team, 2, assignee=agent)
    _open(company, customer, team, 2)
    client.force_login(outsider)

    response = client.get(URL)

    assert response.status_code == 200
    assert list(response.context["mine"].data) == []
    assert list(response.context["queue"].data) == []


def _count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries)


def test_query_count_is_the_same_for_3_and_30_tickets(client, agent, company, customer, team, sla):
    client.force_login(agent)
    _open(company, customer, team, 3, assignee=agent, prefix="Mine")
    _open(company, customer, team, 3, prefix="Queue")
    with_3 = _count_queries(client)

    _open(company, customer, team, 27, assignee=agent, prefix="More mine")
    _open(company, customer, team, 27, prefix="More queue")
    with_30 = _count_queries(client)

    assert with_3 == with_30
