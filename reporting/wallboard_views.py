"""The wallboard page: rendered from the same snapshot the `ws/wallboard/` socket sends, then
kept live by static/js/wallboard.js. `?fullscreen=1` drops the site's chrome for a wall display."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from reporting.report_tables import hms, percent
from reporting.wallboard import QUEUE_STATES, STATES, wallboard_snapshot
from telephony.live_views import live_companies
from telephony.models import AgentState


@never_cache
@require_GET
@login_required
def wallboard(request):
    slug = request.GET.get("company") or ""
    company_ids, company = live_companies(request.user, slug)
    snapshot = wallboard_snapshot(company_ids)
    labels = dict(AgentState.choices)
    config = {
        "socket": "/ws/wallboard/" + (f"?company={company.slug}" if company else ""),
        "states": {state: str(labels[state]) for state in STATES},
        "queueStates": QUEUE_STATES,
        "status": {
            "connecting": _("Connecting…"),
            "live": _("Live"),
            "reconnecting": _("Reconnecting…"),
        },
    }
    return render(
        request,
        "reporting/wallboard.html",
        {
            "title": _("Wallboard"),
            "snapshot": snapshot,
            "queue_rows": [
                {
                    **queue,
                    "longest_hms": hms(queue["longest_wait_seconds"]),
                    "service_level_text": percent(queue["service_level"]) or "—",
                    "agent_counts": [
                        {"state": state, "label": labels[state], "count": queue["agents"][state]}
                        for state in QUEUE_STATES
                    ],
                }
                for queue in snapshot["queues"]
            ],
            "company_rows": [
                {
                    **c,
                    "counts": [
                        {"state": state, "label": labels[state], "count": c["agents"][state]}
                        for state in STATES
                    ],
                }
                for c in snapshot["companies"]
            ],
            "config": config,
            "company": company,
            "fullscreen": request.GET.get("fullscreen") == "1",
        },
    )
