"""The call log pages: thin entrances that scope, check the rules, call a selector or service."""

from telephony.views.calls import call_detail, call_list, call_recording
from telephony.views.queue_log import queue_log_upload

__all__ = ["call_detail", "call_list", "call_recording", "queue_log_upload"]
