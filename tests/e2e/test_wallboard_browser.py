"""The wallboard moves with the simulator's calls in a real browser, without a reload, and ends
showing exactly today's figures of the queue report."""

import threading
from io import StringIO

import pytest
from django.utils import timezone

from reporting import queries
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in
from tests.e2e.test_simulator_browser import call_centre, simulate  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def board(page) -> dict[str, tuple[int, int, int]]:
    return {
        row.get_attribute("data-queue"): tuple(
            int(row.locator(f"td.{name}").inner_text())
            for name in ("offered", "answered", "abandoned")
        )
        for row in page.locator("#wallboard-queues tbody tr[data-queue]").all()
    }


def test_the_wallboard_moves_with_the_simulated_calls(
    asgi_server,
    new_page,
    call_centre,  # noqa: F811 (the fixture imported above)
    supervisor,
    company,
):
    page = new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload)))
    log_in(page, asgi_server.url, supervisor.username, PASSWORD)
    page.goto(f"{asgi_server.url}/reports/wallboard/")
    page.wait_for_selector("#wallboard-status[data-state=live]", state="attached")
    page.evaluate("window.loadedOnce = 'yes'")
    before = board(page)
    assert set(before.values()) == {(0, 0, 0)}

    out = StringIO()
    runner = threading.Thread(target=simulate, args=(asgi_server.url, out))
    runner.start()
    runner.join(timeout=90)
    assert not runner.is_alive(), out.getvalue()
    page.wait_for_timeout(1500)  # the last burst's refresh (coalesced over half a second)

    report = queries.queue_report(
        queries.ReportFilter(
            companies=(company,),
            date_from=timezone.localdate(timezone=company.zoneinfo),
            date_to=timezone.localdate(timezone=company.zoneinfo),
        )
    )
    expected = {
        str(row.queue_id): (row.figures.offered, row.figures.answered, row.figures.abandoned)
        for row in report.rows
    }
    assert sum(offered for offered, _, _ in expected.values()) > 0, out.getvalue()
    assert board(page) == expected
    # It moved on its own: several refreshes arrived, and the page was never reloaded.
    assert sum('"type": "wallboard"' in frame for frame in frames) >= 3
    assert page.evaluate("window.loadedOnce") == "yes"
