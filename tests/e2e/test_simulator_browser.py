"""The simulator's calls, posted over HTTP to the real server, pop up live on the screens of the
agents they ring, and only there."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections

from contactcenter.tenancy.models import Role
from telephony.models import Agent, CallEventRecord, Extension, InboundRequest, PbxConnection, Queue
from tests.conftest import make_user
from tests.e2e.test_screen_pop_browser import open_workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def call_centre(company, agent):
    PbxConnection.objects.create(name="Bank PBX", company=company, format="native")
    Queue.objects.create(company=company, name="Cards", code="cards", max_wrap_up_seconds=20)
    people = {"101": agent, "102": make_user("boris", company, Role.AGENT)}
    for number, user in people.items():
        row = Agent.objects.create(company=company, user=user)
        Extension.objects.create(company=company, agent=row, number=number)
    return people


def simulate(url: str, out: StringIO) -> None:
    try:
        call_command(
            "simulate_pbx",
            "--url", url,
            "--company", "bank",
            "--rate", "40",
            "--speed", "20",
            "--duration", "6",
            "--seed", "7",
            "--wait", "10",
            stdout=out,
            stderr=out,
        )  # fmt: skip
    finally:
        connections.close_all()


def cards_on(page) -> set[int]:
    return {
        int(card.get_attribute("data-call-id"))
        for card in page.locator("#call-card article.call-card").all()
    }


def test_simulated_calls_show_up_on_the_screen_of_the_agent_they_ring(
    asgi_server, new_page, call_centre
):
    pages = {}
    for number, user in call_centre.items():
        page, _ = open_workspace(new_page, asgi_server, user)
        seen: set[int] = set()
        # Every card the page shows, as it shows it: the page keeps only the current call's.
        page.expose_function("cardShown", lambda call_id, seen=seen: seen.add(int(call_id)))
        page.evaluate(
            """() => new MutationObserver(() => {
                 for (const card of document.querySelectorAll('#call-card article.call-card')) {
                   window.cardShown(card.dataset.callId);
                 }
               }).observe(document.getElementById('call-card'), {childList: true, subtree: true})"""
        )
        pages[number] = (page, seen)

    out = StringIO()
    runner = threading.Thread(target=simulate, args=(asgi_server.url, out))
    runner.start()
    runner.join(timeout=90)
    assert not runner.is_alive(), out.getvalue()
    for page, _ in pages.values():
        page.wait_for_timeout(500)  # the last pushes and card fetches land

    assert InboundRequest.objects.exclude(status="applied").count() == 0, out.getvalue()
    for number, (_, seen) in pages.items():
        rung_here = set(
            CallEventRecord.objects.filter(kind="ringing", data__agent=number).values_list(
                "call_id", flat=True
            )
        )
        assert rung_here, f"the simulation rang nobody at {number}: {out.getvalue()}"
        # Each agent saw the card of every call that rang at them, and of no other.
        assert seen == rung_here
