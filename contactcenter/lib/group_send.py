"""Many group messages in a few Redis round trips: channels_redis's `group_send`, in bulk.

channels_redis sends one group message in four round trips (drop the group's expired members,
read its members, drop their expired messages, add the message to each): a PBX event speaks to
the agents it rings, their states and the supervisors' live view, four messages or more, and the
applier sends a batch's at once. Here every (group, message) pair of a hand-over costs two round
trips per Redis host, whatever their number: one pipeline reads the members of every group, one
script adds every message to every member's channel.

Exactly what `group_send` stores: the same keys and serialised messages (the layer's own
helpers build them), the same capacity check and expiry. One difference, on purpose: messages
to one channel keep the order they were given in, by scores a microsecond apart (group_send's
script gives a whole call the same score, and Redis orders equal scores by their bytes).

Written against channels_redis 4 (pyproject pins `<5`); the tests run it on a real Redis in CI.
"""

import asyncio
import collections
import logging
import time

from channels_redis.core import RedisChannelLayer

log = logging.getLogger(__name__)

_ADD_ALL = """
local n = #KEYS
local now = tonumber(ARGV[2 * n + 1])
local expiry = tonumber(ARGV[2 * n + 2])
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(now) - expiry)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], string.format('%.6f', now + i / 1000000), ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


async def group_send_many(layer, groups_messages: list[tuple[str, dict]]) -> None:
    """Send each message to its group: each group's in the order given."""
    if isinstance(layer, RedisChannelLayer):
        await _redis(layer, groups_messages)
        return

    by_group: dict[str, list[dict]] = {}
    for group, message in groups_messages:
        by_group.setdefault(group, []).append(message)

    async def send(group: str, messages: list[dict]) -> None:
        for message in messages:
            await layer.group_send(group, message)

    await asyncio.gather(*(send(group, messages) for group, messages in by_group.items()))


async def _redis(layer: RedisChannelLayer, groups_messages: list[tuple[str, dict]]) -> None:
    now = time.time()
    groups = list(dict.fromkeys(group for group, _message in groups_messages))
    for group in groups:
        assert layer.require_valid_group_name(group), "Group name not valid"
    by_host = collections.defaultdict(list)
    for group in groups:
        by_host[layer.consistent_hash(group)].append(group)
    members: dict[str, list[str]] = {}
    for index, host_groups in by_host.items():
        pipe = layer.connection(index).pipeline(transaction=False)
        for group in host_groups:
            key = layer._group_key(group)
            pipe.zremrangebyscore(key, min=0, max=int(now) - layer.group_expiry)
            pipe.zrange(key, 0, -1)
        found = await pipe.execute()
        for group, names in zip(host_groups, found[1::2], strict=True):
            members[group] = [name.decode("utf8") for name in names]

    # Per host: the channel keys, their messages and capacities, in the order given.
    sends = collections.defaultdict(list)
    for group, message in groups_messages:
        if not members[group]:
            continue
        hosts, messages, capacities = layer._map_channel_keys_to_connection(members[group], message)
        for index, keys in hosts.items():
            sends[index] += [(key, messages[key], capacities[key]) for key in keys]
    for index, items in sends.items():
        keys = [key for key, _message, _capacity in items]
        args = [message for _key, message, _capacity in items]
        args += [capacity for _key, _message, capacity in items]
        over = await layer.connection(index).eval(
            _ADD_ALL, len(keys), *keys, *args, now, int(layer.expiry)
        )
        if over:
            log.info("%s of %s messages not sent: channels over capacity", over, len(keys))
