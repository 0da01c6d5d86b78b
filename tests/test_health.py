"""GET /health/: the database decides the status code, the body says what else is wrong."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from telephony.models import InboundRequest, PbxConnection


@pytest.fixture
def connection(company):
    return PbxConnection.objects.create(
        name="Bank PBX", company=company, format="native", secret="s3cret"
    )


def _stored(connection, *, waited_seconds: int, status="received") -> InboundRequest:
    inbound = InboundRequest.objects.create(connection=connection, body=b"{}", status=status)
    InboundRequest.objects.filter(pk=inbound.pk).update(
        received_at=timezone.now() - timedelta(seconds=waited_seconds)
    )
    return inbound


def test_all_well_without_redis(client, db, settings):
    settings.REDIS_URL = ""
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not used",
        "pbx_applier": {"mode": "inline", "waiting": 0, "oldest_seconds": 0.0, "state": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_an_applier_that_fell_behind_degrades_the_status(client, connection, settings):
    settings.REDIS_URL, settings.PBX_APPLY_IN_WORKER = "", True
    settings.PBX_APPLIER_MAX_LAG_SECONDS = 30
    _stored(connection, waited_seconds=600, status="applied")  # done: not waiting
    _stored(connection, waited_seconds=45)
    _stored(connection, waited_seconds=5)
    body = client.get("/health/").json()
    assert (body["status"], body["pbx_applier"]["state"]) == ("degraded", "behind")
    assert (body["pbx_applier"]["mode"], body["pbx_applier"]["waiting"]) == ("worker", 2)
    assert 45 <= body["pbx_applier"]["oldest_seconds"] < 50


def test_a_short_wait_is_normal(client, connection, settings):
    settings.REDIS_URL, settings.PBX_APPLY_IN_WORKER = "", True
    _stored(connection, waited_seconds=2)
    body = client.get("/health/").json()
    assert (body["status"], body["pbx_applier"]["waiting"], body["pbx_applier"]["state"]) == (
        "ok",
        1,
        "ok",
    )


def test_redis_down_degrades(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    body = client.get("/health/").json()
    assert (body["status"], body["redis"]) == ("degraded", "down")


def test_redis_up(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    with mock.patch("redis.Redis.ping", return_value=True) as ping:
        body = client.get("/health/").json()
    assert (body["status"], body["redis"], ping.call_count) == ("ok", "ok", 1)


def test_database_down_is_503(client, db):
    with mock.patch("contactcenter.health.connection") as down:
        down.cursor.side_effect = OperationalError("connection refused")
        response = client.get("/health/")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "down", "database": "down"},
    )


def test_only_get(client, db):
    assert client.post("/health/").status_code == 405
