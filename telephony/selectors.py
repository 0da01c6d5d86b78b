"""Reads of the call log used by more than one page."""

from django.db.models import Q, QuerySet

from contactcenter.tenancy.models import Company
from contactcenter.tenancy.scoping import company_ids_for, scoped
from telephony.models import AgentStateInterval, Call, RecordingPlay
from telephony.permissions import CALL_LOG_ROLES


def call_list(user, *, company: Company | None = None) -> QuerySet[Call]:
    """The calls the user may see: all calls of the companies where their role sees the whole
    call log, and elsewhere only the calls they handled (the rule of permissions.can_view_call)."""
    took_part = AgentStateInterval.objects.filter(agent__user=user, call__isnull=False)
    queryset = scoped(Call.objects.all(), user).filter(
        Q(company_id__in=company_ids_for(user, CALL_LOG_ROLES))
        | Q(agent__user=user)
        | Q(pk__in=took_part.values("call_id"))
    )
    if company is not None:
        queryset = queryset.filter(company=company)
    return queryset


def recording_play_list(call: Call) -> QuerySet[RecordingPlay]:
    """Who played the call's recording, newest first."""
    return (
        RecordingPlay.objects.for_tenant(call.company_id).filter(call=call).select_related("user")
    )
