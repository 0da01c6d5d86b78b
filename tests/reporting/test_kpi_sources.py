"""The same calls reach the call log by two roads, an Asterisk queue_log import and a native
PBX's webhook events: the reports must not tell them apart."""

import json
import time
from datetime import date
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from reporting import queries
from telephony.models import PbxConnection, Queue
from telephony.pbx import native

QUEUE_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "pbx" / "queue_log"

# The two calls of asterisk_18.log (queue 400), as a native PBX reports them: the same instants,
# and the durations the PBX measured (holdtime, calltime) in wait_seconds / talk_seconds.
NATIVE_EVENTS = [
    {
        "type": "queued",
        "timestamp": "1700200060.26",
        "call_id": "n1",
        "queue": "400",
        "caller": "+393401234567",
        "did": "0800123456",
    },
    {
        "type": "answered",
        "timestamp": "1700200079.9",
        "call_id": "n1",
        "agent": "202",
        "wait_seconds": 19,
    },
    {
        "type": "transferred",
        "timestamp": "1700200180.02",
        "call_id": "n1",
        "agent": "202",
        "transfer_to": "101",
    },
    {
        "type": "hangup",
        "timestamp": "1700200180.02",
        "call_id": "n1",
        "cause": "normal",
        "wait_seconds": 19,
        "talk_seconds": 101,
    },
    {
        "type": "queued",
        "timestamp": "1700200200.01",
        "call_id": "n2",
        "queue": "400",
        "caller": "3209876543",
        "did": "0800123456",
    },
    {
        "type": "answered",
        "timestamp": "1700200203.7",
        "call_id": "n2",
        "agent": "201",
        "wait_seconds": 3,
    },
    {
        "type": "hangup",
        "timestamp": "1700200333.3",
        "call_id": "n2",
        "cause": "normal",
        "wait_seconds": 3,
        "talk_seconds": 130,
    },
]


def test_a_queue_log_import_and_the_same_calls_by_webhook_give_the_same_report(
    client, company, other_company
):
    # 2023-11-17 around 06:00 UTC: the same local day in Moscow (bank) and Rome (shop).
    day = date(2023, 11, 17)
    for tenant in (company, other_company):
        Queue.objects.create(company=tenant, name="Support", code="400", service_level_seconds=20)
    out = StringIO()
    call_command(
        "import_queue_log", str(QUEUE_LOG / "asterisk_18.log"), "--company", "bank", stdout=out
    )
    assert "0 unusable lines" in out.getvalue()
    pbx = PbxConnection.objects.create(
        name="Shop PBX", company=other_company, format="native", secret="s3cret"
    )
    for n, event in enumerate(NATIVE_EVENTS, start=1):
        timestamp = float(event.pop("timestamp"))
        body = json.dumps({"event_id": f"n-{n}", "timestamp": _iso(timestamp), **event}).encode()
        response = client.post(
            f"/telephony/webhooks/{pbx.key}/",
            data=body,
            content_type="application/json",
            headers=native.sign(pbx.secret, body, int(time.time())),
        )
        assert response.status_code == 200, response.content

    def report(tenant):
        result = queries.queue_report(
            queries.ReportFilter(companies=(tenant,), date_from=day, date_to=day)
        )
        (row,) = result.rows
        return row

    imported, posted = report(company), report(other_company)
    assert imported.figures == posted.figures
    figures = imported.figures
    # By hand: 2 offered and answered, one of them transferred; waits 19 s and 3 s (both within
    # 20 s); talk 101 s + 130 s.
    assert (figures.offered, figures.answered, figures.transferred) == (2, 2, 1)
    assert (figures.answered_wait_seconds, figures.talk_seconds) == (22, 231)
    assert imported.service_level.value == posted.service_level.value == 1.0
    assert imported.figures.asa().value == 11.0


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
