"""The application's URLs plus the baseline of the ingest benchmark: one INSERT per request.

The bare view goes through the same middleware as the webhook and writes the request body into
a table of its own (created by ingest.py) with one INSERT and its commit, as the webhook's first
write does: what is left of the webhook's time on top of it is parsing, checking and applying.
"""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from contactcenter.urls import urlpatterns as app_urlpatterns

BARE_TABLE = "bench_bare_insert"
CREATE_BARE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {BARE_TABLE} (id bigserial PRIMARY KEY, "
    "received_at timestamptz NOT NULL DEFAULT now(), body bytea NOT NULL)"
)


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BARE_TABLE} (body) VALUES (%s)", [request.body])
    return JsonResponse({"applied": 1})


urlpatterns = [path("bench/bare/", bare), *app_urlpatterns]
