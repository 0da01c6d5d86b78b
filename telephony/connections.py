"""PBX connections (with their company) kept per process for a few seconds.

Every PBX event needs its connection's row and company: the webhook finds it by key, the
applier by id, several times a second. A change made through the ORM clears this process's copy
at once (the signals below); other processes see it within CACHE_SECONDS.
"""

import time

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company
from telephony.models import PbxConnection

CACHE_SECONDS = 5.0
_by_key: dict[str, tuple[float, PbxConnection]] = {}
_by_id: dict[int, tuple[float, PbxConnection]] = {}


@receiver([post_save, post_delete], sender=PbxConnection)
@receiver([post_save, post_delete], sender=Company)
def forget(**kwargs) -> None:
    _by_key.clear()
    _by_id.clear()


def _read(where: str, params: list) -> list[PbxConnection]:
    found = rawsql.select(PbxConnection, where, params)
    for pbx in found:
        if pbx.company_id is not None:
            pbx.company = rawsql.select(Company, "id = %s", [pbx.company_id])[0]
    return found


def active_by_key(key: str) -> PbxConnection | None:
    """The active connection with this webhook key."""
    now = time.monotonic()
    kept = _by_key.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    found = _read("key = %s AND is_active = %s", [key, True])
    if not found:
        return None
    _by_key[key] = (now + CACHE_SECONDS, found[0])
    return found[0]


def by_ids(ids) -> dict[int, PbxConnection]:
    """{id: connection} of these that exist, active or not (a stored request is applied even if
    its connection was switched off since)."""
    now = time.monotonic()
    found = {pk: kept[1] for pk in ids if (kept := _by_id.get(pk)) is not None and kept[0] > now}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        for pbx in _read(f"id IN ({rawsql.placeholders(missing)})", missing):
            found[pbx.pk] = pbx
            _by_id[pbx.pk] = (now + CACHE_SECONDS, pbx)
    return found
