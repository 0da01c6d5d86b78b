"""GET /health/: can this installation take calls? For load balancers and monitoring.

200 while the database answers, 503 when it does not: without it the web process can do nothing
useful, and a load balancer should send the PBX elsewhere. The JSON body says more, for
monitoring (machine-read, so not translated):

- `redis`: without it calls are still logged, but screen-pops and the wallboard stop;
- `pbx_applier`: the PBX requests stored and waiting to be applied, and how long the oldest has
  waited. With PBX_APPLY_IN_WORKER the webhook answers before applying; "behind" (the oldest
  waited longer than PBX_APPLIER_MAX_LAG_SECONDS) means `manage.py apply_pbx_events` is not
  running or cannot keep up, and no screen-pop goes out until it catches up.

`status` is "ok", "degraded" (the database answers, something else does not) or "down".
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from telephony.models import InboundRequest

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        log.exception("health: the database does not answer")
        return False


def redis_ok() -> bool:
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        log.warning("health: Redis does not answer at %s", settings.REDIS_URL)
        return False


def _applier() -> dict:
    pending = InboundRequest.objects.filter(status=InboundRequest.Status.RECEIVED).order_by("id")
    waiting = pending.count()
    oldest = pending.values_list("received_at", flat=True).first()
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {
        "mode": "worker" if settings.PBX_APPLY_IN_WORKER else "inline",
        "waiting": waiting,
        "oldest_seconds": round(max(lag, 0.0), 1),
        "state": "behind" if lag > settings.PBX_APPLIER_MAX_LAG_SECONDS else "ok",
    }


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    if not _database_ok():
        return JsonResponse({"status": "down", "database": "down"}, status=503)
    body = {
        "status": "ok",
        "database": "ok",
        "redis": ("ok" if redis_ok() else "down") if settings.REDIS_URL else "not used",
        "pbx_applier": _applier(),
    }
    if body["redis"] == "down" or body["pbx_applier"]["state"] != "ok":
        body["status"] = "degraded"
    return JsonResponse(body)
