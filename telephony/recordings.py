"""The audit trail of recordings: every play is written down before the PBX's file is reached.

Who may play is decided in telephony/permissions.py; this module only records the play.
"""

from telephony.models import Call, RecordingPlay


def recording_play_create(*, call: Call, user, remote_addr: str | None) -> RecordingPlay:
    return RecordingPlay.objects.create(
        company_id=call.company_id, call=call, user=user, remote_addr=remote_addr or None
    )
