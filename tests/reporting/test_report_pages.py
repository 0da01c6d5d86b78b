"""The report pages over the synthetic day of conftest.py: the figures as the page shows them
(hand-computed there and in test_kpi_queues.py / test_kpi_agents.py / test_kpi_intervals.py,
then formatted: durations rounded to the second as h:mm:ss, ratios as percentages with one
decimal), the exports, the drill-down links and where they lead, the filters, and who may see
what."""

import io
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from contactcenter.tenancy.models import Company, Membership, Role
from telephony.models import Agent, Queue
from telephony.presence import agent_state_set
from tests.conftest import make_user
from tests.reporting.conftest import at

QUEUES, AGENTS, INTERVALS, COMPANIES = (
    "/reports/queues/",
    "/reports/agents/",
    "/reports/intervals/",
    "/reports/companies/",
)
DAY = {"date_from": "2026-11-16", "date_to": "2026-11-16"}
CALLS = "/telephony/calls/"

QUEUE_KEYS = [
    "queue",
    "threshold",
    "short_abandon_threshold",
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "timeouts",
    "exits_key",
    "exits_empty",
    "other_outcomes",
    "transferred",
    "open_calls",
    "asa",
    "average_wait",
    "longest_wait",
    "service_level",
    "abandonment_rate",
    "average_ring",
    "average_talk",
    "average_hold",
    "average_wrap_up",
    "aht",
]
FIGURE_KEYS = QUEUE_KEYS[3:]
INTERVAL_KEYS = [
    "interval",
    "offered",
    "answered",
    "abandoned",
    "short_abandons",
    "service_level",
    "asa",
    "abandonment_rate",
    "aht",
]
AGENT_KEYS = [
    "agent",
    "handled",
    "average_talk",
    "average_hold",
    "average_wrap_up",
    "aht",
    "ring_no_answer",
    "logged_in",
    "available",
    "ringing",
    "on_call",
    "wrap_up",
    "paused",
    "offline",
    "pause:break",
    "occupancy",
    "calls_per_hour",
]


class _TableRows(HTMLParser):
    """The report table's rows by their data-row: each cell's text and link (or None)."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, list[tuple[str, str | None]]] = {}
        self.order: list[str] = []
        self.in_table = False
        self.row = None
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "report-table":
            self.in_table = True
        elif self.in_table and tag == "tr" and "data-row" in attrs:
            self.row = self.rows.setdefault(attrs["data-row"], [])
            self.order.append(attrs["data-row"])
        elif self.row is not None and tag == "td":
            self.cell = ["", None]
        elif self.cell is not None and tag == "a":
            self.cell[1] = attrs["href"]

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append((self.cell[0].strip(), self.cell[1]))
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag == "table":
            self.in_table = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data


def table_rows(response) -> _TableRows:
    parser = _TableRows()
    parser.feed(response.content.decode())
    return parser


def texts(row, keys) -> dict[str, str]:
    return dict(zip(keys, (text for text, _link in row), strict=True))


def links(row, keys) -> dict[str, str]:
    return {key: link for key, (_text, link) in zip(keys, row, strict=True) if link}


def listed_calls(client, url) -> list[str]:
    """The PBX call ids the call log lists at a drill-down link."""
    response = client.get(url)
    assert response.status_code == 200
    assertNotContains(response, "Some filters were not understood")
    return sorted(call.pbx_call_id for call in response.context["table"].data)


# --- queues -------------------------------------------------------------------------------------


def test_queue_page_shows_the_days_figures(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY)
    assert response.status_code == 200
    rows = table_rows(response)
    cards, loans = synthetic_day.cards.pk, synthetic_day.loans.pk
    assert rows.order == [f"queue-{cards}", f"queue-{loans}", "total"]
    assert texts(rows.rows[f"queue-{cards}"], QUEUE_KEYS) == {
        "queue": "Cards",
        "threshold": "20",
        "short_abandon_threshold": "5",
        "offered": "7",
        "answered": "3",
        "abandoned": "2",
        "short_abandons": "1",
        "timeouts": "1",
        "exits_key": "0",
        "exits_empty": "0",
        "other_outcomes": "0",
        "transferred": "1",
        "open_calls": "2",
        "asa": "0:00:16",  # 49 / 3 = 16.3
        "average_wait": "0:00:33",  # 228 / 7 = 32.6
        "longest_wait": "0:02:00",
        "service_level": "50.0 %",  # 2 / (3 + 1)
        "abandonment_rate": "33.3 %",  # 2 / (7 - 1)
        "average_ring": "0:00:09",  # 26 / 3 = 8.7
        "average_talk": "0:03:10",  # 570 / 3
        "average_hold": "0:00:10",  # 30 / 3
        "average_wrap_up": "0:00:43",  # 130 / 3 = 43.3
        "aht": "0:04:03",  # 730 / 3 = 243.3
    }
    assert texts(rows.rows[f"queue-{loans}"], QUEUE_KEYS) == {
        "queue": "Loans",
        "threshold": "30",
        "short_abandon_threshold": "5",
        "offered": "1",
        "answered": "1",
        "abandoned": "0",
        "short_abandons": "0",
        "timeouts": "0",
        "exits_key": "0",
        "exits_empty": "0",
        "other_outcomes": "0",
        "transferred": "0",
        "open_calls": "0",
        "asa": "0:00:30",
        "average_wait": "0:00:30",
        "longest_wait": "0:00:30",
        "service_level": "100.0 %",
        "abandonment_rate": "0.0 %",
        "average_ring": "0:00:20",
        "average_talk": "0:03:00",
        "average_hold": "0:00:00",
        "average_wrap_up": "0:00:30",
        "aht": "0:03:30",  # 180 + 30
    }
    assert texts(rows.rows["total"], QUEUE_KEYS) == {
        "queue": "Total (each call once)",
        "threshold": "—",
        "short_abandon_threshold": "—",
        "offered": "8",
        "answered": "4",
        "abandoned": "2",
        "short_abandons": "1",
        "timeouts": "1",
        "exits_key": "0",
        "exits_empty": "0",
        "other_outcomes": "0",
        "transferred": "1",
        "open_calls": "2",
        "asa": "0:00:20",  # 79 / 4 = 19.75
        "average_wait": "0:00:32",  # 258 / 8 = 32.25
        "longest_wait": "0:02:00",
        "service_level": "60.0 %",  # 3 / 5
        "abandonment_rate": "28.6 %",  # 2 / 7
        "average_ring": "0:00:12",  # 46 / 4 = 11.5, rounded to even
        "average_talk": "0:03:08",  # 750 / 4 = 187.5, rounded to even
        "average_hold": "0:00:08",  # 30 / 4 = 7.5, rounded to even
        "average_wrap_up": "0:00:40",  # 160 / 4
        "aht": "0:03:55",  # 940 / 4
    }


def test_queue_page_states_what_the_figures_mean(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY)
    assertContains(
        response,
        '<dl class="facts report-notes" id="report-notes">'
        "<dt>Period</dt><dd>2026-11-16 - 2026-11-16</dd>"
        "<dt>Client companies</dt><dd>Bank</dd>"
        "<dt>Time zone</dt><dd>Europe/Moscow</dd>"
        "<dt>Service-level formula</dt><dd>Answered + abandoned after T (default): "
        "answered within T / (answered + abandoned after T)</dd>"
        "<dt>Thresholds</dt><dd>Cards: T = 20 s, short abandon &lt;= 5 s; "
        "Loans: T = 30 s, short abandon &lt;= 5 s</dd></dl>",
        html=True,
    )


def test_queue_page_draws_the_parts_of_aht_from_the_static_plotly(
    client, supervisor, synthetic_day
):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY)
    assertContains(
        response,
        '<div class="report-chart" id="chart-aht-parts-plot" data-figure="chart-aht-parts"></div>',
        html=True,
    )
    assertContains(response, '<script src="/static/vendor/plotly/plotly.min.js"></script>')
    assertContains(response, '<script src="/static/js/report_charts.js"></script>')
    assertNotContains(response, "cdn.plot.ly")
    figure = response.context["charts"][0]["figure"]
    assert [trace["name"] for trace in figure["data"]] == ["Talk", "Hold", "Wrap-up"]
    assert [trace["y"] for trace in figure["data"]] == [[190.0, 180.0], [10.0, 0], [43.3, 30.0]]
    assert figure["data"][0]["x"] == ["Cards", "Loans"]


def test_queue_counts_link_to_exactly_their_calls(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    rows = table_rows(client.get(QUEUES, DAY)).rows
    cards, loans = synthetic_day.cards.pk, synthetic_day.loans.pk
    day = "date_from=2026-11-16&date_to=2026-11-16"
    # Cards has two calls still open (c9 waiting, c10 talking): its offered, answered and
    # transferred calls are those that are over ("state=over"), its open ones have their own
    # link. Zeros have no link. (The total's links: test_drilldown.py.)
    assert links(rows[f"queue-{cards}"], QUEUE_KEYS) == {
        "offered": f"{CALLS}?company=bank&queue={cards}&{day}&state=over",
        "answered": f"{CALLS}?company=bank&queue={cards}&{day}&state=over&outcome=answered",
        "abandoned": f"{CALLS}?company=bank&queue={cards}&{day}&outcome=abandoned",
        "short_abandons": f"{CALLS}?company=bank&queue={cards}&{day}&outcome=short_abandon",
        "timeouts": f"{CALLS}?company=bank&queue={cards}&{day}&outcome=timeout",
        "transferred": f"{CALLS}?company=bank&queue={cards}&{day}&state=over&outcome=answered"
        "&transferred=1",
        "open_calls": f"{CALLS}?company=bank&queue={cards}&{day}&state=open",
    }
    assert links(rows[f"queue-{loans}"], QUEUE_KEYS) == {
        "offered": f"{CALLS}?company=bank&queue={loans}&{day}",
        "answered": f"{CALLS}?company=bank&queue={loans}&{day}&outcome=answered",
    }
    assert links(rows["total"], QUEUE_KEYS)["offered"] == (
        f"{CALLS}?company=bank&queued=1&{day}&state=over"
    )
    cards_links = links(rows[f"queue-{cards}"], QUEUE_KEYS)
    assert listed_calls(client, cards_links["offered"]) == [
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
        "c6",
        "c7",
    ]
    assert listed_calls(client, cards_links["open_calls"]) == ["c10", "c9"]
    assert listed_calls(client, cards_links["abandoned"]) == ["c4", "c5"]
    assert listed_calls(client, cards_links["short_abandons"]) == ["c3"]
    assert listed_calls(client, cards_links["timeouts"]) == ["c6"]
    loans_links = links(rows[f"queue-{loans}"], QUEUE_KEYS)
    assert listed_calls(client, loans_links["offered"]) == ["c8"]
    assert listed_calls(client, loans_links["answered"]) == ["c8"]


def test_a_team_filter_links_with_the_team(client, supervisor, team, synthetic_day):
    """The call log filters by team too: the links carry it."""
    client.force_login(supervisor)
    rows = table_rows(client.get(QUEUES, DAY | {"team": team.pk})).rows
    cards = rows[f"queue-{synthetic_day.cards.pk}"]
    # Anna's (the team's) calls in cards: c1 and c7 answered, c4 abandoned after ringing her.
    assert [texts(cards, QUEUE_KEYS)[k] for k in ("offered", "answered", "abandoned")] == [
        "3",
        "2",
        "1",
    ]
    cards_pk, day = synthetic_day.cards.pk, "date_from=2026-11-16&date_to=2026-11-16"
    assert links(cards, QUEUE_KEYS) == {
        "offered": f"{CALLS}?company=bank&queue={cards_pk}&{day}&team={team.pk}",
        "answered": f"{CALLS}?company=bank&queue={cards_pk}&{day}&team={team.pk}&outcome=answered",
        "abandoned": f"{CALLS}?company=bank&queue={cards_pk}&{day}&team={team.pk}"
        "&outcome=abandoned",
        "transferred": f"{CALLS}?company=bank&queue={cards_pk}&{day}&team={team.pk}"
        "&outcome=answered&transferred=1",
    }
    assert listed_calls(client, links(cards, QUEUE_KEYS)["answered"]) == ["c1", "c7"]


def test_a_viewer_in_another_time_zone_gets_the_range_as_instants(
    client, supervisor, synthetic_day
):
    """The call log reads its dates in the viewer's zone: from Rome, the bank's day would be
    another 24 hours, so the links give the bank's day as two instants."""
    from contactcenter.tenancy.models import UserPreference

    UserPreference.objects.create(user=supervisor, time_zone="Europe/Rome")
    client.force_login(supervisor)
    rows = table_rows(client.get(QUEUES, DAY)).rows
    loans = rows[f"queue-{synthetic_day.loans.pk}"]
    assert texts(loans, QUEUE_KEYS)["offered"] == "1"
    loans_pk, day = (
        synthetic_day.loans.pk,
        "start=2026-11-16T00:00:00%2B03:00&end=2026-11-17T00:00:00%2B03:00",
    )
    assert links(loans, QUEUE_KEYS) == {
        "offered": f"{CALLS}?company=bank&queue={loans_pk}&{day}",
        "answered": f"{CALLS}?company=bank&queue={loans_pk}&{day}&outcome=answered",
    }
    assert listed_calls(client, links(loans, QUEUE_KEYS)["offered"]) == ["c8"]


def test_queue_agent_and_direction_filters(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    cards, loans = synthetic_day.cards.pk, synthetic_day.loans.pk
    rows = table_rows(client.get(QUEUES, DAY | {"queue": loans}))
    assert rows.order == [f"queue-{loans}", "total"]
    assert texts(rows.rows["total"], QUEUE_KEYS)["offered"] == "1"

    anna = synthetic_day.anna.pk
    rows = table_rows(client.get(QUEUES, DAY | {"agent": anna})).rows
    anna_cards = rows[f"queue-{cards}"]
    assert [texts(anna_cards, QUEUE_KEYS)[k] for k in ("offered", "answered", "abandoned")] == [
        "3",
        "2",
        "1",
    ]
    # One agent is a call-log filter: her abandoned call (c4) links, with the agent.
    assert links(anna_cards, QUEUE_KEYS) == {
        "offered": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        f"&date_to=2026-11-16&agent={anna}",
        "answered": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        f"&date_to=2026-11-16&agent={anna}&outcome=answered",
        "abandoned": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        f"&date_to=2026-11-16&agent={anna}&outcome=abandoned",
        "transferred": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        f"&date_to=2026-11-16&agent={anna}&outcome=answered&transferred=1",
    }
    anna_links = links(anna_cards, QUEUE_KEYS)
    assert listed_calls(client, anna_links["offered"]) == ["c1", "c4", "c7"]
    assert listed_calls(client, anna_links["abandoned"]) == ["c4"]

    outbound = table_rows(client.get(QUEUES, DAY | {"direction": "outbound"})).rows
    assert texts(outbound["total"], QUEUE_KEYS)["offered"] == "0"
    inbound = table_rows(client.get(QUEUES, DAY | {"direction": "inbound"})).rows
    assert texts(inbound["total"], QUEUE_KEYS)["offered"] == "8"
    assert links(inbound[f"queue-{loans}"], QUEUE_KEYS)["offered"] == (
        f"{CALLS}?company=bank&queue={loans}&date_from=2026-11-16&date_to=2026-11-16"
        "&direction=inbound"
    )


def test_the_table_sorts_and_keeps_the_total_last(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    rows = table_rows(client.get(QUEUES, DAY | {"sort": "-aht"}))
    cards, loans = synthetic_day.cards.pk, synthetic_day.loans.pk
    assert rows.order == [f"queue-{cards}", f"queue-{loans}", "total"]  # 243 s, then 210 s
    rows = table_rows(client.get(QUEUES, DAY | {"sort": "aht"}))
    assert rows.order == [f"queue-{loans}", f"queue-{cards}", "total"]


# --- exports ------------------------------------------------------------------------------------

QUEUE_HEADER = (
    "Queue,Service level T (s),Short abandon (s),Offered,Answered,Abandoned,Short abandons,"
    "Queue timeouts,Left with a key,Left: no agents,Other endings,Transferred,Still open,"
    "ASA (answered calls) (s),ASA (answered calls) (h:mm:ss),Average wait (s),"
    "Average wait (h:mm:ss),Longest wait (s),Longest wait (h:mm:ss),Service level (%),"
    "Abandonment rate (%),Average ring (s),Average ring (h:mm:ss),Average talk (s),"
    "Average talk (h:mm:ss),Average hold (s),Average hold (h:mm:ss),Average wrap-up (s),"
    "Average wrap-up (h:mm:ss),AHT (s),AHT (h:mm:ss)"
)


def test_csv_export_of_the_queue_page(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY | {"export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="queues-bank-2026-11-16-2026-11-16.csv"'
    )
    assert response.content.decode("utf-8").splitlines() == [
        "\ufeffQueues",
        "Period,2026-11-16 - 2026-11-16",
        "Client companies,Bank",
        "Time zone,Europe/Moscow",
        "Service-level formula,Answered + abandoned after T (default): "
        "answered within T / (answered + abandoned after T)",
        'Thresholds,"Cards: T = 20 s, short abandon <= 5 s; Loans: T = 30 s, short abandon <= 5 s"',
        "",
        QUEUE_HEADER,
        "Cards,20,5,7,3,2,1,1,0,0,0,1,2,16.3,0:00:16,32.6,0:00:33,120,0:02:00,50.0,33.33,"
        "8.7,0:00:09,190.0,0:03:10,10.0,0:00:10,43.3,0:00:43,243.3,0:04:03",
        "Loans,30,5,1,1,0,0,0,0,0,0,0,0,30.0,0:00:30,30.0,0:00:30,30,0:00:30,100.0,0.0,"
        "20.0,0:00:20,180.0,0:03:00,0.0,0:00:00,30.0,0:00:30,210.0,0:03:30",
        "Total (each call once),,,8,4,2,1,1,0,0,0,1,2,19.8,0:00:20,32.2,0:00:32,120,0:02:00,"
        "60.0,28.57,11.5,0:00:12,187.5,0:03:08,7.5,0:00:08,40.0,0:00:40,235.0,0:03:55",
    ]


def test_xlsx_export_of_the_interval_page(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(INTERVALS, DAY | {"interval": "day", "export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="intervals-bank-2026-11-16-2026-11-16.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Intervals"
    assert [v[:2] for v in values[1:7]] == [
        ["Period", "2026-11-16 - 2026-11-16"],
        ["Client companies", "Bank"],
        ["Time zone", "Europe/Moscow"],
        [
            "Service-level formula",
            "Answered + abandoned after T (default): "
            "answered within T / (answered + abandoned after T)",
        ],
        [
            "Thresholds",
            "Cards: T = 20 s, short abandon <= 5 s; Loans: T = 30 s, short abandon <= 5 s",
        ],
        ["Interval", "day"],
    ]
    assert values[8] == [
        "Interval",
        "Offered",
        "Answered",
        "Abandoned",
        "Short abandons",
        "Service level (%)",
        "ASA (answered calls) (s)",
        "ASA (answered calls) (h:mm:ss)",
        "Abandonment rate (%)",
        "AHT (s)",
        "AHT (h:mm:ss)",
    ]
    assert values[9] == ["2026-11-16", 8, 4, 2, 1, 60, 19.8, "0:00:20", 28.57, 235, "0:03:55"]
    assert values[10] == ["Total", 8, 4, 2, 1, 60, 19.8, "0:00:20", 28.57, 235, "0:03:55"]
    assert len(values) == 11


def test_export_links_and_an_unknown_format(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY)
    assertContains(
        response,
        '<a href="/reports/queues/?date_from=2026-11-16&amp;date_to=2026-11-16&amp;export=csv"'
        ' id="export-csv" download>Export CSV</a>',
        html=True,
    )
    assertContains(
        response,
        '<a href="/reports/queues/?date_from=2026-11-16&amp;date_to=2026-11-16&amp;export=xlsx"'
        ' id="export-xlsx" download>Export XLSX</a>',
        html=True,
    )
    response = client.get(QUEUES, DAY | {"export": "pdf"})
    assert response.status_code == 400
    assert response.content.decode() == "Unknown export format pdf: choose csv or xlsx."


# --- agents -------------------------------------------------------------------------------------


@pytest.fixture
def afternoon(monkeypatch):
    """A report of the day, run at 17:10 Moscow time (states still open count up to now)."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(17, 10))


def test_agent_page_shows_each_agents_day(client, supervisor, synthetic_day, afternoon):
    client.force_login(supervisor)
    response = client.get(AGENTS, DAY)
    rows = table_rows(response)
    anna, boris = synthetic_day.anna.pk, synthetic_day.boris.pk
    assert rows.order == [f"agent-{anna}", f"agent-{boris}", "total"]
    # test_kpi_agents.py's states: Anna available 10081 s, ringing 19, on call 300, wrap-up
    # 100, paused 900, offline 18600 (12:00 to 17:10); logged in 11400.
    assert texts(rows.rows[f"agent-{anna}"], AGENT_KEYS) == {
        "agent": "Anna",
        "handled": "2",
        "average_talk": "0:03:45",  # 450 / 2
        "average_hold": "0:00:15",
        "average_wrap_up": "0:00:50",
        "aht": "0:04:50",  # 580 / 2
        "ring_no_answer": "1",
        "logged_in": "3:10:00",
        "available": "2:48:01",
        "ringing": "0:00:19",
        "on_call": "0:05:00",
        "wrap_up": "0:01:40",
        "paused": "0:15:00",
        "offline": "5:10:00",
        "pause:break": "0:15:00",
        "occupancy": "3.8 %",  # 400 / 10481
        "calls_per_hour": "0.63",  # 2 / (11400 / 3600)
    }
    assert texts(rows.rows[f"agent-{boris}"], AGENT_KEYS) == {
        "agent": "Boris",
        "handled": "2",
        "average_talk": "0:02:30",
        "average_hold": "0:00:00",
        "average_wrap_up": "0:00:30",
        "aht": "0:03:00",
        "ring_no_answer": "0",
        "logged_in": "8:15:00",  # 29700
        "available": "7:58:19",  # 28699
        "ringing": "0:00:41",
        "on_call": "0:15:00",  # 900, c10 counted up to 17:10
        "wrap_up": "0:01:00",
        "paused": "0:00:00",
        "offline": "0:00:00",
        "pause:break": "0:00:00",
        "occupancy": "3.2 %",  # 960 / 29659
        "calls_per_hour": "0.24",  # 2 / (29700 / 3600)
    }
    total = texts(rows.rows["total"], AGENT_KEYS)
    assert (total["handled"], total["logged_in"], total["occupancy"]) == (
        "4",
        "11:25:00",  # 41100
        "3.4 %",  # 1360 / 40140
    )
    assertContains(response, "<dt>States counted until</dt><dd>2026-11-16T14:10:00+00:00</dd>")


def test_agent_handled_links_to_the_agents_answered_calls(
    client, supervisor, synthetic_day, afternoon
):
    client.force_login(supervisor)
    rows = table_rows(client.get(AGENTS, DAY)).rows
    anna, boris = synthetic_day.anna.pk, synthetic_day.boris.pk
    anna_links = links(rows[f"agent-{anna}"], AGENT_KEYS)
    assert anna_links == {
        "handled": f"{CALLS}?company=bank&date_from=2026-11-16&date_to=2026-11-16"
        f"&agent={anna}&outcome=answered"
    }
    assert listed_calls(client, anna_links["handled"]) == ["c1", "c7"]
    # Boris is still on c10, answered: his handled calls are those that are over.
    boris_links = links(rows[f"agent-{boris}"], AGENT_KEYS)
    assert boris_links == {
        "handled": f"{CALLS}?company=bank&date_from=2026-11-16&date_to=2026-11-16"
        f"&agent={boris}&state=over&outcome=answered"
    }
    assert listed_calls(client, boris_links["handled"]) == ["c2", "c8"]


def test_agent_page_charts_the_states_of_the_logged_in_time(
    client, supervisor, synthetic_day, afternoon
):
    client.force_login(supervisor)
    response = client.get(AGENTS, DAY)
    assertContains(response, 'data-figure="chart-agent-states"')
    figure = response.context["charts"][0]["figure"]
    assert [trace["name"] for trace in figure["data"]] == [
        "Available",
        "Ringing",
        "On call",
        "Wrap-up",
        "Paused",
    ]
    assert figure["data"][0]["x"] == ["Anna", "Boris"]
    assert figure["data"][0]["y"] == [2.8, 7.97]  # 10081 s and 28699 s, in hours
    assert figure["data"][4]["y"] == [0.25, 0.0]


def test_agent_and_team_filters_on_the_agent_page(
    client, supervisor, team, synthetic_day, afternoon
):
    client.force_login(supervisor)
    anna, boris = synthetic_day.anna.pk, synthetic_day.boris.pk
    assert table_rows(client.get(AGENTS, DAY | {"team": team.pk})).order == [
        f"agent-{anna}",
        "total",
    ]
    rows = table_rows(client.get(AGENTS, DAY | {"agent": boris}))
    assert rows.order == [f"agent-{boris}", "total"]
    loans = table_rows(client.get(AGENTS, DAY | {"queue": synthetic_day.loans.pk})).rows
    assert texts(loans[f"agent-{boris}"], AGENT_KEYS)["handled"] == "1"  # c8
    assert links(loans[f"agent-{boris}"], AGENT_KEYS) == {
        "handled": f"{CALLS}?company=bank&queue={synthetic_day.loans.pk}&date_from=2026-11-16"
        f"&date_to=2026-11-16&agent={boris}&outcome=answered"
    }


# --- intervals ----------------------------------------------------------------------------------


def test_interval_page_hour_by_hour(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(INTERVALS, DAY | {"interval": "60"})
    rows = table_rows(response)
    assert len(rows.order) == 25  # 24 hours and the total
    assert texts(rows.rows["2026-11-16 09:00+03:00"], INTERVAL_KEYS) == {
        "interval": "2026-11-16 09:00+03:00",
        "offered": "6",
        "answered": "2",
        "abandoned": "2",
        "short_abandons": "1",
        "service_level": "33.3 %",  # 1 / 3
        "asa": "0:00:20",  # 41 / 2 = 20.5, rounded to even
        "abandonment_rate": "40.0 %",  # 2 / (6 - 1)
        "aht": "0:03:05",  # 370 / 2
    }
    assert texts(rows.rows["2026-11-16 10:00+03:00"], INTERVAL_KEYS) == {
        "interval": "2026-11-16 10:00+03:00",
        "offered": "2",
        "answered": "2",
        "abandoned": "0",
        "short_abandons": "0",
        "service_level": "100.0 %",
        "asa": "0:00:19",  # 38 / 2
        "abandonment_rate": "0.0 %",
        "aht": "0:04:45",  # 570 / 2
    }
    assert texts(rows.rows["2026-11-16 03:00+03:00"], INTERVAL_KEYS) == {
        "interval": "2026-11-16 03:00+03:00",
        "offered": "0",
        "answered": "0",
        "abandoned": "0",
        "short_abandons": "0",
        "service_level": "—",
        "asa": "—",
        "abandonment_rate": "—",
        "aht": "—",
    }
    assert texts(rows.rows["total"], INTERVAL_KEYS) == {
        "interval": "Total",
        "offered": "8",
        "answered": "4",
        "abandoned": "2",
        "short_abandons": "1",
        "service_level": "60.0 %",
        "asa": "0:00:20",
        "abandonment_rate": "28.6 %",
        "aht": "0:03:55",
    }
    # An hour is two instants in the call log; every queue's calls are its "queued" ones.
    hour = "start=2026-11-16T09:00:00%2B03:00&end=2026-11-16T10:00:00%2B03:00"
    assert links(rows.rows["2026-11-16 09:00+03:00"], INTERVAL_KEYS) == {
        "offered": f"{CALLS}?company=bank&queued=1&{hour}",
        "answered": f"{CALLS}?company=bank&queued=1&{hour}&outcome=answered",
        "abandoned": f"{CALLS}?company=bank&queued=1&{hour}&outcome=abandoned",
        "short_abandons": f"{CALLS}?company=bank&queued=1&{hour}&outcome=short_abandon",
    }
    nine = links(rows.rows["2026-11-16 09:00+03:00"], INTERVAL_KEYS)
    assert listed_calls(client, nine["offered"]) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    figure = response.context["charts"][0]["figure"]
    assert response.context["charts"][0]["id"] == "chart-volume"
    assert figure["data"][0]["y"][9:11] == [6, 2]  # offered
    assert figure["data"][3]["y"][9:11] == [33.3, 100.0]  # service level, %


def test_quarter_hours_make_96_rows_a_day(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    rows = table_rows(client.get(INTERVALS, DAY | {"interval": "15"}))
    assert len(rows.order) == 97
    assert [
        texts(rows.rows[f"2026-11-16 {t}+03:00"], INTERVAL_KEYS)["offered"]
        for t in (
            "09:00",
            "09:15",
            "09:30",
            "09:45",
            "10:00",
            "10:15",
            "10:30",
        )
    ] == ["2", "1", "2", "1", "1", "0", "1"]


def test_day_and_week_rows_of_one_queue_link_to_their_days(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    cards = synthetic_day.cards.pk
    three_days = {"date_from": "2026-11-15", "date_to": "2026-11-17", "queue": cards}
    rows = table_rows(client.get(INTERVALS, three_days | {"interval": "week"}))
    assert rows.order == ["2026-W46", "2026-W47", "total"]
    w46, w47 = rows.rows["2026-W46"], rows.rows["2026-W47"]
    assert [texts(w46, INTERVAL_KEYS)[k] for k in ("offered", "abandoned")] == ["1", "1"]  # c0
    assert links(w46, INTERVAL_KEYS) == {
        "offered": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-15&date_to=2026-11-15",
        "abandoned": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-15"
        "&date_to=2026-11-15&outcome=abandoned",
    }
    # The week from Monday the 16th, clipped to the 17th: c1-c7 and c11 over, c9 and c10 open.
    assert [texts(w47, INTERVAL_KEYS)[k] for k in ("offered", "abandoned")] == ["8", "3"]
    assert links(w47, INTERVAL_KEYS) == {
        "offered": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        "&date_to=2026-11-17&state=over",
        "answered": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        "&date_to=2026-11-17&state=over&outcome=answered",
        "abandoned": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        "&date_to=2026-11-17&outcome=abandoned",
        "short_abandons": f"{CALLS}?company=bank&queue={cards}&date_from=2026-11-16"
        "&date_to=2026-11-17&outcome=short_abandon",
    }
    assert listed_calls(client, links(w46, INTERVAL_KEYS)["offered"]) == ["c0"]
    assert listed_calls(client, links(w47, INTERVAL_KEYS)["abandoned"]) == ["c11", "c4", "c5"]
    assert listed_calls(client, links(w47, INTERVAL_KEYS)["offered"]) == [
        "c1",
        "c11",
        "c2",
        "c3",
        "c4",
        "c5",
        "c6",
        "c7",
    ]
    # Without one queue, a row counts every queue's calls: those that went through a queue.
    rows = table_rows(client.get(INTERVALS, DAY | {"interval": "day"})).rows
    assert links(rows["2026-11-16"], INTERVAL_KEYS)["abandoned"] == (
        f"{CALLS}?company=bank&queued=1&date_from=2026-11-16&date_to=2026-11-16&outcome=abandoned"
    )


def test_intervals_need_one_time_zone(client, supervisor, other_company, synthetic_day):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    client.force_login(supervisor)
    # Without a company named, the first one (the page would otherwise only refuse).
    response = client.get(INTERVALS, DAY)
    assert response.status_code == 302
    assert response["Location"].endswith("&company=bank")
    # Both named: the refusal, on the form.
    response = client.get(INTERVALS, DAY | {"company": ["bank", "shop"]})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "company": [
            "Intervals need one time zone; these companies are in Europe/Moscow, Europe/Rome."
        ]
    }
    assertContains(response, "Intervals need one time zone")
    assertNotContains(response, 'id="report-table"')
    rows = table_rows(client.get(INTERVALS, DAY | {"company": "bank"}))
    assert texts(rows.rows["total"], INTERVAL_KEYS)["offered"] == "8"


def test_minute_intervals_over_a_long_range_are_refused(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(
        INTERVALS, {"date_from": "2026-10-01", "date_to": "2026-11-16", "interval": "15"}
    )
    assertContains(
        response,
        "Intervals of minutes cover at most 31 days: choose a shorter range or days, weeks or "
        "months.",
    )
    assertNotContains(response, 'id="report-table"')


# --- client companies ---------------------------------------------------------------------------


COMPANY_KEYS = ["company", *FIGURE_KEYS]


@pytest.fixture
def insurer(db):
    return Company.objects.create(name="Insure", slug="insure", time_zone="Europe/Moscow")


def test_a_client_manager_sees_exactly_their_companies(
    client, client_manager, insurer, synthetic_day
):
    Membership.objects.create(user=client_manager, company=insurer, role=Role.CLIENT_MANAGER)
    client.force_login(client_manager)
    response = client.get(COMPANIES, DAY)
    rows = table_rows(response)
    assert rows.order == ["company-bank", "company-insure", "total"]
    bank = texts(rows.rows["company-bank"], COMPANY_KEYS)
    assert bank == {
        "company": "Bank",
        "offered": "8",
        "answered": "4",
        "abandoned": "2",
        "short_abandons": "1",
        "timeouts": "1",
        "exits_key": "0",
        "exits_empty": "0",
        "other_outcomes": "0",
        "transferred": "1",
        "open_calls": "2",
        "asa": "0:00:20",
        "average_wait": "0:00:32",
        "longest_wait": "0:02:00",
        "service_level": "60.0 %",
        "abandonment_rate": "28.6 %",
        "average_ring": "0:00:12",
        "average_talk": "0:03:08",
        "average_hold": "0:00:08",
        "average_wrap_up": "0:00:40",
        "aht": "0:03:55",
    }
    insure = texts(rows.rows["company-insure"], COMPANY_KEYS)
    assert (insure["offered"], insure["service_level"], insure["aht"]) == ("0", "—", "—")
    assert texts(rows.rows["total"], COMPANY_KEYS) == bank | {"company": "Total"}
    assertNotContains(response, "Shop")
    # A company's name opens its queue report with the same filters, its figures their calls
    # (test_drilldown.py).
    bank_links = links(rows.rows["company-bank"], COMPANY_KEYS)
    assert bank_links["company"] == (
        "/reports/queues/?date_from=2026-11-16&date_to=2026-11-16&company=bank"
    )
    assert bank_links["abandoned"] == (
        f"{CALLS}?company=bank&queued=1&date_from=2026-11-16&date_to=2026-11-16&outcome=abandoned"
    )
    assert links(rows.rows["company-insure"], COMPANY_KEYS) == {
        "company": "/reports/queues/?date_from=2026-11-16&date_to=2026-11-16&company=insure"
    }
    assertContains(response, 'data-figure="chart-volume"')
    assert response.context["charts"][0]["figure"]["data"][0]["x"] == ["Bank", "Insure"]


def test_companies_side_by_side_for_a_supervisor_of_both(
    client, supervisor, other_company, synthetic_day
):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    client.force_login(supervisor)
    rows = table_rows(client.get(COMPANIES, DAY))
    assert rows.order == ["company-bank", "company-shop", "total"]
    # The shop's s1: queued 09:00 Moscow time (07:00 in Rome, its own day), answered after
    # 10 s (T = 20: within), hung up at 09:05: talk 290 s.
    shop = texts(rows.rows["company-shop"], COMPANY_KEYS)
    assert [shop[k] for k in ("offered", "answered", "asa", "service_level", "aht")] == [
        "1",
        "1",
        "0:00:10",
        "100.0 %",
        "0:04:50",
    ]
    total = texts(rows.rows["total"], COMPANY_KEYS)
    # (3 + 1 within) / (5 + 1); AHT (940 + 290) / 5 = 246
    assert [total[k] for k in ("offered", "answered", "service_level", "aht")] == [
        "9",
        "5",
        "66.7 %",
        "0:04:06",
    ]


# --- filters, shareable URLs, errors ------------------------------------------------------------


def test_the_default_range_is_the_last_seven_days_of_the_viewer(
    client, supervisor, synthetic_day, afternoon
):
    client.force_login(supervisor)
    response = client.get(QUEUES)
    assertContains(response, 'name="date_from" value="2026-11-10"')
    assertContains(response, 'name="date_to" value="2026-11-16"')
    assertContains(response, "<dt>Period</dt><dd>2026-11-10 - 2026-11-16</dd>", html=True)
    assert response.context["permalink"] == (
        "/reports/queues/?date_from=2026-11-10&date_to=2026-11-16"
    )
    rows = table_rows(response).rows
    assert texts(rows["total"], QUEUE_KEYS)["offered"] == "9"  # c0 of the 15th too


def test_a_report_url_round_trips(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    cards = synthetic_day.cards.pk
    asked = DAY | {"queue": cards, "direction": "inbound", "company": "bank"}
    first = client.get(QUEUES, asked)
    permalink = first.context["permalink"]
    assert parse_qs(urlsplit(permalink).query) == {
        "date_from": ["2026-11-16"],
        "date_to": ["2026-11-16"],
        "company": ["bank"],
        "queue": [str(cards)],
        "direction": ["inbound"],
    }
    again = client.get(permalink)
    assert table_rows(again).rows == table_rows(first).rows
    assertContains(again, f'<option value="{cards}" selected>Cards</option>', html=True)
    assertContains(again, '<option value="inbound" selected>Inbound</option>', html=True)
    # The tabs carry the same filters to the other reports.
    assertContains(
        again,
        f'<a href="/reports/agents/?date_from=2026-11-16&amp;date_to=2026-11-16&amp;company=bank'
        f'&amp;queue={cards}&amp;direction=inbound" id="tab-agents">Agent report</a>',
        html=True,
    )


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"date_from": "2026-13-01"}, "date_from", "Enter a valid date."),
        (
            {"date_from": "2026-11-17", "date_to": "2026-11-16"},
            "date_to",
            "The end date is before the start date.",
        ),
        (
            {"date_from": "2025-01-01", "date_to": "2026-11-16"},
            "date_to",
            "A report covers at most 366 days.",
        ),
        (
            {"direction": "sideways"},
            "direction",
            "Select a valid choice. sideways is not one of the available choices.",
        ),
        (
            {"queue": "999999"},
            "queue",
            "Select a valid choice. 999999 is not one of the available choices.",
        ),
        (
            {"agent": "x"},
            "agent",
            "Select a valid choice. x is not one of the available choices.",
        ),
    ],
)
def test_bad_filters_show_the_forms_errors(
    client, supervisor, synthetic_day, params, field, message
):
    client.force_login(supervisor)
    response = client.get(QUEUES, params)
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assertContains(response, "Please correct the errors below.")
    assertNotContains(response, 'id="report-table"')


def test_another_companys_queue_is_not_a_choice(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY | {"queue": synthetic_day.shop_queue.pk})
    assert response.context["form"].errors == {
        "queue": [
            f"Select a valid choice. {synthetic_day.shop_queue.pk} is not one of the available "
            "choices."
        ]
    }


# --- who may see what ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", [QUEUES, AGENTS, INTERVALS, COMPANIES])
def test_roles(client, supervisor, client_manager, admin_user, agent, synthetic_day, page):
    for user in (supervisor, client_manager, admin_user):
        client.force_login(user)
        assert client.get(page, DAY).status_code == 200
    client.force_login(agent)
    assert client.get(page, DAY).status_code == 403
    client.logout()
    assertRedirects(
        client.get(page), f"/accounts/login/?next={page}", fetch_redirect_response=False
    )


@pytest.mark.parametrize("page", [QUEUES, AGENTS, INTERVALS, COMPANIES])
def test_another_companys_user_sees_nothing_of_the_bank(client, outsider, synthetic_day, page):
    client.force_login(outsider)
    assert client.get(page, DAY | {"company": "bank"}).status_code == 404
    assert client.get(page, DAY | {"company": "nowhere"}).status_code == 404
    assert client.get(page, DAY | {"company": ["shop", "bank"]}).status_code == 404
    response = client.get(page, DAY)
    assert response.status_code == 200
    for bank_word in ("Bank", "Cards", "Loans", "Anna", "Boris", "Europe/Moscow"):
        assertNotContains(response, bank_word)
    assert [c.slug for c in response.context["form"].companies] == ["shop"]


def test_an_agent_who_manages_another_company_reads_only_that_one(
    client, agent, other_company, synthetic_day
):
    Membership.objects.create(user=agent, company=other_company, role=Role.CLIENT_MANAGER)
    client.force_login(agent)
    assert client.get(COMPANIES, DAY | {"company": "bank"}).status_code == 404
    rows = table_rows(client.get(COMPANIES, DAY))
    assert rows.order == ["company-shop", "total"]


def test_agents_only_user_elsewhere_is_refused(client, other_company, synthetic_day):
    carla = make_user("carla", other_company, Role.AGENT)
    client.force_login(carla)
    assert client.get(COMPANIES, DAY | {"company": "bank"}).status_code == 403


def test_long_tables_are_paginated_with_their_filters(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    week = {"date_from": "2026-11-10", "date_to": "2026-11-16", "interval": "60"}
    first = client.get(INTERVALS, week)
    assert len(table_rows(first).order) == 101  # 100 of the 168 hours, and the total
    assertContains(
        first,
        '<a href="?date_from=2026-11-10&amp;date_to=2026-11-16&amp;interval=60&amp;page=2">',
    )
    second = table_rows(client.get(INTERVALS, week | {"page": "2"}))
    assert len(second.order) == 69
    assert second.order[-2:] == ["2026-11-16 23:00+03:00", "total"]
    assert texts(second.rows["total"], INTERVAL_KEYS)["offered"] == "9"


def queries_of(client, page, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page, params).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_rows(
    client, supervisor, company, synthetic_day
):
    """Each report block is one aggregate query: more queues, agents, states or intervals add
    rows, never queries."""
    client.force_login(supervisor)
    pages = [(QUEUES, DAY), (AGENTS, DAY), (COMPANIES, DAY), (INTERVALS, DAY | {"interval": "15"})]
    before = [queries_of(client, page, params) for page, params in pages]
    for n in range(3):
        Queue.objects.create(company=company, name=f"Extra {n}", code=f"extra{n}")
        user = make_user(f"extra{n}", company, Role.AGENT, first_name=f"Extra {n}")
        Agent.objects.create(company=company, user=user)
        agent_state_set(user=user, state="available", now=at(9, 0))
    three_days = {"date_from": "2026-11-15", "date_to": "2026-11-17"}
    after = [
        queries_of(client, QUEUES, DAY),
        queries_of(client, AGENTS, DAY),
        queries_of(client, COMPANIES, DAY),
        queries_of(client, INTERVALS, three_days | {"interval": "15"}),  # 288 rows, not 96
    ]
    assert table_rows(client.get(QUEUES, DAY)).order[-1] == "total"
    assert len(table_rows(client.get(AGENTS, DAY)).order) == 6  # Anna, Boris, 3 more, total
    assert after == before


def test_junk_page_and_sort_parameters_fall_back(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    for junk in ({"page": "abc"}, {"page": "99"}, {"sort": "nonsense"}, {"sort": "-"}):
        response = client.get(QUEUES, DAY | junk)
        assert response.status_code == 200
        assert table_rows(response).order[-1] == "total"
