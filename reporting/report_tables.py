"""One shape for every report: the page's table, the JSON API, the CSV and XLSX exports and the
command line all read a ReportTable, so they cannot disagree.

Values are raw: counts as ints, durations in seconds (int or float), ratios as fractions 0..1,
None where a figure is undefined (no calls answered: no ASA). Formatting belongs to the reader.
"""

from dataclasses import dataclass, field

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

TEXT, COUNT, SECONDS, RATIO, HOURS = "text", "count", "seconds", "ratio", "hours"
KINDS = (TEXT, COUNT, SECONDS, RATIO, HOURS)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = COUNT
    # The calls behind a figure: the call log's filter for them (see views.drill_down_url).
    drill: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: kind {self.kind!r} is not one of {KINDS}")


@dataclass
class ReportTable:
    title: str
    columns: list[Column]
    rows: list[dict]
    total: dict | None = None
    # (label, value) lines stated above the table and in every export: period, time zone,
    # thresholds, the service-level formula variant.
    notes: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "title": str(self.title),
            "notes": [{"label": str(k), "value": str(v)} for k, v in self.notes],
            "columns": [
                {"key": c.key, "label": str(c.label), "kind": c.kind} for c in self.columns
            ],
            "rows": [{c.key: row.get(c.key) for c in self.columns} for row in self.rows],
            "total": ({c.key: self.total.get(c.key) for c in self.columns} if self.total else None),
        }


def hms(seconds) -> str:
    """A duration as h:mm:ss (hours beyond 24 kept: 30:00:00), "" when undefined."""
    if seconds is None:
        return ""
    whole = round(seconds)
    sign, whole = ("-", -whole) if whole < 0 else ("", whole)
    return f"{sign}{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def percent(ratio) -> str:
    return "" if ratio is None else f"{ratio * 100:.1f} %"


def display(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == SECONDS:
        return hms(value)
    if kind == RATIO:
        return percent(value)
    if kind == HOURS:
        return f"{value:.2f}"
    return str(value)


class _ReportColumn(tables.Column):
    def __init__(self, column: Column, link=None, **kwargs):
        self.kind = column.kind
        self.link_for = link
        self.report_column = column
        attrs = {"td": {"class": f"kind-{column.kind}"}, "th": {"class": f"kind-{column.kind}"}}
        super().__init__(verbose_name=column.label, attrs=attrs, **kwargs)

    def render(self, value, record):
        text = display(value, self.kind)
        url = self.link_for(self.report_column, record) if self.link_for else None
        if url and value:
            from django.utils.html import format_html

            return format_html('<a href="{}">{}</a>', url, text)
        return text


def table_class(report: ReportTable, link=None) -> type[tables.Table]:
    """A django-tables2 table for the report's columns (sortable in memory: report rows are
    aggregates, a few hundred at most). `link(column, row)` gives the drill-down URL or None."""
    attrs = {
        c.key: _ReportColumn(c, link=link if c.drill else None, empty_values=())
        for c in report.columns
    }
    meta = type("Meta", (), {"attrs": {"class": "report-table"}, "orderable": True})
    return type("ReportTableView", (tables.Table,), {**attrs, "Meta": meta})


TOTAL_LABEL = _("Total")
