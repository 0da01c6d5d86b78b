"""End to end, in Chromium: a PBX posts a ringing event over HTTP and the caller's card appears
on the ringing agent's open workspace without a reload; a colleague and an agent of another
company with the same extension number receive nothing; a dropped connection comes back."""

import json
import time
import urllib.request

import pytest

from contactcenter.tenancy.models import Role
from telephony.models import Agent, Extension, PbxConnection
from telephony.pbx import native
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

CARD = "#call-card article.call-card"


def post_event(base_url: str, connection: PbxConnection, **event) -> dict:
    body = json.dumps(event).encode()
    request = urllib.request.Request(
        f"{base_url}/telephony/webhooks/{connection.key}/",
        data=body,
        headers={
            "Content-Type": "application/json",
            **native.sign(connection.secret, body, int(time.time())),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def ringing(event_id: str, call_id: str, extension: str) -> dict:
    return {
        "event_id": event_id,
        "call_id": call_id,
        "type": "ringing",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "caller": "8 (916) 123-45-67",
        "queue": "cards",
        "agent": extension,
    }


@pytest.fixture
def phones(company, other_company, agent, customer):
    connection = PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", secret="s3cret"
    )
    people = {"anna": agent}
    people["boris"] = make_user("boris", company, Role.AGENT)
    people["stranger"] = make_user("stranger", other_company, Role.AGENT)
    for name, extension_company, number in (
        ("anna", company, "101"),
        ("boris", company, "102"),
        ("stranger", other_company, "101"),
    ):
        row = Agent.objects.create(company=extension_company, user=people[name])
        Extension.objects.create(company=extension_company, agent=row, number=number)
    return connection, people


def open_workspace(new_page, server, user):
    page = new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
    log_in(page, server.url, user.username, PASSWORD)
    page.goto(f"{server.url}/telephony/workspace/")
    page.wait_for_selector("#ws-status[data-state=open]", state="attached")
    return page, frames


def test_the_ringing_agent_alone_sees_the_callers_card_live(asgi_server, new_page, phones):
    connection, people = phones
    anna, anna_frames = open_workspace(new_page, asgi_server, people["anna"])
    boris, boris_frames = open_workspace(new_page, asgi_server, people["boris"])
    stranger, stranger_frames = open_workspace(new_page, asgi_server, people["stranger"])
    anna.evaluate("window.loadedOnce = 'yes'")
    assert anna.locator(CARD).count() == 0

    answer = post_event(asgi_server.url, connection, **ringing("e1", "call-1", "101"))
    assert answer == {"applied": 1, "duplicates": 0}

    card = anna.locator(CARD)
    card.wait_for()
    assert "Ivan Petrov" in card.inner_text()
    assert "+79161234567" in card.inner_text()
    assert anna.evaluate("window.loadedOnce") == "yes"  # the same page: no reload
    assert anna.locator("#agent-state").get_attribute("data-state") == "ringing"
    assert len([f for f in anna_frames if '"call-1"' in f]) == 1

    time.sleep(0.5)  # time enough for a misdirected push to arrive
    for page, frames in ((boris, boris_frames), (stranger, stranger_frames)):
        assert page.locator(CARD).count() == 0
        assert [f for f in frames if "call-1" in f or "Petrov" in f] == []


def test_the_workspace_reconnects_by_itself_and_gets_the_next_call(asgi_server, new_page, phones):
    connection, people = phones
    anna, _ = open_workspace(new_page, asgi_server, people["anna"])
    asgi_server.stop()
    anna.wait_for_selector("#ws-status[data-state=reconnecting]")
    asgi_server.start()
    anna.wait_for_selector("#ws-status[data-state=open]", state="attached", timeout=20_000)
    post_event(asgi_server.url, connection, **ringing("e2", "call-2", "101"))
    anna.locator(CARD).wait_for()
    assert "Ivan Petrov" in anna.locator(CARD).inner_text()


def test_who_is_calling_shows_before_the_event_is_applied_then_the_card(
    asgi_server, new_page, phones, settings
):
    from telephony import applier

    settings.PBX_APPLY_IN_WORKER = True  # stored and answered; the applier runs when told below
    connection, people = phones
    anna, _ = open_workspace(new_page, asgi_server, people["anna"])
    boris, boris_frames = open_workspace(new_page, asgi_server, people["boris"])

    answer = post_event(asgi_server.url, connection, **ringing("e3", "call-3", "101"))
    assert answer == {"accepted": 1}

    notice = anna.locator(f"{CARD}.ringing-notice")
    notice.wait_for()
    assert notice.get_attribute("data-pbx-call-id") == "call-3"
    text = notice.inner_text()
    assert "8 (916) 123-45-67" in text and "+79161234567" in text
    assert notice.locator("a", has_text="Ivan Petrov").count() == 1

    assert asgi_server.run_sync(applier.apply_pending) == 1
    anna.locator(f"{CARD}[data-call-id]").wait_for()
    assert anna.locator(".ringing-notice").count() == 0
    assert "Ivan Petrov" in anna.locator(CARD).inner_text()

    time.sleep(0.5)
    assert boris.locator(CARD).count() == 0
    assert [f for f in boris_frames if "call-3" in f or "Petrov" in f] == []
