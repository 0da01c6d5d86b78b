"""The PBX webhook: resolve the connection, store the raw request, check it, parse, apply.

Status codes are what PBXs act on: 2xx means "delivered, do not retry" (also for a duplicate),
401 a bad signature, 400 a payload we will never be able to read (kept, marked rejected), 404 an
unknown connection key, 503 "retry later" when the database cannot take the event.
"""

import logging
import time

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from contactcenter.lib import rawsql
from contactcenter.lib.phones import lookup_key
from telephony import applier, connections, ringing
from telephony.inbound import request_apply
from telephony.models import BlockedNumber, InboundRequest, PbxConnection
from telephony.pbx import native, twilio, zammad
from telephony.pbx.events import CallEventKind, PayloadError, SignatureError
from telephony.services import company_for_event

log = logging.getLogger(__name__)
Status = InboundRequest.Status

_STORED_HEADERS = (
    "content-type",
    "user-agent",
    "x-cc-timestamp",
    "x-cc-signature",
    "x-twilio-signature",
)


def _retry_later() -> JsonResponse:
    response = JsonResponse({"error": "database unavailable, retry later"}, status=503)
    response["Retry-After"] = "5"
    return response


def _stored_headers(request: HttpRequest) -> dict[str, str]:
    """The request's headers worth keeping, read from META by name (`request.headers` would
    convert every header the request has)."""
    found = {}
    for name in _STORED_HEADERS:
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        if (value := request.META.get(key)) is not None:
            found[name.title()] = value  # as `request.headers` names them
    return found


def _inbound(
    connection: PbxConnection,
    request: HttpRequest,
    headers: dict[str, str],
    status: str,
    error: str = "",
) -> InboundRequest:
    """The request as it is stored; `headers`: those worth keeping (`_stored_headers`)."""
    return rawsql.new(
        InboundRequest,
        connection=connection,
        remote_addr=request.META.get("REMOTE_ADDR") or None,
        content_type=headers.get("Content-Type", "")[:200],
        headers=headers,
        body=request.body,
        status=status,
        error=error,
    )


def _store_received(
    connection: PbxConnection,
    request: HttpRequest,
    headers: dict[str, str],
    notices: ringing.Notices,
) -> None:
    """Store the request for the applier, with the applier's wake-up call and, on PostgreSQL,
    the ringing notices' read in the same statement: one statement, one commit."""
    inbound = _inbound(connection, request, headers, Status.RECEIVED)
    columns, params = notices.columns()
    if columns and db_connection.vendor == "postgresql":
        also = f"{applier.WAKE}, {columns}"
        notices.read_with(rawsql.insert_returning(inbound, also, params)[1:])
    else:
        rawsql.insert(inbound, also=applier.WAKE)


def _store_refused(connection, request, headers, status: str, error: str, http_status: int):
    try:
        rawsql.insert(_inbound(connection, request, headers, status, error))
    except DatabaseError:
        log.exception("PBX webhook: cannot store a refused request of connection %s", connection.pk)
        return _retry_later()
    return JsonResponse({"error": error}, status=http_status)


def _parse(
    connection: PbxConnection, request: HttpRequest, headers: dict[str, str], received_at
) -> list:
    """Authenticate (SignatureError) and parse (PayloadError) by the connection's format;
    `headers`: the request's stored headers."""
    if connection.format == PbxConnection.Format.NATIVE:
        native.verify(connection.secret, headers, request.body, now=time.time())
        return native.parse(request.body)
    if connection.format == PbxConnection.Format.ZAMMAD:
        # Generic CTI bridges authenticate by the secret URL key alone, as in Zammad.
        return zammad.parse(request.body, request.headers.get("content-type", ""), received_at)
    if connection.format == PbxConnection.Format.TWILIO:
        # Twilio signs the public URL it called: behind a proxy, SECURE_PROXY_SSL_HEADER (set)
        # and the Host header must reach us unchanged.
        twilio.verify(
            connection.secret,
            request.build_absolute_uri(),
            request.POST,
            request.headers.get("X-Twilio-Signature", ""),
        )
        return twilio.parse(request.body, request.headers.get("content-type", ""), received_at)
    raise PayloadError(f"format {connection.format} is not accepted on this endpoint")


def _is_blocked(connection: PbxConnection, events: list) -> bool:
    for event in events:
        if event.kind in (CallEventKind.QUEUED, CallEventKind.RINGING) and event.caller:
            company = company_for_event(connection, event)
            e164 = lookup_key(event.caller, company.default_country)
            if e164 and BlockedNumber.objects.for_tenant(company).filter(e164=e164).exists():
                return True
    return False


@csrf_exempt
@require_POST
def pbx_webhook(request: HttpRequest, key: str) -> JsonResponse:
    """Authenticate and parse in memory, then store the raw request and apply its events in one
    transaction: the request is on record whatever the answer (a refused one is stored marked as
    such), and the PBX hears 2xx only once both are committed. A database failure rolls back
    both and answers 503, so the PBX sends it again: nothing is lost."""
    try:
        connection = connections.active_by_key(key)
    except DatabaseError:
        log.exception("PBX webhook: cannot read connection key %s", key[:6])
        return _retry_later()
    if connection is None:
        return JsonResponse({"error": "unknown connection"}, status=404)
    headers = _stored_headers(request)
    try:
        events = _parse(connection, request, headers, received_at=timezone.now())
    except SignatureError as error:
        return _store_refused(connection, request, headers, Status.UNAUTHORIZED, str(error), 401)
    except PayloadError as error:
        return _store_refused(connection, request, headers, Status.REJECTED, str(error), 400)

    if settings.PBX_APPLY_IN_WORKER and connection.format == PbxConnection.Format.NATIVE:
        # Answered once stored: the applier (manage.py apply_pbx_events) applies it next.
        notices = ringing.Notices(connection, events)
        try:
            _store_received(connection, request, headers, notices)
        except DatabaseError:
            log.exception("PBX webhook: cannot store a request of connection %s", connection.pk)
            return _retry_later()
        # Who is calling, to the ringing agent now; the card follows once the event is applied.
        notices.send()
        return JsonResponse({"accepted": len(events)}, status=202)

    try:
        with transaction.atomic():
            # Stored as applied, the common case: one write; corrected when it was not.
            inbound = _inbound(connection, request, headers, Status.APPLIED)
            rawsql.insert(inbound)
            result = request_apply(connection, inbound, events)
            blocked = connection.format == PbxConnection.Format.ZAMMAD and _is_blocked(
                connection, events
            )
    except PayloadError as error:
        return _store_refused(connection, request, headers, Status.REJECTED, str(error), 400)
    except DatabaseError:
        log.exception("PBX webhook: cannot apply a request of connection %s", connection.pk)
        return _retry_later()
    except Exception:
        # A bug must not lose the event either: keep the request, marked, for a replay.
        rawsql.insert(
            _inbound(connection, request, headers, Status.FAILED, "not applied: server error")
        )
        raise

    if connection.format == PbxConnection.Format.ZAMMAD:
        return JsonResponse(zammad.reply_for(blocked))
    return JsonResponse({"applied": result.applied, "duplicates": result.duplicates})
