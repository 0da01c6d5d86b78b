"""Many group messages at once: each group's in the order given, the groups side by side.

A PBX event speaks to the agents it rings, their states and the supervisors' live view, and
the applier hands over a whole batch's messages: sent one after another, each would wait for
the previous one's round trip to Redis.
"""

import asyncio


async def group_send_many(layer, groups_messages: list[tuple[str, dict]]) -> None:
    by_group: dict[str, list[dict]] = {}
    for group, message in groups_messages:
        by_group.setdefault(group, []).append(message)

    async def send(group: str, messages: list[dict]) -> None:
        for message in messages:
            await layer.group_send(group, message)

    await asyncio.gather(*(send(group, messages) for group, messages in by_group.items()))
