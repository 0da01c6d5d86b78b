"""The applier: applies the PBX requests the webhook stored and answered (PBX_APPLY_IN_WORKER).

Applying an event takes a dozen statements and the pushes; storing it takes one INSERT. With
PBX_APPLY_IN_WORKER the webhook answers native-format requests as soon as they are stored
(202), and one applier process (`manage.py apply_pbx_events`) applies them in the order they
came, in batches: one transaction per batch, a savepoint per request, so that a request that
cannot be applied is marked and the others still go in. Nothing is lost on the way: a request
is applied or marked in the same transaction that takes it off the queue, and one the applier
never reached is still there, `received`, when it starts again.

PostgreSQL wakes the applier with NOTIFY when a request is stored; on SQLite it polls.
"""

import logging
import time
from collections.abc import Container

from django.db import InterfaceError, OperationalError, connection, transaction

from contactcenter.lib import rawsql
from telephony import batch, realtime
from telephony import connections as pbx_connections
from telephony.inbound import request_apply
from telephony.models import InboundRequest, PbxConnection
from telephony.pbx import native
from telephony.pbx.events import PayloadError
from telephony.services import lookups_kept

log = logging.getLogger(__name__)
Status = InboundRequest.Status

# The database is away: the batch stays queued and is tried again. Any other error is the
# request's own, and marks it.
TRANSIENT = (OperationalError, InterfaceError)

CHANNEL = "pbx_inbound"
BATCH_SIZE = 200

# While events keep coming, the applier pauses for a moment after a small batch, so that the
# next one is larger. A batch costs something of its own whatever its size (about 4 ms of CPU
# and a dozen statements: the queue, the calls with their events, agents and states, then the
# writes and the pushes), which 16 events share less well than 40. At saturation this took
# the applier from 1.44 to 1.13-1.20 ms of CPU per event, and the CPU left over raised the rate
# the call log keeps up with by about 8 % (bench/README.md, sixth session). The card then
# reaches its agent up to PAUSE_SECONDS later; the ringing notice, sent by the webhook itself,
# not at all. So the pause follows only a batch of PAUSE_FROM requests or more: a smaller one
# means the applier keeps up easily, and pausing then only delayed the cards (at 100 events a
# second on 2 cores, every batch small: the card's median went from 32 to 103 ms). After a
# quiet spell the first request is applied at once: the pause follows a batch, never a wait.
PAUSE_SECONDS = 0.03
PAUSE_FROM = 8


# The stored requests not yet applied, as the partial index `inbound_pending` is defined. Written
# into the SQL, not passed as a parameter: a prepared statement's generic plan cannot know that a
# parameter will be 'received', and then reads every stored request in the table (1.4 to 5 ms
# per batch with 5,000 of them, growing with the table) instead of the index of those waiting.
PENDING = f"status = '{Status.RECEIVED.value}'"

# Held (an advisory lock, exclusive) by the applier while it waits, and only then.
IDLE_LOCK = 8_042_301_170  # any constant nothing else locks

# Evaluated by the webhook's INSERT of each stored request, on PostgreSQL: a NOTIFY that the
# waiting applier hears when that request commits. A NOTIFY takes a lock that every notifying
# commit in the database queues for, with its WAL flush inside it: under load the webhooks'
# commits went one at a time (no group commit) and their answers waited behind each other. So
# the webhook notifies only an applier that is waiting. While the applier works, the webhook's
# transaction takes IDLE_LOCK shared instead, and keeps it until its commit; an applier about to
# wait first takes IDLE_LOCK exclusive, which waits for those commits, then looks for stored
# requests once more: no request is left without either a NOTIFY or that last look.
# The payload is the request's id, so that the applier can tell the requests it has already
# applied from new ones and does not wake for nothing.
WAKE = (
    f"CASE WHEN pg_try_advisory_xact_lock_shared({IDLE_LOCK}) THEN NULL"
    f" ELSE pg_notify('{CHANNEL}', id::text)::text END"
)


def pause_after(applied: int, limit: int, pause: float = PAUSE_SECONDS) -> float:
    """Seconds to pause before the next batch, after one of `applied` requests of at most
    `limit`: only after one of a busy stream that is still small (from PAUSE_FROM requests to
    under a quarter of the limit; a larger one already shares its cost well)."""
    return pause if PAUSE_FROM <= applied < limit // 4 else 0.0


def listen() -> None:
    if connection.vendor == "postgresql":
        rawsql.execute(f"LISTEN {CHANNEL}")


def wait(timeout: float, applied: Container[int] = ()) -> None:
    """Until a request may have been stored, or `timeout` seconds (LISTEN first).

    `applied`: the ids of requests applied since the last wait. Their notifications, heard
    while their batch was being applied, do not end the wait: the applier would wake to find
    nothing (two statements each time, for every batch)."""
    if connection.vendor != "postgresql":
        time.sleep(min(timeout, 0.2))
        return
    rawsql.execute("SELECT pg_advisory_lock(%s)", [IDLE_LOCK])
    try:
        # Stored while the last batch was applied, without a NOTIFY. (Rows another applier has
        # taken are passed over: a second applier would otherwise spin while the first works.)
        if rawsql.execute(
            f"SELECT 1 FROM telephony_inboundrequest WHERE {PENDING} LIMIT 1 FOR UPDATE SKIP LOCKED"
        ):
            return
        for notify in connection.connection.notifies(timeout=timeout):
            if not notify.payload.isdigit() or int(notify.payload) not in applied:
                break
    finally:
        rawsql.execute("SELECT pg_advisory_unlock(%s)", [IDLE_LOCK])


# What the applier reads of a stored request: the address and headers it came with are kept for
# the record, and reading them back (an `ipaddress` object and a JSON document per request) was
# work for nothing.
_APPLIED_FROM = ("connection", "body", "status", "error")


def apply_pending(limit: int = BATCH_SIZE, taken: set[int] | None = None) -> int:
    """Apply up to `limit` stored requests, oldest first, in one transaction; how many.
    `taken`, when given, receives their ids.

    The batch is tried whole first, without a savepoint per request (two statements each);
    when a request fails, the batch is rolled back and tried again one savepoint per request,
    so that the failing one is marked and the others still go in.
    """
    with realtime.held(), lookups_kept():
        try:
            return _apply_batch(limit, taken, isolated=False)
        except TRANSIENT:
            raise
        except Exception:
            return _apply_batch(limit, taken, isolated=True)


def _apply_batch(limit: int, taken: set[int] | None = None, *, isolated: bool) -> int:
    with transaction.atomic():
        pending = rawsql.select(
            InboundRequest,
            PENDING,
            [],
            order_by="id",
            limit=limit,
            lock=True,
            skip_locked=True,
            fields=_APPLIED_FROM,
        )
        if not pending:
            return 0
        if taken is not None:
            taken.update(r.pk for r in pending)
        ids = sorted({r.connection_id for r in pending if r.connection_id is not None})
        connections = pbx_connections.by_ids(ids) if ids else {}
        for inbound in pending:
            if inbound.connection_id not in connections:
                # The connection was deleted after the request was stored: nobody to apply it
                # for. Kept, and said, rather than retried for ever.
                inbound.status, inbound.error = Status.REJECTED, "connection deleted"
                rawsql.update(inbound, ["status", "error"])
        kept = [r for r in pending if r.connection_id in connections]
        if isolated:
            for inbound in kept:
                _apply_isolated(connections[inbound.connection_id], inbound)
        else:
            _apply_together(connections, kept)
    return len(pending)


def _apply_together(connections: dict[int, PbxConnection], pending: list) -> None:
    """Apply the batch through one unit of work (telephony.batch)."""
    parsed = [(connections[r.connection_id], r, native.parse(bytes(r.body))) for r in pending]
    applied = []
    with batch.applying((pbx, events) for pbx, _inbound, events in parsed):
        for pbx, inbound, events in parsed:
            request_apply(pbx, inbound, events, write_status=False)
            if (inbound.status, inbound.error) == (Status.APPLIED, ""):
                applied.append(inbound.pk)
            else:
                rawsql.update(inbound, ["status", "error"])
        if applied:
            # The common outcome, one statement for the whole batch, written with its rows.
            batch.current().later(
                "UPDATE telephony_inboundrequest SET status = %s "
                f"WHERE id IN ({rawsql.placeholders(applied)})",
                [Status.APPLIED, *applied],
            )


def _apply_isolated(pbx: PbxConnection, inbound: InboundRequest) -> None:
    try:
        with transaction.atomic():  # a savepoint: one request's failure stays its own
            # Authenticated when it came in; only the native format is applied here.
            request_apply(pbx, inbound, native.parse(bytes(inbound.body)))
    except PayloadError as error:
        inbound.status, inbound.error = Status.REJECTED, str(error)
        rawsql.update(inbound, ["status", "error"])
    except TRANSIENT:
        raise  # the whole batch goes back to the queue, for the next try
    except Exception:  # a bug, or data the database refuses (IntegrityError, DataError)
        log.exception("PBX applier: request %s failed", inbound.pk)
        inbound.status, inbound.error = Status.FAILED, "not applied: server error"
        rawsql.update(inbound, ["status", "error"])
