from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from crm.models import SLAPolicy, Ticket
from crm.services.tickets import ticket_create


def test_embedded_beat_runs_the_sla_job(company, customer):
    SLAPolicy.objects.create(
        company=company, priority="normal", first_response_minutes=10, resolution_minutes=20
    )
    ticket_create(
        company=company,
        customer=customer,
        subject="late",
        created_at=timezone.now() - timedelta(hours=1),
    )
    out = StringIO()
    call_command("embedded_beat", "--once", stdout=out)
    assert out.getvalue() == "mark-sla-breaches: 2\n"
    assert list(Ticket.objects.values_list("first_response_breached", "resolution_breached")) == [
        (True, True)
    ]
