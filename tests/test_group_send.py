"""group_send_many: every member of each group gets its messages, each group's in order.

Runs on the channel layer the settings configure: Redis pub/sub in CI (REDIS_URL), the in-memory
layer without it.
"""

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
