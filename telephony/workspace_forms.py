"""Forms of the agent's workspace: the state switcher and a call's wrap-up."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import ACTIVE_STATUSES, Customer, Ticket
from telephony.models import Call, Disposition
from telephony.wrapup import TicketAction


class StateForm(forms.Form):
    """What the agent chose. presence.agent_state_set decides whether it is a state they may
    choose, and allowed now, and says why not in its own words."""

    state = forms.CharField(required=False, max_length=20)
    pause_reason = forms.CharField(required=False, max_length=50)


class _TicketChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Ticket) -> str:
        return f"{obj.reference} {obj.subject} ({obj.customer})"


class WrapUpForm(forms.Form):
    """A call's disposition, notes and ticket action; the choices are the call's company's
    active dispositions, the customers the call may be about and their open tickets."""

    disposition = forms.ModelChoiceField(
        label=_("Disposition"), queryset=Disposition.objects.none(), required=False
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )
    ticket_action = forms.ChoiceField(
        label=_("Ticket"), choices=TicketAction.choices, widget=forms.RadioSelect
    )
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.none(),
        required=False,
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    ticket = _TicketChoiceField(
        label=_("Open ticket"), queryset=Ticket.objects.none(), required=False
    )

    def __init__(self, *args, call: Call, candidates: list[Customer], **kwargs):
        self.call = call
        self.candidates = candidates
        kwargs.setdefault(
            "initial",
            {
                "disposition": call.disposition_id,
                "notes": call.notes,
                "ticket_action": TicketAction.NONE,
                "customer": candidates[0].pk if len(candidates) == 1 else None,
            },
        )
        # Several cards may share the page: each form's ids carry its call.
        kwargs.setdefault("auto_id", f"id_call{call.pk}_%s")
        super().__init__(*args, **kwargs)
        dispositions = Disposition.objects.for_tenant(call.company_id)
        self.fields["disposition"].queryset = dispositions.filter(is_active=True) | (
            dispositions.filter(pk=call.disposition_id)
        )
        ids = [c.pk for c in candidates]
        self.fields["customer"].queryset = Customer.objects.for_tenant(call.company_id).filter(
            pk__in=ids
        )
        self.fields["customer"].empty_label = None
        if len(candidates) < 2:
            self.fields["customer"].widget = forms.HiddenInput()
        tickets = (
            Ticket.objects.for_tenant(call.company_id)
            .filter(customer_id__in=ids, status__in=ACTIVE_STATUSES)
            .select_related("company", "customer")
            .order_by("-created_at", "-id")
        )
        self.fields["ticket"].queryset = tickets
        self.open_tickets = list(tickets)
        # Offer only what can be done: a ticket needs a customer, an update an open ticket.
        actions = [(TicketAction.NONE.value, TicketAction.NONE.label)]
        if candidates:
            actions.append((TicketAction.CREATE.value, TicketAction.CREATE.label))
        if self.open_tickets:
            actions.append((TicketAction.UPDATE.value, TicketAction.UPDATE.label))
        self.fields["ticket_action"].choices = actions

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "disposition": data["disposition"],
            "notes": data["notes"],
            "ticket_action": data["ticket_action"],
            "subject": data["subject"],
            "customer": data["customer"],
            "ticket": data["ticket"],
        }
