"""The ticket report's page and API, on the tickets of tests/reporting/test_kpi_tickets.py."""

import csv
import io

from tests.reporting.conftest import DAY
from tests.reporting.test_kpi_tickets import tickets  # noqa: F401 (a fixture)

PARAMS = {"company": "bank", "date_from": DAY.isoformat(), "date_to": DAY.isoformat()}


def test_the_page_shows_tickets_by_channel_then_by_tier(client, supervisor, tickets):  # noqa: F811
    client.force_login(supervisor)
    page = client.get("/reports/tickets/", PARAMS)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="tab-tickets"' in html
    assert 'id="report-groups"' in html
    # The same figures as the report (created 9, resolved 8, backlog 4 on the 16th), exported.
    export = client.get("/reports/tickets/", {**PARAMS, "export": "csv"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    header = next(row for row in rows if row and row[0] == "Channel")
    phone = next(row for row in rows if row and row[0] == "Phone")
    total = rows[-1]
    created, resolved, backlog = (
        header.index("Created"),
        header.index("Resolved"),
        header.index("Backlog at the end"),
    )
    assert (phone[created], phone[resolved], phone[backlog]) == ("4", "3", "2")
    assert (total[created], total[resolved], total[backlog]) == ("9", "8", "4")
    by_tier = client.get("/reports/tickets/", {**PARAMS, "group": "tier", "export": "csv"})
    tier_rows = list(csv.reader(io.StringIO(by_tier.content.decode("utf-8-sig"))))
    assert any(row and row[0] == "Support tier" for row in tier_rows)
    assert not any(row and row[0] == "Channel" for row in tier_rows)


def test_the_api_answers_both_groupings_with_their_parts(client, supervisor, tickets):  # noqa: F811
    client.force_login(supervisor)
    answer = client.get("/api/reports/tickets/", PARAMS)
    assert answer.status_code == 200
    data = answer.json()
    assert data["report"] == "tickets"
    assert (data["total"]["created"], data["total"]["resolved"], data["total"]["backlog"]) == (
        9,
        8,
        4,
    )
    assert {row["channel"] for row in data["by_channel"]} >= {"phone", "email", "web"}
    assert [note["label"] for note in data["notes"]][:1] == ["Period"]


def test_queue_filters_are_refused_and_roles_apply(client, supervisor, agent, outsider, tickets):  # noqa: F811
    client.force_login(supervisor)
    refused = client.get("/api/reports/tickets/", {**PARAMS, "direction": "inbound"})
    assert refused.status_code == 400
    assert "do not apply to tickets" in str(refused.json())
    client.force_login(agent)
    assert client.get("/reports/tickets/", PARAMS).status_code == 403
    client.force_login(outsider)
    assert client.get("/reports/tickets/", PARAMS).status_code == 404
    assert client.get("/api/reports/tickets/", PARAMS).status_code == 404
