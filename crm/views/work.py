from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import selectors
from crm.tables import WorkTicketTable
from crm.views.common import paginate

# Tickets without an SLA have no due time: they come after every ticket that has one, on
# PostgreSQL and SQLite alike (which otherwise disagree on where NULLs sort).
_DUE_FIRST = (F("resolution_due").asc(nulls_last=True), "created_at", "id")


@login_required
def my_work(request):
    now = timezone.now()
    mine = WorkTicketTable(
        selectors.my_tickets(request.user).order_by(*_DUE_FIRST), now=now, prefix="mine-"
    )
    queue = WorkTicketTable(
        selectors.team_queue(request.user).order_by(*_DUE_FIRST), now=now, prefix="queue-"
    )
    return render(
        request,
        "crm/my_work.html",
        {
            "title": _("My work"),
            "mine": paginate(request, mine),
            "queue": paginate(request, queue),
        },
    )
