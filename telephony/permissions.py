"""Who may see which calls and play which recordings: the one place these rules live.

A call's company is checked first, by the caller of these functions, through the scoping helpers
(another company's call answers 404 like a missing one). These rules then decide, within the
company, between showing the call (or its recording) and answering 403.
"""

from contactcenter.tenancy.models import MANAGE_ROLES, Role
from contactcenter.tenancy.scoping import role_in
from telephony.models import AgentStateInterval, Call

# Roles that see every call of their companies; an agent sees only the calls they handled.
CALL_LOG_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.CLIENT_MANAGER})
# Recordings hold the customer's voice: beyond these roles, only the agent on the call.
RECORDING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.CLIENT_MANAGER})
# Who played a recording is itself audit data, for the people who run the centre.
RECORDING_AUDIT_ROLES = MANAGE_ROLES


def handled_by(call: Call, user) -> bool:
    """The user is the agent the call was answered by (or last rang at), or took part in it
    otherwise: it rang at them, or was transferred to them."""
    if call.agent_id is not None and call.agent.user_id == user.pk:
        return True
    return AgentStateInterval.objects.filter(call=call, agent__user=user).exists()


def can_view_call(user, call: Call) -> bool:
    role = role_in(user, call.company_id)
    if role in CALL_LOG_ROLES:
        return True
    return role == Role.AGENT and handled_by(call, user)


def viewable_call_ids(user, calls: list[Call]) -> set[int]:
    """`can_view_call` for a list of calls of one company, in one query at most."""
    if not calls:
        return set()
    role = role_in(user, calls[0].company_id)
    if role in CALL_LOG_ROLES:
        return {c.pk for c in calls}
    if role != Role.AGENT:
        return set()
    answered = {c.pk for c in calls if c.agent_id is not None and c.agent.user_id == user.pk}
    rest = [c.pk for c in calls if c.pk not in answered]
    took_part = AgentStateInterval.objects.filter(call_id__in=rest, agent__user=user)
    return answered | set(took_part.values_list("call_id", flat=True)) if rest else answered


def can_play_recording(user, call: Call) -> bool:
    """Whether the user may play the call's recording, if it has one."""
    role = role_in(user, call.company_id)
    if role in RECORDING_ROLES:
        return True
    return role == Role.AGENT and handled_by(call, user)


def can_see_recording_audit(user, call: Call) -> bool:
    return role_in(user, call.company_id) in RECORDING_AUDIT_ROLES
