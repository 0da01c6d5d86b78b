"""The call log: the list (who sees which calls, filters, user's zone, h:mm:ss, query count) and
a call's page (every fact, hold spans, customers, ticket, events in order)."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from contactcenter.tenancy.models import Membership, Role, Team
from telephony.models import Agent, Call, Disposition, Extension, PbxConnection, Queue
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause
from telephony.services import call_event_apply
from tests.conftest import make_user

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
K = CallEventKind


def ev(n, kind, second, call_id="c1", **fields):
    return CallEvent(
        kind=kind,
        call_id=call_id,
        event_id=f"{call_id}-e{n}",
        occurred_at=T0 + timedelta(seconds=second),
        **fields,
    )


def answered_call(pbx, call_id="c1", start=0, agent="101", caller="8 (916) 123-45-67"):
    """Queued, rang 12 s later, answered 5 s after that, held 30 s, hung up at 197 s."""
    events = [
        ev(1, K.QUEUED, start, call_id, caller=caller, queue="cards"),
        ev(2, K.RINGING, start + 12, call_id, agent=agent),
        ev(3, K.ANSWERED, start + 17, call_id, agent=agent),
        ev(4, K.HOLD, start + 60, call_id),
        ev(5, K.UNHOLD, start + 90, call_id),
        ev(6, K.HANGUP, start + 197, call_id, cause=HangupCause.NORMAL),
    ]
    for event in events:
        applied = call_event_apply(connection=pbx, event=event)
    return applied.call


def abandoned_call(pbx, call_id, start=0, caller="+39 338 123 4567", queue="loans"):
    for event in (
        ev(1, K.QUEUED, start, call_id, caller=caller, queue=queue),
        ev(2, K.HANGUP, start + 40, call_id, cause=HangupCause.CALLER_ABANDONED),
    ):
        applied = call_event_apply(connection=pbx, event=event)
    return applied.call


@pytest.fixture
def pbx(company):
    return PbxConnection.objects.create(name="Bank PBX", company=company, format="native")


@pytest.fixture
def cards(company):
    return Queue.objects.create(company=company, name="Cards", code="cards")


@pytest.fixture
def loans(company):
    return Queue.objects.create(company=company, name="Loans", code="loans")


@pytest.fixture
def agent_101(company, agent):
    row = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=row, number="101")
    return row


@pytest.fixture
def colleague(company, team):
    return make_user("boris", company, Role.AGENT, team, first_name="Boris")


@pytest.fixture
def agent_102(company, colleague):
    row = Agent.objects.create(company=company, user=colleague)
    Extension.objects.create(company=company, agent=row, number="102")
    return row


@pytest.fixture
def calls(pbx, cards, loans, agent_101, agent_102, customer):
    """Anna's answered call (the customer's), Boris's answered call, and an abandoned one."""
    return {
        "anna": answered_call(pbx, "c1"),
        "boris": answered_call(pbx, "c2", start=600, agent="102", caller="+7 495 000-00-01"),
        "abandoned": abandoned_call(pbx, "c3", start=1200),
    }


def rows(response) -> list[str]:
    """The PBX call ids of the listed calls, read from their detail links, in order."""
    ids = re.findall(r'href="/telephony/calls/(\d+)/"', response.content.decode())
    by_pk = dict(Call.objects.values_list("pk", "pbx_call_id"))
    return [by_pk[int(pk)] for pk in dict.fromkeys(ids)]


def test_a_supervisor_sees_every_call_in_the_users_zone_with_hms_durations(
    client, supervisor, calls
):
    client.force_login(supervisor)
    response = client.get("/telephony/calls/")
    assert response.status_code == 200
    assert rows(response) == ["c3", "c2", "c1"]
    html = response.content.decode()
    # c1: offered 09:00:00 UTC = 12:00:00 in Moscow, the supervisor's company's zone.
    assert '<time datetime="2026-11-23T12:00:00+03:00">11/23/2026 12:00:00</time>' in html
    row = html[html.index(f'href="/telephony/calls/{calls["anna"].pk}/"') :].split("</tr>")[0]
    cells = re.findall(r'<td class="duration nowrap">([^<]*)</td>', row)
    # queue wait 17 s, ring 5 s, talk 150 s (180 s less 30 s on hold), hold 30 s, no wrap-up.
    assert cells == ["0:00:17", "0:00:05", "0:02:30", "0:00:30", "—"]
    assert "+7 916 123-45-67" in row and "Ivan Petrov" in row and "Anna" in row


def test_an_agent_sees_only_the_calls_they_handled(client, agent, colleague, calls):
    client.force_login(agent)
    assert rows(client.get("/telephony/calls/")) == ["c1"]
    client.force_login(colleague)
    assert rows(client.get("/telephony/calls/")) == ["c2"]


def test_a_client_manager_sees_every_call_of_their_company(client, client_manager, calls):
    client.force_login(client_manager)
    assert rows(client.get("/telephony/calls/")) == ["c3", "c2", "c1"]


def test_an_agent_who_supervises_another_company_sees_all_of_that_one_only(
    client, agent, calls, other_company
):
    Membership.objects.create(user=agent, company=other_company, role=Role.SUPERVISOR)
    shop_pbx = PbxConnection.objects.create(name="Shop", company=other_company, format="native")
    abandoned_call(shop_pbx, "s1", start=1800, queue="vendite")
    client.force_login(agent)
    response = client.get("/telephony/calls/")
    assert rows(response) == ["s1", "c1"]
    # Two companies: the company column and filter appear.
    assert 'name="company"' in response.content.decode()
    assert rows(client.get("/telephony/calls/?company=shop")) == ["s1"]
    assert rows(client.get("/telephony/calls/?company=bank")) == ["c1"]


def test_a_single_company_user_gets_no_company_filter(client, supervisor, calls):
    client.force_login(supervisor)
    html = client.get("/telephony/calls/").content.decode()
    assert 'name="company"' not in html
    assert 'name="agent"' in html


def test_an_agent_gets_no_agent_filter(client, agent, calls):
    client.force_login(agent)
    html = client.get("/telephony/calls/").content.decode()
    assert 'name="agent"' not in html and 'name="mine"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("direction=inbound", ["c3", "c2", "c1"]),
        ("direction=outbound", []),
        ("outcome=answered", ["c2", "c1"]),
        ("outcome=abandoned", ["c3"]),
        ("queue={loans}", ["c3"]),
        ("agent={agent_102}", ["c2"]),
        # The same number typed in three formats, read in the company's country (RU).
        ("number=8+916+123-45-67", ["c1"]),
        ("number=%2B79161234567", ["c1"]),
        ("number=9161234567", ["c1"]),
        ("number=%2B39+338+123+4567", ["c3"]),
        ("number=12", []),
        ("mine=on", []),
        ("date_from=2026-11-23&date_to=2026-11-23", ["c3", "c2", "c1"]),
        ("date_from=2026-11-24", []),
        ("date_to=2026-11-22", []),
    ],
)
def test_filters(client, supervisor, calls, loans, agent_102, query, expected):
    client.force_login(supervisor)
    path = "/telephony/calls/?" + query.format(loans=loans.pk, agent_102=agent_102.pk)
    assert rows(client.get(path)) == expected


def test_mine_shows_the_users_own_calls(client, agent, calls, supervisor):
    Agent.objects.filter(user=agent).update(user=supervisor)
    client.force_login(supervisor)
    assert rows(client.get("/telephony/calls/?mine=on")) == ["c1"]


def test_the_date_range_is_in_the_users_zone(client, supervisor, pbx, loans):
    # 22:30 UTC on the 23rd is 01:30 on the 24th in Moscow.
    late = abandoned_call(pbx, "late", start=int(timedelta(hours=13, minutes=30).total_seconds()))
    assert late.offered_at == datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    client.force_login(supervisor)
    assert rows(client.get("/telephony/calls/?date_from=2026-11-24&date_to=2026-11-24")) == ["late"]
    assert rows(client.get("/telephony/calls/?date_to=2026-11-23")) == []


def test_an_end_before_the_start_is_reported_and_ignored(client, supervisor, calls):
    client.force_login(supervisor)
    response = client.get("/telephony/calls/?date_from=2026-11-24&date_to=2026-11-23")
    html = response.content.decode()
    assert "The end date is before the start date." in html
    assert "Some filters were not understood and are ignored." in html
    assert rows(response) == ["c3", "c2", "c1"]


def test_sorting_by_talk_time(client, supervisor, calls):
    client.force_login(supervisor)
    Call.objects.filter(pk=calls["boris"].pk).update(talk_seconds=3725)
    response = client.get("/telephony/calls/?sort=-talk_seconds")
    # The abandoned call has no talk time: last either way, on every database.
    assert rows(response) == ["c2", "c1", "c3"]
    assert "1:02:05" in response.content.decode()
    assert rows(client.get("/telephony/calls/?sort=talk_seconds")) == ["c1", "c2", "c3"]
    assert rows(client.get("/telephony/calls/?sort=-agent")) == ["c2", "c1", "c3"]


def test_a_company_the_user_is_not_in_answers_404(client, supervisor, calls, other_company):
    client.force_login(supervisor)
    assert client.get("/telephony/calls/?company=shop").status_code == 404


def test_the_import_link_shows_for_import_roles_only(client, supervisor, agent, client_manager):
    for user, shown in ((supervisor, True), (agent, False), (client_manager, False)):
        client.force_login(user)
        html = client.get("/telephony/calls/").content.decode()
        assert ('href="/telephony/queue-log/import/"' in html) is shown, user


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_3_and_30_calls(
    client, supervisor, pbx, cards, agent_101, customer
):
    client.force_login(supervisor)
    for n in range(3):
        answered_call(pbx, f"a{n}", start=n * 600)
    with_3 = _queries_for(client, "/telephony/calls/")
    for n in range(3, 30):
        answered_call(pbx, f"a{n}", start=n * 600)
    assert Call.objects.count() == 30
    with_30 = _queries_for(client, "/telephony/calls/?sort=-offered_at")
    assert with_3 == with_30


# --- A call's page ----------------------------------------------------------------------------


def test_the_call_page_shows_every_fact(client, supervisor, calls, ticket, company):
    call = calls["anna"]
    disposition = Disposition.objects.create(company=company, code="card", label="Card unblocked")
    Call.objects.filter(pk=call.pk).update(
        ticket=ticket,
        disposition=disposition,
        notes="Unblocked after the security questions.",
        wrap_up_ended_at=call.ended_at + timedelta(seconds=45),
        wrap_up_seconds=45,
        transfer_count=1,
    )
    client.force_login(supervisor)
    response = client.get(f"/telephony/calls/{call.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    facts = dict(re.findall(r"<dt>([^<]+)</dt>\s*<dd[^>]*>(.*?)</dd>", html, re.S))
    local = '<time datetime="2026-11-23T{0}+03:00">11/23/2026 {0}</time>'
    assert facts["Offered"] == local.format("12:00:00")
    assert facts["Ringing"] == local.format("12:00:12")
    assert facts["Answered"] == local.format("12:00:17")
    assert facts["Ended"] == local.format("12:03:17")
    assert facts["Wrap-up ended"] == local.format("12:04:02")
    durations = {k: facts[k] for k in ("Queue wait", "Ring", "Talk", "Hold", "Wrap-up")}
    assert durations == {
        "Queue wait": "0:00:17",
        "Ring": "0:00:05",
        "Talk": "0:02:30",
        "Hold": "0:00:30",
        "Wrap-up": "0:00:45",
    }
    assert facts["Queue"] == "Cards"
    assert facts["Agent"] == "Anna"
    assert facts["Transfers"] == "1"
    assert facts["Disposition"] == "Card unblocked"
    assert (
        facts["Customers"]
        == f'<a href="/customers/{calls["anna"].customers.get().pk}/">Ivan Petrov</a>'
    )
    assert facts["Ticket"] == f'<a href="/tickets/{ticket.pk}/">BANK-1</a> Card blocked'
    assert "Unblocked after the security questions." in html
    # One hold span, 30 s.
    spans = html[html.index('id="hold-spans"') : html.index('id="events"')]
    assert local.format("12:01:00") in spans and local.format("12:01:30") in spans
    assert "0:00:30" in spans
    # The events in the order they happened.
    events = html[html.index('id="events"') :]
    assert re.findall(r'<td class="event-kind">([\w ]+)</td>', events) == [
        "Queued",
        "Ringing",
        "Answered",
        "On hold",
        "Off hold",
        "Hung up",
    ]
    assert "agent: 101" in events and "cause: normal" in events


def test_a_call_without_customer_or_ticket(client, supervisor, calls):
    client.force_login(supervisor)
    html = client.get(f"/telephony/calls/{calls['abandoned'].pk}/").content.decode()
    assert "No customer matched" in html
    assert "The call was never on hold." in html
    assert 'id="recording"' not in html


def test_an_agent_may_open_their_call_but_not_a_colleagues(client, agent, calls):
    client.force_login(agent)
    assert client.get(f"/telephony/calls/{calls['anna'].pk}/").status_code == 200
    assert client.get(f"/telephony/calls/{calls['boris'].pk}/").status_code == 403


def test_another_companys_call_answers_like_a_missing_one(client, outsider, calls):
    client.force_login(outsider)
    foreign = client.get(f"/telephony/calls/{calls['anna'].pk}/")
    missing = client.get("/telephony/calls/999999/")
    assert foreign.status_code == 404
    assert foreign.content == missing.content
    assert rows(client.get("/telephony/calls/")) == []


# --- Drill-down filters (a report's figure links with them) ------------------------------------


def overflowed_call(pbx, call_id="o1", start=1800):
    """Times out in cards 30 s after entering it, moves to loans, caller hangs up 40 s later."""
    for event in (
        ev(1, K.QUEUED, start, call_id, queue="cards"),
        ev(2, K.HANGUP, start + 30, call_id, queue="cards", cause=HangupCause.NO_ANSWER),
        ev(3, K.QUEUED, start + 30, call_id, queue="loans"),
        ev(4, K.HANGUP, start + 70, call_id, cause=HangupCause.CALLER_ABANDONED),
    ):
        applied = call_event_apply(connection=pbx, event=event)
    return applied.call


@pytest.fixture
def more_calls(pbx, calls, agent_101, team):
    """Beside `calls` (c1 12:00, c2 12:10, c3 12:20 Moscow time): o1 overflowed from cards to
    loans at 12:30, c4 still ringing Anna at 12:40, c5 a direct call nobody queued or answered
    (busy) at 12:50; c2 transferred. Anna is in the team."""
    agent_101.teams.add(team)
    overflowed_call(pbx)
    for event in (
        ev(1, K.QUEUED, 2400, "c4", queue="cards"),
        ev(2, K.RINGING, 2405, "c4", agent="101"),
        ev(1, K.RINGING, 3000, "c5", agent="102"),
        ev(2, K.HANGUP, 3010, "c5", cause=HangupCause.BUSY),
    ):
        call_event_apply(connection=pbx, event=event)
    Call.objects.filter(pbx_call_id="c2").update(transfer_count=1)
    return calls


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team={team}", ["c4", "c1"]),
        ("agent={agent_101}&agent={agent_102}", ["c5", "c4", "c2", "c1"]),
        ("queue={cards}&queue={loans}", ["c4", "o1", "c3", "c2", "c1"]),
        ("queued=1", ["c4", "o1", "c3", "c2", "c1"]),
        ("state=over", ["c5", "o1", "c3", "c2", "c1"]),
        ("state=open", ["c4"]),
        ("transferred=1", ["c2"]),
        ("outcome=other", ["c5"]),
        # Half-open: from 12:10 (c2 included) to 12:30 (o1 left out), in any offset.
        ("start=2026-11-23T12:10:00%2B03:00&end=2026-11-23T12:30:00%2B03:00", ["c3", "c2"]),
        ("start=2026-11-23T09:10:00Z&end=2026-11-23T10:30:00%2B01:00", ["c3", "c2"]),
        # Offered in cards: its own calls (c4 still open), and o1 that overflowed from it.
        ("visited_queue={cards}", ["c4", "o1", "c2", "c1"]),
        ("visited_queue={cards}&state=over&outcome=timeout", ["o1"]),
        ("visited_queue={cards}&outcome=answered", ["c2", "c1"]),
        ("visited_queue={loans}", ["o1", "c3"]),
        # o1 entered cards at 12:30: a range that ends then leaves its visit out.
        ("visited_queue={cards}&end=2026-11-23T12:30:00%2B03:00", ["c2", "c1"]),
    ],
)
def test_drill_down_filters(
    client, supervisor, more_calls, team, cards, loans, agent_101, agent_102, query, expected
):
    client.force_login(supervisor)
    ids = {"team": team.pk, "cards": cards.pk, "loans": loans.pk}
    ids |= {"agent_101": agent_101.pk, "agent_102": agent_102.pk}
    response = client.get("/telephony/calls/?" + query.format(**ids))
    assert "Some filters were not understood" not in response.content.decode()
    assert rows(response) == expected


def test_drill_down_filters_are_stated_and_each_can_be_removed(
    client, supervisor, more_calls, cards
):
    client.force_login(supervisor)
    query = (
        f"visited_queue={cards.pk}&start=2026-11-23T12:00:00%2B03:00"
        "&end=2026-11-23T13:00:00%2B03:00&state=over&queued=1&transferred=1&outcome=answered"
    )
    response = client.get("/telephony/calls/?" + query)
    assert rows(response) == ["c2"]
    html = response.content.decode()
    stated = unescape(html[html.index('id="call-narrowing"') :].split("</div>")[0])
    assert re.findall(r'<li data-filter="(\w+)">([^<]*) <a href="([^"]*)">Remove</a>', stated) == [
        (
            "start",
            "Offered from 11/23/2026 12:00:00",
            "/telephony/calls/?" + query.replace("&start=2026-11-23T12:00:00%2B03:00", ""),
        ),
        (
            "end",
            "Offered before 11/23/2026 13:00:00",
            "/telephony/calls/?" + query.replace("&end=2026-11-23T13:00:00%2B03:00", ""),
        ),
        (
            "state",
            "Only calls that have ended",
            "/telephony/calls/?" + query.replace("&state=over", ""),
        ),
        (
            "queued",
            "Only calls that went through a queue",
            "/telephony/calls/?" + query.replace("&queued=1", ""),
        ),
        (
            "transferred",
            "Only calls transferred after their answer",
            "/telephony/calls/?" + query.replace("&transferred=1", ""),
        ),
        (
            "visited_queue",
            "Offered in Cards, the calls that overflowed from it to another queue included "
            "(their outcome there: queue timeout)",
            "/telephony/calls/?" + query.replace(f"visited_queue={cards.pk}&", ""),
        ),
    ]
    # The filter bar keeps them when its own filters change; Clear drops them all.
    start = html.index('id="call-filters"')
    form = html[start : html.index("</form>", start)]
    for name, value in (("state", "over"), ("queued", "1"), ("visited_queue", str(cards.pk))):
        assert f'<input type="hidden" name="{name}" value="{value}"' in form
    assert 'name="transferred"' in form and 'name="end"' in form
    assert '<a href="/telephony/calls/">Clear</a>' in form
    # Without drill-down filters, nothing is stated and nothing hidden is carried.
    plain = client.get("/telephony/calls/?outcome=answered").content.decode()
    start = plain.index('id="call-filters"')
    assert 'type="hidden"' not in plain[start : plain.index("</form>", start)]
    assert 'id="call-narrowing"' not in plain


def test_several_companies_queues_and_agents_show_as_lists(
    client, supervisor, more_calls, other_company, cards, loans
):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    shop_pbx = PbxConnection.objects.create(name="Shop", company=other_company, format="native")
    abandoned_call(shop_pbx, "s1", start=3600, queue="vendite")
    client.force_login(supervisor)
    response = client.get(f"/telephony/calls/?company=bank&company=shop&queue={cards.pk}")
    assert rows(response) == ["c4", "c2", "c1"]
    html = response.content.decode()
    assert '<select name="company" id="id_company" multiple>' in html
    assert '<select name="queue" id="id_queue">' in html  # one value: a plain drop-down
    assert rows(client.get("/telephony/calls/?company=bank&company=shop")) == [
        "s1",
        "c5",
        "c4",
        "o1",
        "c3",
        "c2",
        "c1",
    ]


@pytest.mark.parametrize("field", ["queue", "visited_queue", "team", "agent"])
def test_another_companys_choice_is_an_error_and_shows_nothing_of_it(
    client, supervisor, more_calls, other_company, field
):
    shop_pbx = PbxConnection.objects.create(name="Shop", company=other_company, format="native")
    Queue.objects.create(company=other_company, name="Vendite", code="vendite")
    abandoned_call(shop_pbx, "s1", start=3600, queue="vendite")
    shop_user = make_user("carla", other_company, Role.AGENT)
    foreign = {
        "queue": Queue.objects.get(company=other_company).pk,
        "visited_queue": Queue.objects.get(company=other_company).pk,
        "team": Team.objects.create(company=other_company, name="Vendite").pk,
        "agent": Agent.objects.create(company=other_company, user=shop_user).pk,
    }[field]
    client.force_login(supervisor)
    response = client.get(f"/telephony/calls/?{field}={foreign}&state=open")
    assert response.context["filter_form"].errors == {
        field: [f"Select a valid choice. {foreign} is not one of the available choices."]
    }
    html = response.content.decode()
    assert "Some filters were not understood and are ignored." in html
    assert "s1" not in rows(response) and "Vendite" not in html
    assert client.get("/telephony/calls/?company=bank&company=shop").status_code == 404


def test_bad_instants_are_reported(client, supervisor, more_calls):
    client.force_login(supervisor)
    response = client.get("/telephony/calls/?start=yesterday")
    assert "Offered from: Enter a valid date/time." in response.content.decode()
    response = client.get(
        "/telephony/calls/?start=2026-11-23T12:00:00%2B03:00&end=2026-11-23T12:00:00%2B03:00"
    )
    assert "Offered before: The end is not after the start." in response.content.decode()
    assert rows(response) == ["c5", "c4", "o1", "c3", "c2", "c1"]


def test_an_agent_cannot_widen_their_calls_with_drill_down_filters(
    client, agent, more_calls, team, cards, agent_102
):
    client.force_login(agent)
    # Anna handled c1 and was rung for c4; team and agent are no choices of hers (ignored).
    for query in (
        "",
        f"team={team.pk}",
        f"agent={agent_102.pk}",
        f"visited_queue={cards.pk}",
        "queued=1",
    ):
        assert rows(client.get("/telephony/calls/?" + query)) == ["c4", "c1"], query
    html = client.get("/telephony/calls/").content.decode()
    assert 'name="team"' not in html and 'name="agent"' not in html


def test_drill_down_filters_cost_no_query_per_call(
    client, supervisor, pbx, cards, loans, agent_101, team, customer
):
    agent_101.teams.add(team)
    client.force_login(supervisor)
    url = (
        f"/telephony/calls/?visited_queue={cards.pk}&team={team.pk}&state=over&queued=1"
        "&start=2026-11-23T00:00:00%2B03:00&end=2026-11-24T00:00:00%2B03:00&outcome=answered"
    )
    for n in range(3):
        answered_call(pbx, f"a{n}", start=n * 600)
    with_3 = _queries_for(client, url)
    for n in range(3, 30):
        answered_call(pbx, f"a{n}", start=n * 600)
    assert len(rows(client.get(url))) == 25  # a page
    assert _queries_for(client, url) == with_3
