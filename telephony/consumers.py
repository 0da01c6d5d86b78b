"""The agent's live connection: authenticate, join the agent's own groups, forward."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from contactcenter.tenancy.scoping import company_ids_for
from telephony import realtime
from telephony.models import Agent, Call


@database_sync_to_async
def _agent_state(user) -> tuple[list[int], list[dict]]:
    """The user's agent rows in their companies, and the calls now ringing or talking at them."""
    agent_ids = list(
        Agent.objects.filter(user=user, company_id__in=company_ids_for(user)).values_list(
            "id", flat=True
        )
    )
    active = (
        Call.objects.filter(agent_id__in=agent_ids, outcome=Call.Outcome.IN_PROGRESS)
        .select_related("company", "queue")
        .prefetch_related("customers")
        .order_by("offered_at")
    )
    return agent_ids, [realtime.call_payload(call) for call in active]


class AgentConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.agent_ids, active = await _agent_state(user)
        for agent_id in self.agent_ids:
            await self.channel_layer.group_add(realtime.agent_group(agent_id), self.channel_name)
        await self.accept()
        # A page refreshed during a call gets it back at once.
        for call in active:
            await self.send_json({"type": "call", "call": call})

    async def disconnect(self, code):
        for agent_id in getattr(self, "agent_ids", []):
            await self.channel_layer.group_discard(
                realtime.agent_group(agent_id), self.channel_name
            )

    async def call_update(self, event):
        await self.send_json({"type": "call", "call": event["call"]})
