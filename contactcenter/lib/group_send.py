"""Many group messages at once: each group's in the order given, the groups side by side.

A PBX event speaks to the agents it rings, their states and the supervisors' live view, and
the applier hands over a whole batch's messages: sent one after another, each would wait for
the previous one's round trip to Redis.

From synchronous code (the webhook, the applier, views), `send_many` publishes the messages of
channels_redis's pub/sub layer with redis-py's synchronous client, in one pipeline per Redis
host: one round trip for all of them. Sent through the layer's asyncio client instead, from a
loop kept in a thread of its own, each message cost about 0.4 ms of CPU (the hand-over between
threads, then redis-py's asyncio machinery, one command at a time behind the layer's lock):
a fifth of the applier's time per event. What is published is what the layer itself would
publish (`layer.serialize`, its group channel and shard), so the layer's consumers receive it
unchanged (tests/test_group_send.py).
"""

import asyncio
import os
import threading
import weakref

import redis
from asgiref.sync import async_to_sync
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts


async def group_send_many(layer, groups_messages: list[tuple[str, dict]]) -> None:
    by_group: dict[str, list[dict]] = {}
    for group, message in groups_messages:
        by_group.setdefault(group, []).append(message)

    async def send(group: str, messages: list[dict]) -> None:
        for message in messages:
            await layer.group_send(group, message)

    await asyncio.gather(*(send(group, messages) for group, messages in by_group.items()))


class PubSubPublisher:
    """Publishes group messages as `RedisPubSubChannelLayer.group_send` does, synchronously,
    without waiting for Redis's answers.

    A PUBLISH answers only how many subscribers got the message, which nothing here reads: the
    publisher's connections (one per thread and Redis host, its own) are told `CLIENT REPLY OFF`
    as they connect, and a publish is a write to the socket. Reading each answer cost the
    webhook a wake-up per ringing notice, and redis-py's pipeline most of the publish's CPU.
    Redis refusing a connection, or a connection that breaks, raises as before (the caller logs
    the skipped push); a message written just as Redis went away can be lost without a word,
    which a push may be (the screens fetch the state again when they reconnect)."""

    def __init__(self, layer: RedisPubSubChannelLayer, config: dict, timeout: float):
        self._layer = layer  # its serializer: msgpack, and encryption when configured
        self._prefix = config.get("prefix", "asgi")
        self._pools = []
        for host in decode_hosts(config.get("hosts")):
            options = {k: v for k, v in host.items() if k != "address"}
            # A push waits this long at most: the event it tells of is applied whatever happens.
            options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
            # A health check waits for a PONG, which never comes with replies off.
            options["health_check_interval"] = 0
            self._pools.append(redis.ConnectionPool.from_url(host["address"], **options))
        self._local = threading.local()

    @classmethod
    def supports(cls, config: dict) -> bool:
        """Hosts given by address (not Sentinel, nor host and port pairs)."""
        return all(
            isinstance(h, dict) and "address" in h for h in decode_hosts(config.get("hosts"))
        )

    def connection(self, shard: int) -> redis.connection.AbstractConnection:
        """This thread's connection to the shard's host (connected when first written to).
        One a forked process inherited is its parent's socket: the child makes its own, as
        redis-py's pool would (the parent's is not closed from here: redis-py checks the pid)."""
        connections = self._local.__dict__.setdefault("connections", {})
        connection = connections.get(shard)
        if connection is None or connection.pid != os.getpid():
            connection = self._pools[shard].make_connection()
            connection.register_connect_callback(self._replies_off)
            connections[shard] = connection
        return connection

    def _replies_off(self, connection) -> None:
        connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)

    def publish(self, groups_messages: list[tuple[str, dict]]) -> None:
        commands: dict[int, list[tuple]] = {}
        for group, message in groups_messages:
            channel = f"{self._prefix}__group__{group}"  # the layer's group channel
            shard = _consistent_hash(channel, len(self._pools))
            command = ("PUBLISH", channel, self._layer.serialize(message))
            commands.setdefault(shard, []).append(command)
        for shard, shard_commands in commands.items():
            connection = self.connection(shard)
            connection.send_packed_command(connection.pack_commands(shard_commands))


# Per layer (settings overridden in tests make new layers), for as long as the layer lives.
_publishers: "weakref.WeakKeyDictionary[object, PubSubPublisher | None]" = (
    weakref.WeakKeyDictionary()
)
_publishers_lock = threading.Lock()


def _publisher(layer, config: dict, timeout: float) -> PubSubPublisher | None:
    with _publishers_lock:
        if layer not in _publishers:
            usable = type(layer) is RedisPubSubChannelLayer and PubSubPublisher.supports(config)
            _publishers[layer] = PubSubPublisher(layer, config, timeout) if usable else None
        return _publishers[layer]


def send_many(layer, config: dict, groups_messages: list[tuple[str, dict]], timeout: float) -> None:
    """`group_send_many` from synchronous code; `config`: the layer's CONFIG in the settings.
    Raises what the layer or Redis raises."""
    publisher = _publisher(layer, config, timeout)
    if publisher is not None:
        publisher.publish(groups_messages)
    else:
        # The in-memory layer's queues belong to the loop of the server that reads them, which
        # async_to_sync reaches.
        async_to_sync(group_send_many)(layer, groups_messages)
