"""group_send_many: every member of each group gets its messages, each group's in order.

Runs on the channel layer the settings configure: Redis pub/sub in CI (REDIS_URL), the in-memory
layer without it.
"""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from contactcenter.lib.group_send import group_send_many


def test_each_member_gets_its_groups_messages_in_order():
    layer = get_channel_layer()

    async def run():
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("test.one", first)
        await layer.group_add("test.one", second)
        await layer.group_add("test.two", first)
        try:
            await group_send_many(
                layer,
                [
                    ("test.one", {"type": "x.update", "n": 1}),
                    ("test.two", {"type": "x.update", "n": 2}),
                    ("test.nobody", {"type": "x.update", "n": 0}),
                    ("test.one", {"type": "x.update", "n": 3}),
                    ("test.one", {"type": "x.update", "n": 4, "text": "Привет"}),
                ],
            )
            to_first = [await layer.receive(first) for _ in range(4)]
            to_second = [await layer.receive(second) for _ in range(3)]
        finally:
            await layer.group_discard("test.one", first)
            await layer.group_discard("test.one", second)
            await layer.group_discard("test.two", first)
        return to_first, to_second

    to_first, to_second = async_to_sync(run)()
    assert [m["n"] for m in to_first if m["n"] != 2] == [1, 3, 4]
    assert sorted(m["n"] for m in to_first) == [1, 2, 3, 4]
    assert [m["n"] for m in to_second] == [1, 3, 4]
    assert to_second[2] == {"type": "x.update", "n": 4, "text": "Привет"}


def test_messages_sent_from_synchronous_code_reach_the_layers_consumers_in_order():
    """send_many: on Redis, published without the layer's client (one pipeline), as the layer
    itself publishes them; on the in-memory layer, through it."""
    from asgiref.sync import sync_to_async
    from channels import DEFAULT_CHANNEL_LAYER
    from django.conf import settings

    from contactcenter.lib.group_send import send_many

    layer = get_channel_layer()
    config = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER].get("CONFIG", {})

    async def run():
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("test.sync.one", first)
        await layer.group_add("test.sync.two", second)
        try:
            await sync_to_async(send_many)(
                layer,
                config,
                [
                    ("test.sync.one", {"type": "x.update", "n": 1}),
                    ("test.sync.two", {"type": "x.update", "n": 2, "text": "Привет"}),
                    ("test.sync.nobody", {"type": "x.update", "n": 0}),
                    ("test.sync.one", {"type": "x.update", "n": 3, "ids": [1, None]}),
                ],
                timeout=2.0,
            )
            to_first = [await asyncio.wait_for(layer.receive(first), 5) for _ in range(2)]
            to_second = [await asyncio.wait_for(layer.receive(second), 5)]
        finally:
            await layer.group_discard("test.sync.one", first)
            await layer.group_discard("test.sync.two", second)
        return to_first, to_second

    to_first, to_second = async_to_sync(run)()
    assert to_first == [
        {"type": "x.update", "n": 1},
        {"type": "x.update", "n": 3, "ids": [1, None]},
    ]
    assert to_second == [{"type": "x.update", "n": 2, "text": "Привет"}]


def test_the_redis_publisher_is_used_only_for_the_pub_sub_layer_with_addressed_hosts():
    from channels.layers import InMemoryChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from contactcenter.lib import group_send

    config = {"hosts": [{"address": "redis://127.0.0.1:6379/13"}], "prefix": "t:"}
    pubsub = RedisPubSubChannelLayer(**config)
    assert isinstance(group_send._publisher(pubsub, config, 1.0), group_send.PubSubPublisher)
    assert group_send._publisher(InMemoryChannelLayer(), {}, 1.0) is None
    sentinel = {"hosts": [{"master_name": "m", "sentinels": [("127.0.0.1", 26379)]}]}
    assert group_send._publisher(RedisPubSubChannelLayer(**sentinel), sentinel, 1.0) is None


def _publisher_on_redis(address: str):
    """A pub/sub layer on `address` and the publisher send_many uses for it."""
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from contactcenter.lib import group_send

    config = {"hosts": [{"address": address}], "prefix": "t:"}
    layer = RedisPubSubChannelLayer(**config)
    return layer, config, group_send._publisher(layer, config, 2.0)


def _redis_address() -> str:
    import os

    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"


def test_the_publisher_does_not_wait_for_redis_answers_and_reconnects_without_them():
    """Its connection is told CLIENT REPLY OFF as it connects: nothing comes back to read after
    a publish, also after the connection was lost and made again."""
    from contactcenter.lib.group_send import send_many

    layer, config, publisher = _publisher_on_redis(_redis_address())

    async def run():
        channel = await layer.new_channel()
        await layer.group_add("test.quiet", channel)
        try:
            received = []
            for n in (1, 2):
                send_many(layer, config, [("test.quiet", {"type": "x", "n": n})], timeout=2.0)
                received.append(await asyncio.wait_for(layer.receive(channel), 5))
                connection = publisher.connection(0)
                assert not connection.can_read(timeout=0.2)  # no ":1" waiting on the socket
                connection.disconnect()  # the next publish connects again
            return received
        finally:
            await layer.group_discard("test.quiet", channel)
            await layer.flush()

    assert async_to_sync(run)() == [{"type": "x", "n": 1}, {"type": "x", "n": 2}]


def test_a_redis_that_cannot_be_reached_is_an_error_of_the_publish():
    import socket

    import pytest
    import redis

    from contactcenter.lib.group_send import send_many

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed once the block ends: nothing listens there
    layer, config, _publisher = _publisher_on_redis(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(redis.ConnectionError):
        send_many(layer, config, [("test.down", {"type": "x"})], timeout=0.5)


def test_a_connection_inherited_from_a_parent_process_is_not_written_to():
    """After a fork the thread's connection is the parent's socket: the child makes its own."""
    from contactcenter.lib.group_send import send_many

    layer, config, publisher = _publisher_on_redis(_redis_address())
    inherited = publisher.connection(0)
    assert publisher.connection(0) is inherited
    inherited.pid = -1  # as a forked child sees its parent's connection

    async def run():
        channel = await layer.new_channel()
        await layer.group_add("test.forked", channel)
        try:
            send_many(layer, config, [("test.forked", {"type": "x", "n": 1})], timeout=2.0)
            return await asyncio.wait_for(layer.receive(channel), 5)
        finally:
            await layer.group_discard("test.forked", channel)
            await layer.flush()

    assert async_to_sync(run)() == {"type": "x", "n": 1}
    own = publisher.connection(0)
    assert own is not inherited and inherited._sock is None  # never connected, never written
    assert not own.can_read(timeout=0.2)
