"""The report pages' and the report API's filters: one form, read from GET parameters, so that a
report's URL is the report (shareable, bookmarkable) and the page and the API take the same
parameters with the same errors.

    date_from, date_to   local days, both included (default: the 7 days ending today, in the
                         viewer's zone); each company counts its own local days (queries.py)
    company              slugs, one or several, among the companies whose KPIs the user reads
    queue, team, agent   ids, one or several
    direction            inbound, outbound or internal
    interval             the interval report only: 15, 30, 60, day, week or month

A company slug the user may not read answers 404 before the form is built
(`queries.report_companies`); queue, team and agent ids are choices among the user's readable
companies, so another company's id is "not a valid choice", exactly like a missing one.
"""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcenter.tenancy.models import Company, Team
from crm.forms import user_label
from reporting.periods import IntervalSize
from reporting.queries import ReportFilter
from telephony.models import DIRECTION_CHOICES, Agent, Queue

DEFAULT_DAYS = 7
# One request's work stays small: a year of days, or a month of 15-minute rows (2,976).
MAX_RANGE_DAYS = 366
MAX_MINUTE_RANGE_DAYS = 31
MINUTE_INTERVALS = (IntervalSize.MINUTES_15, IntervalSize.MINUTES_30, IntervalSize.MINUTES_60)
DEFAULT_INTERVAL = IntervalSize.MINUTES_60

ANY = [("", _("Any"))]


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    company = forms.MultipleChoiceField(label=_("Client company"), required=False)
    queue = forms.TypedMultipleChoiceField(label=_("Queue"), required=False, coerce=int)
    team = forms.TypedMultipleChoiceField(label=_("Team"), required=False, coerce=int)
    agent = forms.TypedMultipleChoiceField(label=_("Agent"), required=False, coerce=int)
    direction = forms.ChoiceField(label=_("Direction"), required=False)
    interval = forms.ChoiceField(label=_("Interval"), required=False, choices=IntervalSize.choices)

    def __init__(self, data, *, companies: list[Company], with_interval: bool = False, **kwargs):
        """`companies`: those whose KPIs the user reads (`report_companies(user)`), by name."""
        super().__init__(data, **kwargs)
        self.companies = companies
        ids = [c.pk for c in companies]
        several = len(companies) > 1

        def label(name: str, company: Company) -> str:
            return f"{name} ({company.name})" if several else name

        self.fields["company"].choices = [(c.slug, c.name) for c in companies]
        self.fields["queue"].choices = [
            (q.pk, label(q.name, q.company))
            for q in Queue.objects.filter(company_id__in=ids)
            .select_related("company")
            .order_by("company__name", "name", "pk")
        ]
        self.fields["team"].choices = [
            (t.pk, label(t.name, t.company))
            for t in Team.objects.filter(company_id__in=ids)
            .select_related("company")
            .order_by("company__name", "name", "pk")
        ]
        self.fields["agent"].choices = [
            (a.pk, label(user_label(a.user), a.company))
            for a in Agent.objects.filter(company_id__in=ids)
            .select_related("user", "company")
            .order_by("user__first_name", "user__last_name", "user__username", "pk")
        ]
        self.fields["direction"].choices = ANY + DIRECTION_CHOICES
        if not with_interval:
            del self.fields["interval"]

    def clean(self):
        data = super().clean()
        if self.errors.keys() & {"date_from", "date_to"}:
            return data
        # Left out: the DEFAULT_DAYS days ending today (the viewer's), or ending date_to.
        date_to = data.get("date_to") or timezone.localdate()
        date_from = data.get("date_from") or date_to - timedelta(days=DEFAULT_DAYS - 1)
        data["date_from"], data["date_to"] = date_from, date_to
        if date_to < date_from:
            self.add_error("date_to", _("The end date is before the start date."))
        elif (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
            self.add_error(
                "date_to",
                _("A report covers at most %(days)s days.") % {"days": MAX_RANGE_DAYS},
            )
        elif "interval" in self.fields and "interval" not in self.errors:
            data["interval"] = data.get("interval") or DEFAULT_INTERVAL
            if (
                data["interval"] in MINUTE_INTERVALS
                and (date_to - date_from).days + 1 > MAX_MINUTE_RANGE_DAYS
            ):
                self.add_error(
                    "interval",
                    _(
                        "Intervals of minutes cover at most %(days)s days: choose a shorter "
                        "range or days, weeks or months."
                    )
                    % {"days": MAX_MINUTE_RANGE_DAYS},
                )
        return data

    def chosen_companies(self) -> tuple[Company, ...]:
        slugs = set(self.cleaned_data["company"])
        return tuple(c for c in self.companies if not slugs or c.slug in slugs)

    def report_filter(self) -> ReportFilter:
        """The filter of a valid form (ReportFilter may still refuse it: ReportError)."""
        data = self.cleaned_data
        return ReportFilter(
            companies=self.chosen_companies(),
            date_from=data["date_from"],
            date_to=data["date_to"],
            queue_ids=tuple(data["queue"]),
            team_ids=tuple(data["team"]),
            agent_ids=tuple(data["agent"]),
            direction=data["direction"],
        )

    def query(self) -> dict[str, list[str]]:
        """The valid form as GET parameters, the dates resolved: a URL that shows this report
        whenever it is opened (an address without dates moves with the days)."""
        data = self.cleaned_data
        params: dict[str, list[str]] = {
            "date_from": [data["date_from"].isoformat()],
            "date_to": [data["date_to"].isoformat()],
        }
        for name in ("company", "queue", "team", "agent"):
            if data[name]:
                params[name] = [str(v) for v in data[name]]
        if data["direction"]:
            params["direction"] = [data["direction"]]
        if "interval" in self.fields:
            params["interval"] = [data["interval"]]
        return params
