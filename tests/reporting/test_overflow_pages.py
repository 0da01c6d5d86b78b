"""An overflowed call on the queue report's page: counted in both queues, and drill-down links
that list exactly the calls counted (more in test_drilldown.py)."""

from telephony.models import PbxConnection, Queue
from telephony.pbx.events import CallEventKind as K
from telephony.pbx.events import HangupCause
from tests.reporting.conftest import Pbx, at
from tests.reporting.test_report_pages import (
    DAY,
    QUEUE_KEYS,
    links,
    listed_calls,
    table_rows,
    texts,
)


def test_an_overflowed_call_is_offered_in_both_queues_and_links_stay_exact(
    client, supervisor, company, synthetic_day
):
    pbx = Pbx(PbxConnection.objects.get(company=company))
    pbx("o1", K.QUEUED, at(13, 0, 0), queue="cards")
    pbx("o1", K.HANGUP, at(13, 0, 30), queue="cards", cause=HangupCause.NO_ANSWER)
    pbx("o1", K.QUEUED, at(13, 0, 30), queue="loans")
    pbx("o1", K.ANSWERED, at(13, 0, 40), agent="102")
    pbx("o1", K.HANGUP, at(13, 1, 40), cause=HangupCause.NORMAL)
    cards = Queue.objects.get(company=company, code="cards").pk
    loans = Queue.objects.get(company=company, code="loans").pk
    client.force_login(supervisor)
    rows = table_rows(client.get("/reports/queues/", DAY | {"company": "bank"})).rows
    cards_row, loans_row = rows[f"queue-{cards}"], rows[f"queue-{loans}"]
    assert (texts(cards_row, QUEUE_KEYS)["offered"], texts(loans_row, QUEUE_KEYS)["offered"]) == (
        "8",
        "2",
    )
    # Cards counts o1 as offered and timed out; the call log lists o1 under loans, answered,
    # unless asked for the calls offered in cards (visited_queue): those two figures of cards
    # link with it, the others with cards as the last queue.
    cards_links = links(cards_row, QUEUE_KEYS)
    assert "o1" in listed_calls(client, cards_links["offered"])
    assert listed_calls(client, cards_links["timeouts"]) == ["c6", "o1"]
    assert "o1" not in listed_calls(client, cards_links["abandoned"])
    assert listed_calls(client, links(loans_row, QUEUE_KEYS)["offered"]) == ["c8", "o1"]
