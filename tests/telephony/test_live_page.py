"""The supervisors' live page: the socket's snapshot rendered on the server, for the roles that
may watch, of their companies only."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertInHTML

from contactcenter.tenancy.models import Role
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    Extension,
    PauseReason,
    PbxConnection,
    Queue,
)
from telephony.pbx.events import CallEvent, CallEventKind, HangupCause
from telephony.services import call_event_apply
from tests.conftest import make_user

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, the bank's zone
NOW = T0 + timedelta(seconds=65)


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch):
    """The page's clock, and the one telephony.live reads to leave stale calls out, stand at
    NOW: the calls of T0 stay live whatever day the tests run."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    monkeypatch.setattr("telephony.live_views.now", lambda: NOW)


def agent_of(company, user, *extensions):
    agent = Agent.objects.create(company=company, user=user)
    for number in extensions:
        Extension.objects.create(company=company, agent=agent, number=number)
    return agent


def state(agent, state, at, reason=None, call=None):
    return AgentStateInterval.objects.create(
        company=agent.company,
        agent=agent,
        state=state,
        started_at=at,
        pause_reason=reason,
        call=call,
    )


def call_of(company, pbx_call_id, **fields):
    connection_ = PbxConnection.objects.filter(company=company).first()
    if connection_ is None:
        connection_ = PbxConnection.objects.create(name="PBX", company=company, format="native")
    return Call.objects.create(
        company=company,
        connection=connection_,
        pbx_call_id=pbx_call_id,
        **{"outcome": Call.Outcome.IN_PROGRESS, **fields},
    )


@pytest.fixture
def floor(company, other_company, agent):
    """Anna rings at 12:00 Moscow with a queued call; Boris talks on another; Carla of the shop
    is paused for lunch; one call has ended and one is stale."""
    cards = Queue.objects.create(company=company, name="Cards", code="cards")
    anna = agent_of(company, agent, "101", "102")
    boris = agent_of(company, make_user("boris", company, Role.AGENT, first_name="Boris"), "103")
    carla_user = make_user("carla", other_company, Role.AGENT, first_name="Carla")
    carla = agent_of(other_company, carla_user, "201")
    lunch = PauseReason.objects.create(company=other_company, code="lunch", label="Lunch")
    ringing = call_of(company, "c1", caller="+79161234567", queue=cards, agent=anna, offered_at=T0)
    state(anna, AgentState.RINGING, T0, call=ringing)
    # Answered and not hung up: the outcome is already "answered", the call goes on.
    talking = call_of(
        company,
        "c2",
        outcome=Call.Outcome.ANSWERED,
        caller="+79160000002",
        queue=cards,
        agent=boris,
        offered_at=T0 - timedelta(minutes=5),
        answered_at=T0 - timedelta(minutes=4),
    )
    state(boris, AgentState.ON_CALL, T0 - timedelta(minutes=4))
    waiting = call_of(other_company, "s1", caller="+390212345678", offered_at=T0)
    state(carla, AgentState.PAUSED, T0 - timedelta(hours=1, seconds=5), reason=lunch)
    Call.objects.create(
        company=company,
        connection=ringing.connection,
        pbx_call_id="c0",
        outcome=Call.Outcome.ANSWERED,
        offered_at=T0 - timedelta(hours=1),
        answered_at=T0 - timedelta(minutes=59),
        ended_at=T0 - timedelta(minutes=50),
    )
    # Its hang-up never came: after twelve hours it is a stale record, not a live call.
    call_of(company, "stale", caller="+79160000013", offered_at=T0 - timedelta(hours=13))
    return {
        "anna": anna,
        "boris": boris,
        "carla": carla,
        "ringing": ringing,
        "talking": talking,
        "waiting": waiting,
    }


def page(client, user, query=""):
    client.force_login(user)
    return client.get(f"/telephony/live/{query}")


def rows(html: str, attribute: str) -> list[str]:
    """The values of `attribute` on the rows, in page order."""
    return re.findall(rf'<tr {attribute}="(\d+)"', html)


def test_a_supervisor_sees_the_agents_states_and_the_calls_in_progress(client, floor, supervisor):
    response = page(client, supervisor)
    assert response.status_code == 200
    html = response.content.decode()
    anna, boris = floor["anna"], floor["boris"]
    assertInHTML(
        f"""<tr data-agent-id="{anna.pk}" data-company="Bank" data-state="ringing">
          <td class="agent-name">Anna</td>
          <td class="agent-company">Bank</td>
          <td class="agent-extensions">101, 102</td>
          <td class="agent-state"><span class="state state-ringing">Ringing</span></td>
          <td class="agent-elapsed"><time class="elapsed" datetime="2026-11-23T09:00:00+00:00"
            title="since 11/23/2026 12:00:00">0:01:05</time></td>
        </tr>""",
        html,
    )
    assertInHTML(
        f"""<tr data-agent-id="{boris.pk}" data-company="Bank" data-state="on_call">
          <td class="agent-name">Boris</td>
          <td class="agent-company">Bank</td>
          <td class="agent-extensions">103</td>
          <td class="agent-state"><span class="state state-on_call">On call</span></td>
          <td class="agent-elapsed"><time class="elapsed" datetime="2026-11-23T08:56:00+00:00"
            title="since 11/23/2026 11:56:00">0:05:05</time></td>
        </tr>""",
        html,
    )
    assertInHTML(
        f"""<tr data-call-id="{floor["ringing"].pk}" data-company="Bank" data-state="ringing">
          <td class="call-company">Bank</td>
          <td class="call-caller">+79161234567</td>
          <td class="call-queue">Cards</td>
          <td class="call-agent">Anna</td>
          <td class="call-state"><span class="state call-ringing">Ringing</span></td>
          <td class="call-elapsed"><time class="elapsed" datetime="2026-11-23T09:00:00+00:00"
            title="since 11/23/2026 12:00:00">0:01:05</time></td>
        </tr>""",
        html,
    )
    # Talking time runs from the answer, not from the queue entry.
    assertInHTML(
        f"""<tr data-call-id="{floor["talking"].pk}" data-company="Bank" data-state="talking">
          <td class="call-company">Bank</td>
          <td class="call-caller">+79160000002</td>
          <td class="call-queue">Cards</td>
          <td class="call-agent">Boris</td>
          <td class="call-state"><span class="state call-talking">Talking</span></td>
          <td class="call-elapsed"><time class="elapsed" datetime="2026-11-23T08:56:00+00:00"
            title="since 11/23/2026 11:56:00">0:05:05</time></td>
        </tr>""",
        html,
    )
    # The supervisor is the bank's only: nothing of the shop, and the ended call is gone.
    assert rows(html, "data-agent-id") == [str(anna.pk), str(boris.pk)]
    assert rows(html, "data-call-id") == [str(floor["talking"].pk), str(floor["ringing"].pk)]
    assert "Carla" not in html and "+390212345678" not in html
    counts = {
        "available": 0,
        "ringing": 1,
        "on_call": 1,
        "wrap_up": 0,
        "paused": 0,
        "offline": 0,
    }
    for code, count in counts.items():
        label = dict(AgentState.choices)[code]
        assertInHTML(
            f'<li data-state="{code}" class="count-{code}"><span class="state-label">{label}'
            f'</span> <strong class="count">{count}</strong></li>',
            html,
        )
    assertInHTML(
        '<p id="live-status" class="live-status" data-state="snapshot" role="status" '
        'aria-live="polite">As of 12:01:05</p>',
        html,
    )
    # One company only: no filter to choose from.
    assert 'id="live-filter"' not in html
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_the_script_gets_the_socket_the_filter_and_translated_strings(client, floor, supervisor):
    html = page(client, supervisor).content.decode()
    start = html.index('<script id="live-config" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    assert json.loads(body) == {
        "socket": "/ws/live/",
        "company": "",
        "noState": "offline",
        "states": {
            "available": "Available",
            "ringing": "Ringing",
            "on_call": "On call",
            "wrap_up": "Wrap-up",
            "paused": "Paused",
            "offline": "Offline",
        },
        "callStates": {"waiting": "Waiting", "ringing": "Ringing", "talking": "Talking"},
        "status": {
            "connecting": "Connecting…",
            "live": "Live: updates as they happen",
            "reconnecting": "Reconnecting…",
            "closed": "Live updates stopped: reload the page.",
        },
    }
    assert '<script src="/static/js/live.js" defer></script>' in html


def test_a_call_from_the_pbx_is_listed_from_the_queue_to_the_hang_up(
    client, company, agent, supervisor
):
    connection_ = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    Queue.objects.create(company=company, name="Cards", code="cards")
    anna = agent_of(company, agent, "101")

    def apply(n: int, kind: CallEventKind, seconds: int, **fields):
        event = CallEvent(
            kind=kind,
            call_id="c1",
            event_id=f"e{n}",
            occurred_at=T0 + timedelta(seconds=seconds),
            caller="+79161234567",
            **fields,
        )
        call_event_apply(connection=connection_, event=event)

    apply(1, CallEventKind.QUEUED, 0, queue="cards")
    call = Call.objects.get()
    html = page(client, supervisor).content.decode()
    assert re.findall(r'<tr data-call-id="\d+" data-company="Bank" data-state="(\w+)"', html) == [
        "waiting"
    ]
    apply(2, CallEventKind.RINGING, 10, agent="101")
    apply(3, CallEventKind.ANSWERED, 15, agent="101")
    html = page(client, supervisor).content.decode()
    assertInHTML(
        f"""<tr data-call-id="{call.pk}" data-company="Bank" data-state="talking">
          <td class="call-company">Bank</td>
          <td class="call-caller">+79161234567</td>
          <td class="call-queue">Cards</td>
          <td class="call-agent">Anna</td>
          <td class="call-state"><span class="state call-talking">Talking</span></td>
          <td class="call-elapsed"><time class="elapsed" datetime="2026-11-23T09:00:15+00:00"
            title="since 11/23/2026 12:00:15">0:00:50</time></td>
        </tr>""",
        html,
    )
    assert f'<tr data-agent-id="{anna.pk}" data-company="Bank" data-state="on_call">' in html
    apply(4, CallEventKind.HANGUP, 40, cause=HangupCause.NORMAL)
    html = page(client, supervisor).content.decode()
    assert rows(html, "data-call-id") == []
    assertInHTML('<p id="live-calls-empty" class="live-empty">No calls in progress.</p>', html)


def test_a_pause_reason_a_waiting_call_and_an_agent_never_logged_in(
    client, floor, other_company, company
):
    boss = make_user("boss", other_company, Role.SUPERVISOR)
    dario = agent_of(
        other_company, make_user("dario", other_company, Role.AGENT, first_name="Dario"), "202"
    )
    html = page(client, boss).content.decode()
    assertInHTML(
        f"""<tr data-agent-id="{floor["carla"].pk}" data-company="Shop" data-state="paused">
          <td class="agent-name">Carla</td>
          <td class="agent-company">Shop</td>
          <td class="agent-extensions">201</td>
          <td class="agent-state"><span class="state state-paused">Paused</span>
            <span class="pause-reason">Lunch</span></td>
          <td class="agent-elapsed"><time class="elapsed" datetime="2026-11-23T07:59:55+00:00"
            title="since 11/23/2026 08:59:55">1:01:10</time></td>
        </tr>""",
        html,
    )
    assertInHTML(
        f"""<tr data-agent-id="{dario.pk}" data-company="Shop" data-state="offline">
          <td class="agent-name">Dario</td>
          <td class="agent-company">Shop</td>
          <td class="agent-extensions">202</td>
          <td class="agent-state"><span class="state state-offline">Offline</span></td>
          <td class="agent-elapsed"><time class="elapsed">—</time></td>
        </tr>""",
        html,
    )
    # Rome's time for the shop's supervisor; no agent yet: waiting, not ringing.
    assertInHTML(
        f"""<tr data-call-id="{floor["waiting"].pk}" data-company="Shop" data-state="waiting">
          <td class="call-company">Shop</td>
          <td class="call-caller">+390212345678</td>
          <td class="call-queue">—</td>
          <td class="call-agent">—</td>
          <td class="call-state"><span class="state call-waiting">Waiting</span></td>
          <td class="call-elapsed"><time class="elapsed" datetime="2026-11-23T09:00:00+00:00"
            title="since 11/23/2026 10:00:00">0:01:05</time></td>
        </tr>""",
        html,
    )
    assert rows(html, "data-agent-id") == [str(floor["carla"].pk), str(dario.pk)]
    assert "Anna" not in html and "+79161234567" not in html
    assertInHTML(
        '<li data-state="offline" class="count-offline"><span class="state-label">Offline'
        '</span> <strong class="count">1</strong></li>',
        html,
    )
    assertInHTML(
        '<li data-state="paused" class="count-paused"><span class="state-label">Paused'
        '</span> <strong class="count">1</strong></li>',
        html,
    )


def test_a_client_manager_sees_only_the_companies_they_manage(
    client, floor, company, other_company, client_manager
):
    html = page(client, client_manager).content.decode()
    assert rows(html, "data-agent-id") == [str(floor["anna"].pk), str(floor["boris"].pk)]
    assert rows(html, "data-call-id") == [str(floor["talking"].pk), str(floor["ringing"].pk)]
    assert "Carla" not in html and "Shop" not in html


def test_the_company_filter_narrows_a_user_of_several_companies(
    client, floor, company, other_company
):
    from contactcenter.tenancy.models import Membership

    both = make_user("both", company, Role.SUPERVISOR)
    Membership.objects.create(user=both, company=other_company, role=Role.CLIENT_MANAGER)
    html = page(client, both).content.decode()
    assert rows(html, "data-agent-id") == [
        str(floor["anna"].pk),
        str(floor["boris"].pk),
        str(floor["carla"].pk),
    ]
    assert len(rows(html, "data-call-id")) == 3
    assertInHTML(
        """<select name="company" id="live-company">
          <option value="">All companies</option>
          <option value="bank">Bank</option>
          <option value="shop">Shop</option>
        </select>""",
        html,
    )
    html = page(client, both, "?company=shop").content.decode()
    assert rows(html, "data-agent-id") == [str(floor["carla"].pk)]
    assert rows(html, "data-call-id") == [str(floor["waiting"].pk)]
    assertInHTML('<option value="shop" selected>Shop</option>', html)
    assert '"company": "Shop"' in html  # the script filters the socket's messages by name


def test_an_agent_is_refused(client, floor, agent):
    response = page(client, agent)
    assert response.status_code == 403
    assert b"Anna" not in response.content


def test_a_company_where_the_user_is_only_an_agent_is_refused(
    client, floor, company, other_company
):
    from contactcenter.tenancy.models import Membership

    mixed = make_user("mixed", company, Role.SUPERVISOR)
    Membership.objects.create(user=mixed, company=other_company, role=Role.AGENT)
    assert page(client, mixed, "?company=shop").status_code == 403
    assert page(client, mixed, "?company=bank").status_code == 200


def test_an_outsider_gets_404_for_the_company_and_sees_only_their_own(client, floor, outsider):
    foreign = page(client, outsider, "?company=bank")
    missing = page(client, outsider, "?company=no-such-company")
    assert (foreign.status_code, foreign.content) == (404, missing.content)
    html = page(client, outsider).content.decode()
    assert rows(html, "data-agent-id") == [str(floor["carla"].pk)]
    assert "Anna" not in html and "+79161234567" not in html


def test_a_user_of_no_company_gets_404(client, db, django_user_model):
    nobody = django_user_model.objects.create_user(username="nobody", password="x")
    assert page(client, nobody).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get("/telephony/live/")
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/telephony/live/",
    )


def test_the_nav_links_the_page_for_the_roles_that_may_watch(client, floor, supervisor, agent):
    link = '<a href="/telephony/live/">Live</a>'
    client.force_login(supervisor)
    assert link in client.get("/telephony/calls/").content.decode()
    client.force_login(agent)
    assert link not in client.get("/telephony/calls/").content.decode()


def _floor_of(company, size: int) -> None:
    queue = Queue.objects.create(company=company, name=f"Q{size}", code=f"q{size}")
    reason = PauseReason.objects.create(company=company, code=f"break{size}", label="Break")
    for n in range(size):
        user = make_user(f"a{size}_{n}", company, Role.AGENT, first_name=f"A{n}")
        agent = agent_of(company, user, f"{size}{n:03d}", f"9{size}{n:03d}")
        if n % 3 == 0:
            state(agent, AgentState.PAUSED, T0, reason=reason)
        elif n % 3 == 1:
            state(agent, AgentState.ON_CALL, T0)
            call_of(
                company,
                f"{size}-{n}",
                caller="+79161234567",
                queue=queue,
                agent=agent,
                outcome=Call.Outcome.ANSWERED,
                offered_at=T0,
                answered_at=T0,
            )


def _queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/telephony/live/").status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_agents(
    client, company, other_company, supervisor, outsider
):
    _floor_of(company, 3)
    _floor_of(other_company, 30)
    few = _queries(client, supervisor)
    many = _queries(client, outsider)
    assert few == many
    html = client.get("/telephony/live/").content.decode()
    assert len(rows(html, "data-agent-id")) == 30
    assert len(rows(html, "data-call-id")) == 10
