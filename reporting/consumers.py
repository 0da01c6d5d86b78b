"""The wallboard's websocket: the snapshot on connect, then a fresh one after each burst of
call and state changes in the viewer's companies (at most one per COALESCE_SECONDS)."""

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from contactcenter.tenancy.models import EXPORT_ROLES, Company
from contactcenter.tenancy.scoping import company_ids_for
from reporting.wallboard import wallboard_snapshot
from telephony import realtime

# A busy centre changes something many times a second; a wall display needs a picture a
# second, not a message per event: changes within this window make one refresh.
COALESCE_SECONDS = 0.5


def _watched(user, slug: str) -> tuple[list[int], int]:
    """The companies the wallboard shows and, when it may not, the close code: as the page,
    4404 for a company the user is not in, 4403 for a role that may not watch."""
    watched = company_ids_for(user, EXPORT_ROLES)
    if slug:
        company = Company.objects.filter(slug=slug, pk__in=company_ids_for(user)).first()
        if company is None:
            return [], 4404
        return ([company.pk], 0) if company.pk in watched else ([], 4403)
    return watched, 0 if watched else 4403


class WallboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        slug = parse_qs(self.scope.get("query_string", b"").decode()).get("company", [""])[0]
        self.company_ids, refused = await database_sync_to_async(_watched)(user, slug)
        if refused:
            await self.close(code=refused)
            return
        self._pending: asyncio.Task | None = None
        for company_id in self.company_ids:
            await self.channel_layer.group_add(realtime.live_group(company_id), self.channel_name)
        await self.accept()
        await self._send_snapshot()

    async def disconnect(self, code):
        pending = getattr(self, "_pending", None)
        if pending is not None:
            pending.cancel()
        for company_id in getattr(self, "company_ids", []):
            await self.channel_layer.group_discard(
                realtime.live_group(company_id), self.channel_name
            )

    async def live_call(self, event):
        self._changed()

    async def live_state(self, event):
        self._changed()

    def _changed(self) -> None:
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._refresh_soon())

    async def _refresh_soon(self) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        # Changes from here on schedule the next refresh: none is lost while this one reads.
        self._pending = None
        await self._send_snapshot()

    async def _send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(wallboard_snapshot)(self.company_ids)
        await self.send_json({"type": "wallboard", **snapshot})
