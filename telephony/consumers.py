"""Live connections: authenticate, join the groups the user may hear, forward.

What each group receives is decided by the services and telephony/realtime.py; a consumer only
sends the current picture on (re)connect, so that a refreshed page misses nothing.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from contactcenter.tenancy.models import EXPORT_ROLES
from contactcenter.tenancy.scoping import company_ids_for
from telephony import live, realtime


@database_sync_to_async
def _agent_snapshot(user) -> tuple[list[int], list[dict], list[dict]]:
    """The user's agent rows in their companies, their states, and the calls now at them."""
    agents = live.agent_list_for_user(user)
    agent_ids = [a.pk for a in agents]
    states = [realtime.state_payload(a, a.current) for a in agents if a.current is not None]
    calls = [realtime.call_payload(call) for call in live.active_calls_of_agents(agent_ids)]
    return agent_ids, states, calls


class AgentConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.agent_ids, states, calls = await _agent_snapshot(user)
        for agent_id in self.agent_ids:
            await self.channel_layer.group_add(realtime.agent_group(agent_id), self.channel_name)
        await self.accept()
        # A page refreshed during a call gets it back at once.
        for state in states:
            await self.send_json({"type": "state", "state": state})
        for call in calls:
            await self.send_json({"type": "call", "call": call})

    async def disconnect(self, code):
        for agent_id in getattr(self, "agent_ids", []):
            await self.channel_layer.group_discard(
                realtime.agent_group(agent_id), self.channel_name
            )

    async def call_update(self, event):
        await self.send_json({"type": "call", "call": event["call"]})

    async def state_update(self, event):
        await self.send_json({"type": "state", "state": event["state"]})

    async def call_ringing(self, event):
        await self.send_json({"type": "ringing", "ringing": event["ringing"]})


@database_sync_to_async
def _live_snapshot(user) -> tuple[list[int], dict]:
    company_ids = company_ids_for(user, EXPORT_ROLES)
    return company_ids, live.live_snapshot(company_ids)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Supervisors, administrators and client managers: the calls and agents of their companies."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.company_ids, snapshot = await _live_snapshot(user)
        if not self.company_ids:
            await self.close(code=4403)
            return
        for company_id in self.company_ids:
            await self.channel_layer.group_add(realtime.live_group(company_id), self.channel_name)
        await self.accept()
        await self.send_json({"type": "snapshot", **snapshot})

    async def disconnect(self, code):
        for company_id in getattr(self, "company_ids", []):
            await self.channel_layer.group_discard(
                realtime.live_group(company_id), self.channel_name
            )

    async def live_call(self, event):
        await self.send_json({"type": "call", "call": event["call"]})

    async def live_state(self, event):
        await self.send_json({"type": "state", "state": event["state"]})
