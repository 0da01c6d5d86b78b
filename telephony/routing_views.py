"""`POST /telephony/route/<key>/`: the PBX asks where to send a call before it rings anyone.

Signed like the native webhook (docs/native-pbx-format.md): the same headers over the raw body,
the same replay window. A decision changes nothing, so nothing is stored and a retry is free.
"""

import json
import logging
import time

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from telephony.models import PbxConnection
from telephony.pbx import native
from telephony.pbx.events import PayloadError, SignatureError
from telephony.routing import RouteDecision, route_decide

log = logging.getLogger(__name__)

# The widths of Call.caller and Call.did: nothing longer is a number a PBX dialled.
MAX_FIELD_LENGTH = 64

_JSON_TYPE_NAMES = {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}


def _json_type(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _read(body: bytes) -> tuple[str, str]:
    """The caller and the DID; PayloadError names the first problem."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise PayloadError("body: JSON nested too deeply") from None
    except ValueError as error:
        raise PayloadError(f"body: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise PayloadError(f"body: expected a JSON object, got {_json_type(document)}")
    values = []
    for key in ("caller", "did"):
        value = document.get(key)
        if value is None:
            raise PayloadError(f"{key}: missing")
        if not isinstance(value, str):
            raise PayloadError(f"{key}: expected a string, got {_json_type(value)}")
        if len(value) > MAX_FIELD_LENGTH:
            raise PayloadError(f"{key}: longer than {MAX_FIELD_LENGTH} characters")
        values.append(value)
    return values[0], values[1]


def _answer(decision: RouteDecision) -> dict:
    agent = (
        {"extension": decision.agent_extension, "id": decision.agent_id}
        if decision.agent_id is not None
        else None
    )
    return {
        "company": decision.company,
        "queue": decision.queue,
        "agent": agent,
        "reason": str(decision.reason),
        "block": decision.block,
        "block_reason": decision.block_reason,
        "customers": list(decision.customer_ids),
    }


@csrf_exempt
@require_POST
def pbx_route(request: HttpRequest, key: str) -> JsonResponse:
    try:
        connection = (
            PbxConnection.objects.select_related("company").filter(key=key, is_active=True).first()
        )
        if connection is None:
            return JsonResponse({"error": "unknown connection"}, status=404)
        if connection.format != PbxConnection.Format.NATIVE:
            # Only the native format defines how a request is signed for us.
            return JsonResponse(
                {"error": f"format {connection.format} is not accepted on this endpoint"},
                status=400,
            )
        native.verify(connection.secret, request.headers, request.body, now=time.time())
        caller, did = _read(request.body)
        decision = route_decide(connection=connection, caller=caller, did=did)
    except SignatureError as error:
        return JsonResponse({"error": str(error)}, status=401)
    except PayloadError as error:
        return JsonResponse({"error": str(error)}, status=400)
    except DatabaseError:
        log.exception("PBX route: cannot decide for connection key %s", key[:6])
        response = JsonResponse({"error": "database unavailable, retry later"}, status=503)
        response["Retry-After"] = "5"
        return response
    return JsonResponse(_answer(decision))
