"""The back office pages: thin entrances that scope, check the role, and call a service."""

from crm.views.customers import (
    customer_create,
    customer_detail,
    customer_edit,
    customer_list,
    customer_note_add,
)
from crm.views.tickets import (
    ticket_assign,
    ticket_comment_add,
    ticket_create,
    ticket_detail,
    ticket_edit,
    ticket_escalate,
    ticket_list,
    ticket_transition,
)
from crm.views.work import my_work

__all__ = [
    "customer_create",
    "customer_detail",
    "customer_edit",
    "customer_list",
    "customer_note_add",
    "my_work",
    "ticket_assign",
    "ticket_comment_add",
    "ticket_create",
    "ticket_detail",
    "ticket_edit",
    "ticket_escalate",
    "ticket_list",
    "ticket_transition",
]
