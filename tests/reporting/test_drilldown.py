"""Drill-down from the report pages' count figures to the calls behind them (issue 4), over the
synthetic day of conftest.py: following a figure's link, the call log lists exactly the calls
the figure counts. Each test checks both ways: every linked figure of the page lists as many
calls as it says (`assert_links_list_their_counts`), and chosen figures list the calls picked by
hand from the day's story (c0-c11, s1, and the overflowed calls made here)."""

import pytest

from contactcenter.tenancy.models import Company, Membership, Role, UserPreference
from telephony.models import PbxConnection
from telephony.pbx.events import CallEventKind as K
from telephony.pbx.events import HangupCause
from tests.reporting.conftest import Pbx, at
from tests.reporting.test_report_pages import (
    AGENT_KEYS,
    AGENTS,
    CALLS,
    COMPANIES,
    COMPANY_KEYS,
    DAY,
    INTERVAL_KEYS,
    INTERVALS,
    QUEUE_KEYS,
    QUEUES,
    links,
    listed_calls,
    table_rows,
    texts,
)

# The counts of each page: every one that is not zero links to its calls.
QUEUE_COUNTS = [
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
]
INTERVAL_COUNTS = ["offered", "answered", "abandoned", "short_abandons"]
DAY_16 = "date_from=2026-11-16&date_to=2026-11-16"
OVER_DAY = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"]  # queued, over, on the 16th


def assert_links_list_their_counts(client, response, keys, counts) -> dict:
    """Every non-zero count of every row (the total too) links to the call log, which lists as
    many calls as the count; the rows' links, by row and key, for the test to look closer."""
    found = {}
    for name, row in table_rows(response).rows.items():
        shown = texts(row, keys)
        linked = {k: url for k, url in links(row, keys).items() if k in counts}
        assert set(linked) == {k for k in counts if shown[k] != "0"}, name
        for key, url in linked.items():
            assert len(listed_calls(client, url)) == int(shown[key]), (name, key, url)
        found[name] = linked
    return found


@pytest.fixture
def afternoon(monkeypatch):
    """The agent report run at 17:10 Moscow time (states still open count up to now)."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(17, 10))


def test_every_queue_figure_lists_its_calls_the_total_and_the_open_ones_too(
    client, supervisor, synthetic_day
):
    client.force_login(supervisor)
    response = client.get(QUEUES, DAY)
    found = assert_links_list_their_counts(client, response, QUEUE_KEYS, QUEUE_COUNTS)
    cards, total = found[f"queue-{synthetic_day.cards.pk}"], found["total"]
    # The total counts every queue's calls, each once: "queued", not one queue.
    assert total["offered"] == f"{CALLS}?company=bank&queued=1&{DAY_16}&state=over"
    assert listed_calls(client, total["offered"]) == OVER_DAY
    assert listed_calls(client, total["answered"]) == ["c1", "c2", "c7", "c8"]
    assert total["open_calls"] == f"{CALLS}?company=bank&queued=1&{DAY_16}&state=open"
    assert listed_calls(client, total["open_calls"]) == ["c10", "c9"]
    # c7 was answered, then transferred; c10 (answered, still talking) is no transferred call.
    assert cards["transferred"] == (
        f"{CALLS}?company=bank&queue={synthetic_day.cards.pk}&{DAY_16}"
        "&state=over&outcome=answered&transferred=1"
    )
    assert listed_calls(client, cards["transferred"]) == ["c7"]
    # Cards' offered and answered leave out its two open calls, c9 and c10.
    assert listed_calls(client, cards["offered"]) == OVER_DAY[:-1]
    assert listed_calls(client, cards["answered"]) == ["c1", "c2", "c7"]


def test_other_endings_link_to_missed_busy_and_failed_calls(
    client, supervisor, company, synthetic_day
):
    pbx = Pbx(PbxConnection.objects.get(company=company))
    pbx("b1", K.QUEUED, at(12, 0, 0), queue="loans")
    pbx("b1", K.HANGUP, at(12, 0, 5), cause=HangupCause.BUSY)
    client.force_login(supervisor)
    found = assert_links_list_their_counts(
        client, client.get(QUEUES, DAY), QUEUE_KEYS, QUEUE_COUNTS
    )
    loans = found[f"queue-{synthetic_day.loans.pk}"]
    assert loans["other_outcomes"] == (
        f"{CALLS}?company=bank&queue={synthetic_day.loans.pk}&{DAY_16}&outcome=other"
    )
    assert listed_calls(client, loans["other_outcomes"]) == ["b1"]
    assert listed_calls(client, found["total"]["other_outcomes"]) == ["b1"]


def test_quarter_hour_rows_link_to_their_instants(client, supervisor, synthetic_day):
    client.force_login(supervisor)
    response = client.get(INTERVALS, DAY | {"interval": "15"})
    found = assert_links_list_their_counts(client, response, INTERVAL_KEYS, INTERVAL_COUNTS)
    nine = found["2026-11-16 09:00+03:00"]
    assert nine["offered"] == (
        f"{CALLS}?company=bank&queued=1&start=2026-11-16T09:00:00%2B03:00"
        "&end=2026-11-16T09:15:00%2B03:00"
    )
    assert listed_calls(client, nine["offered"]) == ["c1", "c2"]
    assert listed_calls(client, found["2026-11-16 09:30+03:00"]["abandoned"]) == ["c4", "c5"]
    assert listed_calls(client, found["2026-11-16 09:15+03:00"]["short_abandons"]) == ["c3"]
    # c10 entered at 16:59:50 and is still open: a row that counts nothing, and links nothing.
    assert found["2026-11-16 16:45+03:00"] == {}
    assert listed_calls(client, found["total"]["offered"]) == OVER_DAY


def test_hour_rows_of_several_queues_and_agents_link_with_all_of_them(
    client, supervisor, synthetic_day
):
    client.force_login(supervisor)
    day = synthetic_day
    chosen = {"queue": [day.cards.pk, day.loans.pk], "agent": [day.anna.pk, day.boris.pk]}
    response = client.get(INTERVALS, DAY | chosen | {"interval": "60"})
    found = assert_links_list_their_counts(client, response, INTERVAL_KEYS, INTERVAL_COUNTS)
    ten = found["2026-11-16 10:00+03:00"]
    assert ten["answered"] == (
        f"{CALLS}?company=bank&queue={day.cards.pk}&queue={day.loans.pk}"
        "&start=2026-11-16T10:00:00%2B03:00&end=2026-11-16T11:00:00%2B03:00"
        f"&agent={day.anna.pk}&agent={day.boris.pk}&outcome=answered"
    )
    assert listed_calls(client, ten["answered"]) == ["c7", "c8"]
    # The agents' calls: c1, c2 and c7 answered, c4 rang Anna; c3, c5 and c6 rang nobody.
    assert listed_calls(client, found["2026-11-16 09:00+03:00"]["offered"]) == ["c1", "c2", "c4"]
    assert listed_calls(client, found["total"]["offered"]) == ["c1", "c2", "c4", "c7", "c8"]


def test_a_viewer_in_another_zone_gets_the_companys_day_as_instants(
    client, supervisor, synthetic_day
):
    """From Rome, the call log's 16 November would run from 02:00 to 02:00 Moscow time: it
    would list c11 (00:00 on the 17th in Moscow, 22:00 on the 16th in Rome)."""
    UserPreference.objects.create(user=supervisor, time_zone="Europe/Rome")
    client.force_login(supervisor)
    found = assert_links_list_their_counts(
        client, client.get(QUEUES, DAY), QUEUE_KEYS, QUEUE_COUNTS
    )
    cards = found[f"queue-{synthetic_day.cards.pk}"]
    assert cards["abandoned"] == (
        f"{CALLS}?company=bank&queue={synthetic_day.cards.pk}"
        "&start=2026-11-16T00:00:00%2B03:00&end=2026-11-17T00:00:00%2B03:00&outcome=abandoned"
    )
    assert listed_calls(client, cards["abandoned"]) == ["c4", "c5"]
    assert listed_calls(client, found["total"]["offered"]) == OVER_DAY
    # The call log states the range in the viewer's own zone.
    page = client.get(cards["abandoned"]).content.decode()
    assert "Offered from 11/15/2026 22:00:00" in page
    assert "Offered before 11/16/2026 22:00:00" in page


def test_a_team_filter_links_with_the_team(client, supervisor, team, synthetic_day, afternoon):
    client.force_login(supervisor)
    found = assert_links_list_their_counts(
        client, client.get(QUEUES, DAY | {"team": team.pk}), QUEUE_KEYS, QUEUE_COUNTS
    )
    cards = found[f"queue-{synthetic_day.cards.pk}"]
    # The team is Anna: c1 and c7 answered, c4 abandoned after ringing her.
    assert cards["offered"] == (
        f"{CALLS}?company=bank&queue={synthetic_day.cards.pk}&{DAY_16}&team={team.pk}"
    )
    assert listed_calls(client, cards["offered"]) == ["c1", "c4", "c7"]
    assert listed_calls(client, found["total"]["offered"]) == ["c1", "c4", "c7"]
    # On the agent page the total is the team's handled calls.
    rows = table_rows(client.get(AGENTS, DAY | {"team": team.pk})).rows
    total = links(rows["total"], AGENT_KEYS)
    assert total == {
        "handled": f"{CALLS}?company=bank&{DAY_16}&team={team.pk}&state=over&outcome=answered"
    }
    assert listed_calls(client, total["handled"]) == ["c1", "c7"]


def test_agent_rows_link_their_handled_calls_and_the_total_only_with_a_team_or_agents(
    client, supervisor, synthetic_day, afternoon
):
    client.force_login(supervisor)
    rows = table_rows(client.get(AGENTS, DAY)).rows
    boris = synthetic_day.boris.pk
    # Boris is still on c10: his handled calls are those that are over.
    boris_links = links(rows[f"agent-{boris}"], AGENT_KEYS)
    assert boris_links == {
        "handled": f"{CALLS}?company=bank&{DAY_16}&agent={boris}&state=over&outcome=answered"
    }
    assert listed_calls(client, boris_links["handled"]) == ["c2", "c8"]
    # Every agent's handled calls: the call log cannot leave out those no agent answered.
    assert links(rows["total"], AGENT_KEYS) == {}
    both = {"agent": [synthetic_day.anna.pk, boris]}
    total = table_rows(client.get(AGENTS, DAY | both)).rows["total"]
    assert texts(total, AGENT_KEYS)["handled"] == "4"
    assert listed_calls(client, links(total, AGENT_KEYS)["handled"]) == ["c1", "c2", "c7", "c8"]


@pytest.fixture
def insurer(db):
    return Company.objects.create(name="Insure", slug="insure", time_zone="Europe/Moscow")


def test_company_rows_and_their_total_link_to_their_calls(
    client, client_manager, insurer, synthetic_day
):
    Membership.objects.create(user=client_manager, company=insurer, role=Role.CLIENT_MANAGER)
    client.force_login(client_manager)
    response = client.get(COMPANIES, DAY)
    found = assert_links_list_their_counts(client, response, COMPANY_KEYS, QUEUE_COUNTS)
    bank = found["company-bank"]
    assert bank["offered"] == f"{CALLS}?company=bank&queued=1&{DAY_16}&state=over"
    assert listed_calls(client, bank["offered"]) == OVER_DAY
    # The total: both companies, one zone, so one range.
    assert found["total"]["open_calls"] == (
        f"{CALLS}?company=bank&company=insure&queued=1&{DAY_16}&state=open"
    )
    assert listed_calls(client, found["total"]["open_calls"]) == ["c10", "c9"]


def test_companies_in_two_zones_link_each_row_but_not_their_total(
    client, supervisor, other_company, synthetic_day
):
    Membership.objects.create(user=supervisor, company=other_company, role=Role.SUPERVISOR)
    client.force_login(supervisor)
    rows = table_rows(client.get(COMPANIES, DAY)).rows
    shop = links(rows["company-shop"], COMPANY_KEYS)
    # The shop's 16 November in Rome, read from Moscow (the supervisor's first company's zone).
    assert shop["answered"] == (
        f"{CALLS}?company=shop&queued=1&start=2026-11-16T00:00:00%2B01:00"
        "&end=2026-11-17T00:00:00%2B01:00&outcome=answered"
    )
    assert listed_calls(client, shop["answered"]) == ["s1"]
    assert listed_calls(client, links(rows["company-bank"], COMPANY_KEYS)["answered"]) == [
        "c1",
        "c2",
        "c7",
        "c8",
    ]
    # Each company counts its own local day: no one range of the call log selects both.
    assert texts(rows["total"], COMPANY_KEYS)["offered"] == "9"
    assert links(rows["total"], COMPANY_KEYS) == {}


def overflow(pbx, call_id: str, hour: int, *, back: bool = False, over: bool = True) -> None:
    """A call that times out in cards and moves to loans at hour:00:30 (and back to cards at
    hour:01:00 with `back`), then is answered by Boris and hangs up (unless not `over`)."""
    pbx(call_id, K.QUEUED, at(hour, 0, 0), queue="cards")
    pbx(call_id, K.HANGUP, at(hour, 0, 30), queue="cards", cause=HangupCause.NO_ANSWER)
    pbx(call_id, K.QUEUED, at(hour, 0, 30), queue="loans")
    if back:
        pbx(call_id, K.HANGUP, at(hour, 1, 0), queue="loans", cause=HangupCause.NO_ANSWER)
        pbx(call_id, K.QUEUED, at(hour, 1, 0), queue="cards")
    if over:
        pbx(call_id, K.ANSWERED, at(hour, 1, 10), agent="102")
        pbx(call_id, K.HANGUP, at(hour, 2, 10), cause=HangupCause.NORMAL)


def test_an_overflowed_queues_offered_and_timeouts_list_the_calls_that_left_it(
    client, supervisor, company, synthetic_day
):
    pbx = Pbx(PbxConnection.objects.get(company=company))
    overflow(pbx, "o1", 13)
    # Still waiting in loans: in no figure of cards yet, nor in its links.
    overflow(pbx, "o2", 15, over=False)
    client.force_login(supervisor)
    found = assert_links_list_their_counts(
        client, client.get(QUEUES, DAY), QUEUE_KEYS, QUEUE_COUNTS
    )
    cards_pk, loans_pk = synthetic_day.cards.pk, synthetic_day.loans.pk
    cards, loans = found[f"queue-{cards_pk}"], found[f"queue-{loans_pk}"]
    assert cards["offered"] == (
        f"{CALLS}?company=bank&visited_queue={cards_pk}&{DAY_16}&state=over"
    )
    assert listed_calls(client, cards["offered"]) == [*OVER_DAY[:-1], "o1"]
    assert cards["timeouts"] == (
        f"{CALLS}?company=bank&visited_queue={cards_pk}&{DAY_16}&state=over&outcome=timeout"
    )
    assert listed_calls(client, cards["timeouts"]) == ["c6", "o1"]
    # Cards' other figures are its own calls'; o1 is answered in loans, its last queue.
    assert listed_calls(client, cards["answered"]) == ["c1", "c2", "c7"]
    assert listed_calls(client, loans["answered"]) == ["c8", "o1"]
    assert listed_calls(client, found["total"]["offered"]) == [*OVER_DAY, "o1"]
    page = client.get(cards["timeouts"]).content.decode()
    assert "Offered in Cards, the calls that overflowed from it to another queue included" in page


def test_a_call_offered_twice_in_a_queue_leaves_its_offered_and_timeouts_unlinked(
    client, supervisor, company, synthetic_day
):
    """o3 leaves cards for loans, then comes back to cards to be answered: cards' offered
    counts it twice, the call log would list it once."""
    pbx = Pbx(PbxConnection.objects.get(company=company))
    overflow(pbx, "o3", 13, back=True)
    client.force_login(supervisor)
    rows = table_rows(client.get(QUEUES, DAY)).rows
    cards = rows[f"queue-{synthetic_day.cards.pk}"]
    assert texts(cards, QUEUE_KEYS)["offered"] == "9"  # c1-c7, o3 twice
    cards_links = links(cards, QUEUE_KEYS)
    assert "offered" not in cards_links and "timeouts" not in cards_links
    assert listed_calls(client, cards_links["answered"]) == ["c1", "c2", "c7", "o3"]
    # Loans saw o3 once (it left loans for cards): exact, linked.
    loans = links(rows[f"queue-{synthetic_day.loans.pk}"], QUEUE_KEYS)
    assert listed_calls(client, loans["offered"]) == ["c8", "o3"]
    assert listed_calls(client, loans["timeouts"]) == ["o3"]
