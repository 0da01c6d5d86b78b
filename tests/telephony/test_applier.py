"""PBX_APPLY_IN_WORKER: the webhook answers once the request is stored, the applier applies it."""

import io
import threading
import time
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection as db_connection

from contactcenter.lib import rawsql
from telephony import applier
from telephony import connections as pbx_connections
from telephony.models import (
    AgentState,
    AgentStateInterval,
    Call,
    CallEventRecord,
    DidRoute,
    Extension,
    InboundRequest,
    PbxConnection,
)
from tests.conftest import generic_plan
from tests.telephony.test_webhooks import post_native, ringing


@pytest.fixture
def connection(company):
    return PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", secret="s3cret"
    )


@pytest.fixture
def in_worker(settings):
    settings.PBX_APPLY_IN_WORKER = True


@pytest.fixture
def agent_101(company, agent):
    from telephony.models import Agent

    row = Agent.objects.create(company=company, user=agent)
    Extension.objects.create(company=company, agent=row, number="101")
    return row


def statuses():
    return list(InboundRequest.objects.order_by("id").values_list("status", "error"))


def test_the_pbx_is_answered_once_stored_and_the_applier_applies(
    client, connection, customer, agent_101, in_worker, django_capture_on_commit_callbacks
):
    response = post_native(client, connection, ringing(type="ringing", agent="101", event_id="e1"))
    assert (response.status_code, response.json()) == (202, {"accepted": 1})
    assert statuses() == [("received", "")]
    assert Call.objects.count() == 0

    with (
        mock.patch("telephony.realtime.push_call") as push,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert applier.apply_pending() == 1
    assert statuses() == [("applied", "")]
    call = Call.objects.get()
    assert (call.pbx_call_id, call.caller_e164, call.agent_id) == (
        "c1",
        "+79161234567",
        agent_101.pk,
    )
    assert list(call.customers.all()) == [customer]
    assert AgentStateInterval.objects.get(agent=agent_101).state == AgentState.RINGING
    # The card went to the ringing agent after the batch committed.
    (agent_ids, _, payload, _, states), _ = push.call_args
    assert (agent_ids, payload["customers"][0]["name"], states[0][1]["state"]) == (
        [agent_101.pk],
        "Ivan Petrov",
        "ringing",
    )
    assert applier.apply_pending() == 0


def test_duplicates_and_reordered_events_come_out_as_applied_at_once(client, connection, in_worker):
    events = [
        ringing(event_id="e3", type="hangup", cause="normal", timestamp="2026-11-23T09:01:00Z"),
        ringing(event_id="e1"),
        ringing(event_id="e2", type="answered", agent="101", timestamp="2026-11-23T09:00:10Z"),
        ringing(event_id="e1"),
    ]
    for event in events:
        assert post_native(client, connection, event).status_code == 202
    assert applier.apply_pending(limit=2) == 2  # in the order they came, a batch at a time
    assert applier.apply_pending() == 2
    assert [s for s, _ in statuses()] == ["applied", "applied", "applied", "duplicate"]
    call = Call.objects.get()
    assert (call.outcome, call.queue_wait_seconds, call.talk_seconds) == ("answered", 10, 50)
    assert CallEventRecord.objects.count() == 3


def test_a_request_that_cannot_be_applied_is_marked_and_the_batch_goes_on(
    client, company, in_worker
):
    shared = PbxConnection.objects.create(name="Shared", format="native", secret="s3cret")
    DidRoute.objects.create(company=company, connection=shared, did="+74950000000")
    post_native(client, shared, ringing(event_id="e1", did="+74959999999"))
    post_native(client, shared, ringing(event_id="e2", call_id="c2", did="+74950000000"))
    post_native(client, shared, ringing(event_id="e3", call_id="c3", did="+74950000000"))
    real = applier.request_apply

    def buggy_for_c2(pbx, inbound, events, **kwargs):
        if events[0].call_id == "c2":
            raise KeyError("a bug")
        return real(pbx, inbound, events, **kwargs)

    with mock.patch("telephony.applier.request_apply", side_effect=buggy_for_c2):
        assert applier.apply_pending() == 3
    assert statuses() == [
        ("rejected", "did: +74959999999 is not routed to any client company on this connection"),
        ("failed", "not applied: server error"),
        ("applied", ""),
    ]
    assert list(Call.objects.values_list("pbx_call_id", flat=True)) == ["c3"]


def test_zammad_bridges_still_get_their_answer_at_once(client, company, in_worker):
    cti = PbxConnection.objects.create(name="CTI", company=company, format="zammad")
    response = client.post(
        f"/telephony/webhooks/{cti.key}/",
        data={
            "event": "newCall",
            "from": "89031112233",
            "to": "4950000000",
            "direction": "in",
            "callId": "z1",
        },
    )
    assert (response.status_code, response.json()) == (200, {})
    assert statuses() == [("applied", "")]
    assert Call.objects.get().pbx_call_id == "z1"


def test_a_malformed_request_is_still_refused_at_once(client, connection, in_worker):
    response = post_native(client, connection, {"call_id": "c1"})
    assert response.status_code == 400
    assert [s for s, _ in statuses()] == ["rejected"]
    assert applier.apply_pending() == 0


def test_the_command_applies_what_is_waiting(client, connection, in_worker):
    for n in range(3):
        post_native(client, connection, ringing(event_id=f"e{n}", call_id=f"c{n}"))
    out = io.StringIO()
    call_command("apply_pbx_events", "--once", "--batch", "2", stdout=out)
    assert out.getvalue().strip() == "applied 3 requests"
    assert [s for s, _ in statuses()] == ["applied"] * 3


@pytest.mark.parametrize(
    ("options", "pause"), [([], applier.PAUSE_SECONDS), (["--pause", "0.05"], 0.05)]
)
def test_the_applier_pauses_after_a_small_batch_of_a_busy_stream_only(monkeypatch, options, pause):
    """After a batch of 8 requests up to a quarter of the limit, a pause lets the next batch
    gather more; a batch of fewer (the applier keeps up) or of more (its cost is shared well)
    is followed by the next at once, and an empty one by a wait, never a pause."""

    class Stop(Exception):
        pass

    sizes = iter([7, 8, 49, 50, 200, 0, 1, 12])

    def apply_pending(limit, taken):
        assert limit == 200
        if (size := next(sizes, None)) is None:
            raise Stop
        return size

    done = []
    monkeypatch.setattr("signal.signal", lambda *args: None)  # the test runner's, kept
    monkeypatch.setattr(applier, "listen", lambda: None)
    frozen = []
    monkeypatch.setattr(
        "telephony.management.commands.apply_pbx_events.freeze_loaded", lambda: frozen.append(1)
    )
    monkeypatch.setattr(applier, "apply_pending", apply_pending)
    monkeypatch.setattr(applier, "wait", lambda timeout, applied: done.append("wait"))
    monkeypatch.setattr("time.sleep", done.append)
    with pytest.raises(Stop):
        call_command("apply_pbx_events", *options)
    assert done == [pause, pause, "wait", pause]
    assert frozen == [1]  # once, before the first batch


@pytest.mark.django_db(transaction=True)
def test_a_stored_request_wakes_the_waiting_applier(connection, in_worker):
    """On PostgreSQL the webhook's INSERT carries a NOTIFY that ends the applier's wait at once
    (SQLite polls)."""
    from django.test import Client

    applier.listen()
    answers = []

    def store_later():
        from django.db import connection as own

        time.sleep(0.3)
        answers.append(post_native(Client(), connection, ringing()).status_code)
        own.close()

    started = time.monotonic()
    thread = threading.Thread(target=store_later)
    thread.start()
    applier.wait(timeout=5.0)
    waited = time.monotonic() - started
    thread.join()
    assert answers == [202]
    assert waited < 1.5, f"waited {waited:.2f} s"
    if db_connection.vendor == "postgresql":
        assert waited >= 0.3
    assert applier.apply_pending() == 1
    assert statuses() == [("applied", "")]


@pytest.mark.django_db(transaction=True)
def test_a_batch_sends_its_pushes_in_one_hand_over_after_commit(
    client, connection, company, agent_101, in_worker
):
    from contactcenter.tenancy.models import Role
    from telephony import realtime
    from telephony.models import Agent
    from tests.conftest import make_user

    boris = Agent.objects.create(company=company, user=make_user("boris", company, Role.AGENT))
    Extension.objects.create(company=company, agent=boris, number="102")
    post_native(client, connection, ringing(event_id="e1", type="ringing", agent="101"))
    post_native(
        client, connection, ringing(event_id="e2", call_id="c2", type="ringing", agent="102")
    )
    with (
        mock.patch("telephony.realtime._send", wraps=realtime._send) as send,
        mock.patch("telephony.realtime.send_many") as group_send_all,
    ):
        assert applier.apply_pending() == 2
    # Two events, one push each after commit, held and sent together: one trip to the layer.
    assert send.call_count == 3
    (_layer, _config, messages), _ = group_send_all.call_args
    assert group_send_all.call_count == 1
    assert [(group, message["type"]) for group, message in messages] == [
        (f"agent.{agent_101.pk}", "call.update"),
        (f"live.{company.pk}", "live.call"),
        (f"agent.{agent_101.pk}", "state.update"),
        (f"live.{company.pk}", "live.state"),
        (f"agent.{boris.pk}", "call.update"),
        (f"live.{company.pk}", "live.call"),
        (f"agent.{boris.pk}", "state.update"),
        (f"live.{company.pk}", "live.state"),
    ]


def test_a_request_whose_connection_was_deleted_is_marked_and_the_rest_applied(
    client, connection, company, in_worker
):
    gone = PbxConnection.objects.create(
        name="Old PBX", company=company, format="native", secret="s3cret"
    )
    post_native(client, gone, ringing(event_id="g1", call_id="g1"))
    post_native(client, connection, ringing(event_id="e1"))
    gone.delete()  # the stored request keeps no connection (SET_NULL)
    assert applier.apply_pending() == 2
    assert statuses() == [("rejected", "connection deleted"), ("applied", "")]
    assert list(Call.objects.values_list("pbx_call_id", flat=True)) == ["c1"]


@pytest.mark.django_db(transaction=True)
def test_a_batch_sends_only_the_latest_state_of_each_call_and_agent(
    client, connection, company, agent_101, in_worker
):
    from telephony import realtime

    post_native(client, connection, ringing(event_id="e1", type="ringing", agent="101"))
    post_native(
        client,
        connection,
        ringing(event_id="e2", type="answered", agent="101", timestamp="2026-11-23T09:00:05Z"),
    )
    with mock.patch("telephony.realtime.send_many") as group_send_all:
        assert applier.apply_pending() == 2
    (_layer, _config, messages), _ = group_send_all.call_args
    # Ringing then answered in one batch: each screen hears the call answered and the agent on
    # the call, once; the ringing state in between is not sent.
    assert [(group, message["type"]) for group, message in messages] == [
        (f"agent.{agent_101.pk}", "call.update"),
        (f"live.{company.pk}", "live.call"),
        (f"agent.{agent_101.pk}", "state.update"),
        (f"live.{company.pk}", "live.state"),
    ]
    assert [
        message.get("call", message.get("state"))["answered_at" if "call" in message else "state"]
        for _group, message in messages
    ] == [
        "2026-11-23T09:00:05+00:00",
        "2026-11-23T09:00:05+00:00",
        "on_call",
        "on_call",
    ]
    assert realtime.latest([("g", {"type": "other"}), ("g", {"type": "other"})]) == [
        ("g", {"type": "other"}),
        ("g", {"type": "other"}),
    ]


def test_the_connection_is_read_once_for_a_few_seconds_and_again_after_a_change(
    client, connection, in_worker
):
    from django.test.utils import CaptureQueriesContext

    def reads_of_connections():
        with CaptureQueriesContext(db_connection) as queries:
            applier.apply_pending()
        return sum('FROM "telephony_pbxconnection"' in q["sql"] for q in queries)

    post_native(client, connection, ringing(event_id="e1", call_id="c1"))
    pbx_connections.forget()
    assert reads_of_connections() == 1
    post_native(client, connection, ringing(event_id="e2", call_id="c2"))
    assert reads_of_connections() == 0
    connection.name = "Bank PBX (new)"
    connection.save()
    post_native(client, connection, ringing(event_id="e3", call_id="c3"))
    assert reads_of_connections() == 1
    assert statuses() == [("applied", "")] * 3


def _notifications(timeout: float) -> list[str]:
    return [n.payload for n in db_connection.connection.notifies(timeout=timeout)]


@pytest.mark.django_db(transaction=True)
def test_a_request_stored_while_the_applier_works_sends_no_notify_and_is_found(
    client, connection, in_worker
):
    """NOTIFY makes every notifying commit queue for one lock: the webhook notifies only an
    applier that waits. One that works looks for stored requests before it waits."""
    applier.listen()
    assert post_native(client, connection, ringing()).status_code == 202
    started = time.monotonic()
    applier.wait(timeout=5.0)
    waited = time.monotonic() - started
    if db_connection.vendor == "postgresql":
        assert _notifications(timeout=0.2) == []
        assert waited < 0.15, f"waited {waited:.2f} s"
    assert applier.apply_pending() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_committed_as_the_applier_starts_to_wait_is_not_missed(connection, in_worker):
    """The webhook's transaction began while the applier worked, so it sends no NOTIFY; it
    commits after the applier's last look would have run. The applier's wait waits for it."""
    from django.db import transaction
    from django.test import Client

    applier.listen()
    stored, answers = threading.Event(), []

    def store_and_commit_late():
        from django.db import connection as own

        with transaction.atomic():
            answers.append(post_native(Client(), connection, ringing()).status_code)
            stored.set()
            time.sleep(0.3)
        own.close()

    thread = threading.Thread(target=store_and_commit_late)
    thread.start()
    assert stored.wait(timeout=5)
    started = time.monotonic()
    applier.wait(timeout=5.0)
    waited = time.monotonic() - started
    thread.join()
    assert answers == [202]
    if db_connection.vendor == "postgresql":
        assert 0.2 <= waited < 1.0, f"waited {waited:.2f} s"
        assert _notifications(timeout=0.2) == []
    assert applier.apply_pending() == 1


@pytest.mark.django_db(transaction=True)
def test_the_notifications_of_requests_already_applied_do_not_wake_the_applier(
    connection, in_worker
):
    from django.test import Client

    applier.listen()
    waiting = threading.Event()
    taken: set[int] = set()

    def store_while_waiting():
        from django.db import connection as own

        assert waiting.wait(timeout=5)
        time.sleep(0.2)
        post_native(Client(), connection, ringing(event_id="e1", call_id="c1"))
        own.close()

    # Stored while the applier waits: heard, then applied.
    thread = threading.Thread(target=store_while_waiting)
    thread.start()
    waiting.set()
    applier.wait(timeout=5.0)
    thread.join()
    assert applier.apply_pending(taken=taken) == 1
    (first,) = InboundRequest.objects.values_list("pk", flat=True)
    assert taken == {first}
    if db_connection.vendor != "postgresql":
        return
    # Its notification heard again (as when it arrives during the batch) ends no wait...
    rawsql.execute("SELECT pg_notify(%s, %s)", [applier.CHANNEL, str(first)])
    started = time.monotonic()
    applier.wait(timeout=0.5, applied=taken)
    assert time.monotonic() - started >= 0.45
    # ...and a new request's does.
    rawsql.execute("SELECT pg_notify(%s, %s)", [applier.CHANNEL, str(first + 1)])
    started = time.monotonic()
    applier.wait(timeout=5.0, applied=taken)
    assert time.monotonic() - started < 0.3


@pytest.mark.django_db(transaction=True)
def test_requests_another_applier_has_taken_do_not_end_the_wait(client, connection, in_worker):
    """Two appliers by mistake: the one with nothing to do waits instead of spinning."""
    from django.db import transaction

    assert post_native(client, connection, ringing()).status_code == 202
    taken, release = threading.Event(), threading.Event()

    def other_applier():
        from django.db import connection as own

        with transaction.atomic():
            rawsql.select(InboundRequest, "status = %s", ["received"], lock=True)
            taken.set()
            release.wait(timeout=5)
        own.close()

    thread = threading.Thread(target=other_applier)
    thread.start()
    assert taken.wait(timeout=5)
    applier.listen()
    if db_connection.vendor == "postgresql":
        _notifications(timeout=0.05)  # earlier tests' on this connection
    started = time.monotonic()
    applier.wait(timeout=0.5)
    waited = time.monotonic() - started
    release.set()
    thread.join()
    assert waited >= 0.19  # SQLite polls every 0.2 s at most
    if db_connection.vendor == "postgresql":
        assert waited >= 0.45, f"waited {waited:.2f} s"
    assert applier.apply_pending() == 1


def test_the_queue_of_stored_requests_is_read_through_its_partial_index(
    client, connection, in_worker
):
    """The applier's statements are prepared on PostgreSQL: its query for the stored requests
    must match `inbound_pending` in a generic plan too, or each batch reads the whole table."""
    post_native(client, connection, ringing(event_id="e1"))
    captured = []

    def capture(execute, sql, params, many, context):
        if sql.startswith("SELECT") and 'FROM "telephony_inboundrequest"' in sql:
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with db_connection.execute_wrapper(capture):
        assert applier.apply_pending() == 1
    [(sql, params)] = captured
    # What applying needs, not the address and headers kept for the record.
    read = sql[len("SELECT ") : sql.index(" FROM ")].replace('"telephony_inboundrequest".', "")
    assert read == '"id", "connection_id", "body", "status", "error"'
    assert "status\" = 'received'" not in sql  # the ORM's spelling is not what runs here
    assert "status = 'received'" in sql and list(params) == []
    if db_connection.vendor == "postgresql":
        assert "inbound_pending" in generic_plan(sql)


def test_a_stored_ringing_request_is_read_for_its_notice_in_the_same_statement(
    client, connection, customer, agent_101, in_worker
):
    """On PostgreSQL the ringing notice's read goes in the RETURNING of the INSERT that stores
    the request: one statement, one round trip. SQLite reads after the INSERT."""
    from django.test.utils import CaptureQueriesContext

    post_native(client, connection, ringing(event_id="e1"))  # the connection, read and kept
    pushed = []
    with (
        CaptureQueriesContext(db_connection) as queries,
        mock.patch("telephony.realtime.push_ringing", pushed.extend),
    ):
        response = post_native(
            client, connection, ringing(event_id="e2", type="ringing", agent="101")
        )
    assert response.status_code == 202
    statements = [q["sql"].split(" ", 1)[0] for q in queries.captured_queries]
    if db_connection.vendor == "postgresql":
        assert statements == ["INSERT"]
        assert "telephony_extension" in queries.captured_queries[0]["sql"]
    else:
        assert statements == ["INSERT", "SELECT"]
    assert pushed == [
        (
            agent_101.pk,
            {
                "pbx_call_id": "c1",
                "company": connection.company.slug,
                "caller": "8 (916) 123-45-67",
                "caller_e164": "+79161234567",
                "ringing_at": "2026-11-23T09:00:00+00:00",
                "customers": [
                    {"id": customer.pk, "name": "Ivan Petrov", "url": f"/customers/{customer.pk}/"}
                ],
            },
        )
    ]
    assert statuses() == [("received", ""), ("received", "")]


def test_each_ringing_event_of_a_batch_request_gets_its_own_notice(
    client, connection, customer, agent_101, in_worker
):
    """Two ringing events in one request: a read each (on PostgreSQL two columns of the
    INSERT, their parameters in order), each notice to its own agent."""
    from contactcenter.tenancy.models import Role
    from telephony.models import Agent
    from tests.conftest import make_user

    colleague = Agent.objects.create(
        company=connection.company, user=make_user("colleague", connection.company, Role.AGENT)
    )
    Extension.objects.create(company=connection.company, agent=colleague, number="102")
    pushed = []
    with mock.patch("telephony.realtime.push_ringing", pushed.extend):
        response = post_native(
            client,
            connection,
            {
                "events": [
                    ringing(event_id="e1", call_id="c1", type="ringing", agent="102"),
                    ringing(event_id="e2", call_id="c2", type="ringing", agent="101", caller="555"),
                ]
            },
        )
    assert (response.status_code, response.json()) == (202, {"accepted": 2})
    assert [(agent_id, n["pbx_call_id"], n["customers"]) for agent_id, n in pushed] == [
        (
            colleague.pk,
            "c1",
            [{"id": customer.pk, "name": "Ivan Petrov", "url": f"/customers/{customer.pk}/"}],
        ),
        (agent_101.pk, "c2", []),
    ]


def _call_writes(captured) -> list[str]:
    return [
        sql.split(" (", 1)[0].split(" SET ", 1)[0]
        for sql in captured
        if sql.startswith(("INSERT", "UPDATE")) and 'telephony_call"' in sql.split(" (", 1)[0]
    ]


def test_the_new_calls_of_a_batch_are_written_once_each_with_their_derived_values(
    client, connection, customer, agent_101, in_worker
):
    """On PostgreSQL a batch takes its new calls' keys from the sequence ahead and inserts each
    call once, at the end, as derived from all its events: no INSERT then UPDATE of the same
    row, no statement of its own for each call. On SQLite each is inserted when it is made."""
    for call_id in ("c1", "c2"):
        post_native(client, connection, ringing(event_id=f"{call_id}-q", call_id=call_id))
        post_native(
            client,
            connection,
            ringing(
                event_id=f"{call_id}-r",
                call_id=call_id,
                type="ringing",
                agent="101",
                timestamp="2026-11-23T09:00:12Z",
            ),
        )
    post_native(
        client,
        connection,
        ringing(
            event_id="c1-a",
            call_id="c1",
            type="answered",
            agent="101",
            timestamp="2026-11-23T09:00:20Z",
        ),
    )
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append(sql)
        return execute(sql, params, many, context)

    with db_connection.execute_wrapper(capture):
        assert applier.apply_pending() == 5
    calls = {c.pbx_call_id: c for c in Call.objects.all()}
    assert sorted(calls) == ["c1", "c2"]
    assert (calls["c1"].outcome, calls["c1"].ring_seconds, calls["c1"].answered_at.second) == (
        Call.Outcome.ANSWERED,
        8,
        20,
    )
    assert (
        calls["c2"].agent_id,
        calls["c2"].queue_wait_seconds,
        calls["c2"].ringing_at.second,
    ) == (
        agent_101.pk,
        None,
        12,
    )
    assert {c.caller_e164 for c in calls.values()} == {"+79161234567"}
    assert set(Call.customers.through.objects.values_list("call__pbx_call_id", "customer_id")) == {
        ("c1", customer.pk),
        ("c2", customer.pk),
    }
    assert CallEventRecord.objects.filter(call=calls["c1"]).count() == 3
    if db_connection.vendor == "postgresql":
        assert _call_writes(captured) == ['INSERT INTO "telephony_call"']
        [insert] = [sql for sql in captured if sql.startswith('INSERT INTO "telephony_call" (')]
        assert insert.startswith('INSERT INTO "telephony_call" ("id", ')
        assert calls["c1"].pk < calls["c2"].pk  # keys in the order the calls came
    else:
        assert _call_writes(captured) == [
            'INSERT INTO "telephony_call"',
            'INSERT INTO "telephony_call"',
            'UPDATE "telephony_call"',
        ]


@pytest.mark.django_db(transaction=True)
def test_a_call_another_applier_creates_meanwhile_is_applied_to_not_duplicated(
    client, connection, agent_101, in_worker
):
    """Two appliers may take two requests of one new call. The batch that finds the call made
    by the other when it writes (the unique connection and PBX call id) starts again without its
    unit of work, and applies its events to that call."""
    from telephony import batch

    post_native(client, connection, ringing(event_id="r", type="ringing", agent="101"))
    preload = batch.Batch.preload

    keys_taken = []

    def preload_then_another_applier_creates_the_call(self, requests):
        preload(self, requests)
        keys_taken.append(len(self.call_keys))
        if db_connection.vendor != "postgresql":
            return  # SQLite: no keys ahead, the call is inserted as it is made (and locks all)

        def create():
            from django.db import connection as own

            Call.objects.create(
                company_id=connection.company_id,
                connection=connection,
                pbx_call_id="c1",
                offered_at="2026-11-23T08:59:58Z",
            )
            own.close()

        thread = threading.Thread(target=create)
        thread.start()
        thread.join()

    with mock.patch.object(batch.Batch, "preload", preload_then_another_applier_creates_the_call):
        assert applier.apply_pending() == 1
    call = Call.objects.get(pbx_call_id="c1")
    assert (call.agent_id, call.ringing_at.isoformat()) == (
        agent_101.pk,
        "2026-11-23T09:00:00+00:00",
    )
    assert statuses() == [("applied", "")]
    assert CallEventRecord.objects.get().call_id == call.pk
    assert AgentStateInterval.objects.get(ended_at=None).call_id == call.pk
    # The batch, then the batch started again without its unit of work (PostgreSQL only).
    assert keys_taken == ([1] if db_connection.vendor == "postgresql" else [0])
