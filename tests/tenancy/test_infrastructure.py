"""The configured real components work: on CI these are PostgreSQL and Redis."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache


def test_cache_round_trip():
    cache.set("ci-probe", {"n": 1}, timeout=10)
    assert cache.get("ci-probe") == {"n": 1}
    cache.delete("ci-probe")


@pytest.mark.django_db
def test_channel_layer_delivers_to_a_group_member():
    layer = get_channel_layer()

    async def round_trip():
        channel = await layer.new_channel()
        await layer.group_add("probe", channel)
        await layer.group_send("probe", {"type": "probe.message", "text": "hello"})
        message = await layer.receive(channel)
        await layer.group_discard("probe", channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "probe.message", "text": "hello"}
