"""Plotly figures of the reports, as plain JSON-ready dicts (plotly.js draws them in the page).

Built here rather than with plotly's Python API: the page needs only the figure's JSON, and
these few shapes are clearer written out than assembled through graph objects.
"""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

_LAYOUT = {
    "margin": {"l": 50, "r": 50, "t": 40, "b": 60},
    "legend": {"orientation": "h", "y": -0.2},
    "barmode": "group",
    "hovermode": "x unified",
}


def volume_and_service_level(rows: list[dict], label_key: str = "interval") -> dict:
    """Offered, answered and abandoned calls per interval (bars) and the service level (line,
    right axis, 0-100 %): the supervisor's first picture of a day."""
    labels = [row[label_key] for row in rows]

    def series(key):
        return [row.get(key) or 0 for row in rows]

    service_level = [
        None if row.get("service_level") is None else round(row["service_level"] * 100, 1)
        for row in rows
    ]
    return {
        "data": [
            *(
                {"type": "bar", "name": label, "x": labels, "y": series(key)}
                for key, label in (
                    ("offered", pgettext("number of calls", "Offered")),
                    ("answered", pgettext("number of calls", "Answered")),
                    ("abandoned", pgettext("number of calls", "Abandoned")),
                )
            ),
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Service level, %"),
                "x": labels,
                "y": service_level,
                "yaxis": "y2",
                "connectgaps": False,
            },
        ],
        "layout": {
            **_LAYOUT,
            "title": {"text": _("Volume and service level")},
            "yaxis": {"title": {"text": _("Calls")}, "rangemode": "tozero"},
            "yaxis2": {
                "title": {"text": _("Service level, %")},
                "overlaying": "y",
                "side": "right",
                "range": [0, 100],
            },
        },
    }


def handle_time_parts(rows: list[dict], label_key: str) -> dict:
    """Average talk, hold and wrap-up per handled call, stacked: the parts of AHT."""
    labels = [str(row[label_key]) for row in rows]
    parts = (
        ("avg_talk", _("Talk")),
        ("avg_hold", _("Hold")),
        ("avg_wrap_up", _("Wrap-up")),
    )
    return {
        "data": [
            {
                "type": "bar",
                "name": name,
                "x": labels,
                "y": [round(row.get(key) or 0, 1) for row in rows],
            }
            for key, name in parts
        ],
        "layout": {
            **_LAYOUT,
            "barmode": "stack",
            "title": {"text": _("Average handle time, by part")},
            "yaxis": {"title": {"text": _("Seconds")}, "rangemode": "tozero"},
        },
    }


def agent_states(rows: list[dict], states: list[tuple[str, str]], label_key: str) -> dict:
    """Agent time in each state per row (an agent, or an interval of the day), stacked, in
    hours: where the logged-in time went."""
    labels = [str(row[label_key]) for row in rows]
    return {
        "data": [
            {
                "type": "bar",
                "name": str(name),
                "x": labels,
                "y": [round((row.get(f"state_{code}") or 0) / 3600, 2) for row in rows],
            }
            for code, name in states
        ],
        "layout": {
            **_LAYOUT,
            "barmode": "stack",
            "title": {"text": _("Agent states")},
            "yaxis": {"title": {"text": _("Hours")}, "rangemode": "tozero"},
        },
    }
