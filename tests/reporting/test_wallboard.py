"""The live wallboard: its snapshot (exact figures), the page, and the socket that coalesces
bursts of changes into one refresh and shows each viewer only their companies."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from contactcenter.routing import websocket_urlpatterns
from contactcenter.tenancy.models import Role
from reporting.wallboard import wallboard_snapshot
from telephony.models import (
    Agent,
    AgentState,
    AgentStateInterval,
    Call,
    Extension,
    PbxConnection,
    Queue,
)
from telephony.pbx.events import CallEvent, CallEventKind
from telephony.services import call_event_apply
from tests.conftest import make_user

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 15:00 in Moscow


def call(pbx, queue, n, offered, *, outcome, wait, answered=True, ended=True):
    answered_at = offered + timedelta(seconds=wait) if answered else None
    return Call.objects.create(
        company=pbx.company,
        connection=pbx,
        pbx_call_id=f"c{n}",
        queue=queue,
        outcome=outcome,
        offered_at=offered,
        answered_at=answered_at,
        ended_at=(answered_at or offered + timedelta(seconds=wait)) + timedelta(seconds=90)
        if ended
        else None,
        queue_wait_seconds=wait if ended or answered else None,
        talk_seconds=90 if answered and ended else None,
    )


@pytest.fixture
def centre(company, other_company, agent):
    pbx = PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    cards = Queue.objects.create(
        company=company, name="Cards", code="cards", service_level_seconds=20
    )
    loans = Queue.objects.create(company=company, name="Loans", code="loans")
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    call(pbx, cards, 1, at, outcome="answered", wait=10)  # within 20 s
    call(pbx, cards, 2, at + timedelta(minutes=10), outcome="answered", wait=30)
    call(pbx, cards, 3, at + timedelta(minutes=20), outcome="abandoned", wait=40, answered=False)
    call(pbx, cards, 4, at + timedelta(minutes=30), outcome="short_abandon", wait=3, answered=False)
    # Waiting now, for 30 s: on the board, not yet in today's figures (open calls never are).
    call(
        pbx,
        cards,
        5,
        NOW - timedelta(seconds=30),
        outcome="in_progress",
        wait=0,
        answered=False,
        ended=False,
    )
    # 23:00 in Moscow yesterday: not today's; 00:30 in Moscow today: today's.
    call(pbx, cards, 6, datetime(2026, 11, 22, 20, 0, tzinfo=UTC), outcome="answered", wait=5)
    call(pbx, loans, 7, datetime(2026, 11, 22, 21, 30, tzinfo=UTC), outcome="answered", wait=5)
    anna = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=anna, number="101")
    boris = Agent.objects.create(company=company, user=make_user("boris", company, Role.AGENT))
    Agent.objects.create(company=company, user=make_user("carl", company, Role.AGENT))
    for who, state in ((anna, AgentState.AVAILABLE), (boris, AgentState.ON_CALL)):
        AgentStateInterval.objects.create(
            company=company, agent=who, state=state, started_at=NOW - timedelta(minutes=5)
        )
    shop_pbx = PbxConnection.objects.create(name="Shop PBX", company=other_company, format="native")
    shop_queue = Queue.objects.create(company=other_company, name="Orders", code="orders")
    call(
        shop_pbx,
        shop_queue,
        8,
        NOW - timedelta(seconds=50),
        outcome="in_progress",
        wait=0,
        answered=False,
        ended=False,
    )
    return {"pbx": pbx, "cards": cards, "loans": loans, "anna": anna}


def test_the_snapshot_counts_exactly_todays_calls_in_the_companys_day(centre, company):
    snapshot = wallboard_snapshot([company.pk], now=NOW)
    cards, loans = snapshot["queues"]
    assert {
        k: cards[k]
        for k in ("name", "waiting", "longest_wait_seconds", "offered", "answered", "abandoned")
    } == {
        "name": "Cards",
        "waiting": 1,
        "longest_wait_seconds": 30,
        # c1, c2, c3, c4 (c5 is still open, c6 was yesterday in Moscow)
        "offered": 4,
        "answered": 2,
        "abandoned": 1,  # the short abandon (3 s) is not an abandon
    }
    # answered within 20 s (c1) / (answered (2) + abandoned after 20 s (c3)) = 1/3
    assert cards["service_level"] == pytest.approx(1 / 3)
    assert (loans["offered"], loans["answered"], loans["waiting"], loans["service_level"]) == (
        1,
        1,
        0,
        1.0,
    )
    assert snapshot["companies"] == [
        {
            "id": company.pk,
            "name": "Bank",
            "agents": {
                "available": 1,
                "ringing": 0,
                "on_call": 1,
                "wrap_up": 0,
                "paused": 0,
                "offline": 1,  # carl never logged in
            },
        }
    ]


def test_the_page_shows_the_board_and_a_wall_display_mode(client, centre, supervisor):
    client.force_login(supervisor)
    page = client.get("/reports/wallboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-queue="{centre["cards"].pk}"' in html
    assert 'id="wallboard-fullscreen"' in html
    assert "app-nav" in html
    wall = client.get("/reports/wallboard/?fullscreen=1")
    assert wall.status_code == 200
    assert "wallboard-full" in wall.content.decode()
    assert "app-nav" not in wall.content.decode()  # no site chrome on the wall


def test_agents_may_not_watch_and_other_companies_are_404(client, centre, agent, outsider):
    client.force_login(agent)
    assert client.get("/reports/wallboard/").status_code == 403
    client.force_login(outsider)
    assert client.get("/reports/wallboard/?company=bank").status_code == 404


# --- the socket ----------------------------------------------------------------------------------


async def connect(user, path="/ws/wallboard/"):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


def queued(n: int) -> CallEvent:
    return CallEvent(
        kind=CallEventKind.QUEUED,
        call_id=f"live-{n}",
        event_id=f"live-e{n}",
        occurred_at=timezone.now(),
        caller="+79161234567",
        queue="cards",
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_burst_of_changes_makes_one_refresh_and_other_companies_hear_nothing(
    centre, supervisor, other_company
):
    # The socket counts at the real time, so the fixture's waiting call must be waiting now.
    await Call.objects.filter(pbx_call_id="c5").aupdate(
        offered_at=timezone.now() - timedelta(seconds=30)
    )
    board, connected, _ = await connect(supervisor)
    assert connected
    first = await board.receive_json_from(timeout=3)
    assert (first["type"], [q["name"] for q in first["queues"]]) == (
        "wallboard",
        ["Cards", "Loans"],
    )
    assert first["queues"][0]["waiting"] == 1
    shop_boss = await sync_to_async(make_user)("shop_boss", other_company, Role.SUPERVISOR)
    shop, connected, _ = await connect(shop_boss)
    assert connected
    shop_first = await shop.receive_json_from(timeout=3)
    assert [q["name"] for q in shop_first["queues"]] == ["Orders"]

    for n in range(5):
        await sync_to_async(call_event_apply)(connection=centre["pbx"], event=queued(n))
    update = await board.receive_json_from(timeout=3)
    # Five calls queued within the window: one refresh shows them all waiting.
    assert update["type"] == "wallboard"
    assert update["queues"][0]["waiting"] == 6  # c5 and the five new calls
    assert await board.receive_nothing(timeout=0.8)
    assert await shop.receive_nothing(timeout=0.3)
    await board.disconnect()
    await shop.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_socket_refuses_whom_the_page_refuses(centre, agent, outsider, supervisor):
    from django.contrib.auth.models import AnonymousUser

    assert (await connect(agent))[1:] == (False, 4403)
    assert (await connect(AnonymousUser()))[1:] == (False, 4401)
    assert (await connect(outsider, "/ws/wallboard/?company=bank"))[1:] == (False, 4404)
    board, connected, _ = await connect(supervisor, "/ws/wallboard/?company=bank")
    assert connected
    assert [q["name"] for q in (await board.receive_json_from(timeout=3))["queues"]] == [
        "Cards",
        "Loans",
    ]
    await board.disconnect()
    await asyncio.sleep(0)


def test_each_queue_counts_the_agents_who_may_take_its_calls(centre, company):
    from contactcenter.tenancy.models import Skill
    from telephony.models import AgentSkill

    mortgages = Skill.objects.create(company=company, name="Mortgages")
    centre["loans"].skills.add(mortgages)
    boris = Agent.objects.get(user__username="boris")
    AgentSkill.objects.create(agent=boris, skill=mortgages, level=7)
    cards, loans = wallboard_snapshot([company.pk], now=NOW)["queues"]
    # Cards asks no skill: Anna (available), Boris (on a call) and Carl (never logged in).
    assert cards["agents"] == {
        "available": 1,
        "ringing": 0,
        "on_call": 1,
        "wrap_up": 0,
        "paused": 0,
        "offline": 1,
    }
    # Loans asks for mortgages: only Boris holds it.
    assert loans["agents"] == {
        "available": 0,
        "ringing": 0,
        "on_call": 1,
        "wrap_up": 0,
        "paused": 0,
        "offline": 0,
    }
