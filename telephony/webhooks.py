"""The PBX webhook: resolve the connection, store the raw request, check it, parse, apply.

Status codes are what PBXs act on: 2xx means "delivered, do not retry" (also for a duplicate),
401 a bad signature, 400 a payload we will never be able to read (kept, marked rejected), 404 an
unknown connection key, 503 "retry later" when the database cannot take the event.
"""

import logging
import time

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from contactcenter.lib.phones import lookup_key
from contactcenter.lib.queries import unique_or_none
from telephony.models import BlockedNumber, InboundRequest, PbxConnection
from telephony.pbx import native, twilio, zammad
from telephony.pbx.events import (
    AgentEvent,
    CallEvent,
    CallEventKind,
    PayloadError,
    SignatureError,
)
from telephony.presence import agent_event_apply
from telephony.services import call_event_apply, company_for_event, connection_companies

log = logging.getLogger(__name__)

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


def _mark(inbound: InboundRequest, status: str, error: str = "") -> None:
    inbound.status, inbound.error = status, error
    inbound.save(update_fields=["status", "error"])


def _unknown_agents_note(extensions: list[str]) -> str:
    if not extensions:
        return ""
    return "agent events for extensions no agent has: " + ", ".join(sorted(set(extensions)))


def _parse(connection: PbxConnection, request: HttpRequest, received_at) -> list:
    """Authenticate (SignatureError) and parse (PayloadError) by the connection's format."""
    if connection.format == PbxConnection.Format.NATIVE:
        native.verify(connection.secret, request.headers, request.body, now=time.time())
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
    try:
        connection = unique_or_none(
            PbxConnection.objects.select_related("company").filter(key=key, is_active=True)
        )
        if connection is None:
            return JsonResponse({"error": "unknown connection"}, status=404)
        inbound = InboundRequest.objects.create(
            connection=connection,
            remote_addr=request.META.get("REMOTE_ADDR") or None,
            content_type=request.headers.get("content-type", "")[:200],
            headers={k: v for k, v in request.headers.items() if k.lower() in _STORED_HEADERS},
            body=request.body,
        )
    except DatabaseError:
        log.exception("PBX webhook: cannot store the request of connection key %s", key[:6])
        return _retry_later()

    try:
        events = _parse(connection, request, received_at=timezone.now())
    except SignatureError as error:
        _mark(inbound, InboundRequest.Status.UNAUTHORIZED, str(error))
        return JsonResponse({"error": str(error)}, status=401)
    except PayloadError as error:
        _mark(inbound, InboundRequest.Status.REJECTED, str(error))
        return JsonResponse({"error": str(error)}, status=400)

    applied = duplicates = 0
    unknown_agents = []
    try:
        call_events = [e for e in events if isinstance(e, CallEvent)]
        for event in call_events:
            company_for_event(connection, event)  # refuse the whole batch before writing any
        for event in events:
            if isinstance(event, AgentEvent):
                result = agent_event_apply(companies=connection_companies(connection), event=event)
                if not result.agents:
                    unknown_agents.append(event.agent)
                applied += 1
                continue
            result = call_event_apply(connection=connection, event=event, request=inbound)
            duplicates += result.duplicate
            applied += not result.duplicate
        blocked = connection.format == PbxConnection.Format.ZAMMAD and _is_blocked(
            connection, events
        )
    except PayloadError as error:
        _mark(inbound, InboundRequest.Status.REJECTED, str(error))
        return JsonResponse({"error": str(error)}, status=400)
    except DatabaseError:
        log.exception("PBX webhook: cannot apply request %s", inbound.pk)
        return _retry_later()

    # A request that carried no event (Twilio's "initiated") is applied: there was nothing to do.
    status = (
        InboundRequest.Status.DUPLICATE
        if duplicates and not applied
        else InboundRequest.Status.APPLIED
    )
    # Agent events for extensions no agent has (a reception phone) are kept, and said.
    _mark(inbound, status, _unknown_agents_note(unknown_agents))
    if connection.format == PbxConnection.Format.ZAMMAD:
        return JsonResponse(zammad.reply_for(blocked))
    return JsonResponse({"applied": applied, "duplicates": duplicates})
