"""Forms of the call log pages: the list's filters and the queue_log upload."""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from contactcenter.lib.phones import lookup_key
from contactcenter.tenancy.models import Company, Team
from crm.forms import user_label
from telephony.models import Agent, Call, Queue, QueueVisit

ANY = [("", _("Any"))]

# The outcome choice for "other endings", as the KPI reports count them (reporting/queries.py):
# calls over that were missed, busy or failed (or ended with no outcome derived).
OTHER_ENDINGS = "other"
OTHER_OUTCOMES = (
    Call.Outcome.MISSED,
    Call.Outcome.BUSY,
    Call.Outcome.FAILED,
    Call.Outcome.IN_PROGRESS,
)
# The `state` choices: calls that have ended, calls still going on.
OVER, OPEN = "over", "open"


def _day_start(day) -> datetime:
    # Midnight in the active (user's) zone; zoneinfo resolves a daylight-saving day correctly.
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def day_range(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The instants [start, end) that `date_from` and `date_to` select: those local days of the
    active (user's) zone, both included."""
    return _day_start(date_from), _day_start(date_to + timedelta(days=1))


def _moment(value: datetime) -> str:
    local = timezone.localtime(value)
    return f"{date_format(local, 'SHORT_DATE_FORMAT')} {date_format(local, 'H:i:s')}"


class OneOrMoreSelect(forms.SelectMultiple):
    """A drop-down that also reads a repeated parameter (?queue=1&queue=2, as a report's
    drill-down sends it): it shows as a list only while several values are chosen."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if len([v for v in context["widget"]["value"] if v]) < 2:
            del context["widget"]["attrs"]["multiple"]
        return context


def _several(label) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label=label, required=False, widget=OneOrMoreSelect)


class CallFilterForm(forms.Form):
    """The call list's filters; every choice comes from the user's own companies.

    Beside the filter bar's, the drill-down filters that a report's figure links with, to list
    exactly the calls it counts (reporting/views.py): hidden, and stated above the list by
    `narrowing()` so that a narrowed list never puzzles:

        start, end      instants with their UTC offset (2026-11-16T09:00:00+03:00): offered
                        at or after `start`, before `end` (any interval, in any zone)
        state           over (the call has ended) or open (still going on)
        queued          calls that went through a queue
        transferred     calls transferred after their answer
        visited_queue   calls offered in that queue: their last queue, or one they overflowed
                        from to another (telephony.QueueVisit), then dated by their entry into
                        it, with "queue timeout" as their outcome there

    company, queue, team and agent take several values, as the reports do.
    """

    company = _several(_("Client company"))
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    direction = forms.ChoiceField(label=_("Direction"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    queue = _several(_("Queue"))
    team = _several(_("Team"))
    agent = _several(_("Agent"))
    number = forms.CharField(
        label=_("Caller number"),
        required=False,
        max_length=50,
        help_text=_("In any format: +7 916 123-45-67, 8 916 1234567…"),
    )
    mine = forms.BooleanField(label=_("Only my calls"), required=False)
    start = forms.DateTimeField(label=_("Offered from"), required=False, widget=forms.HiddenInput)
    end = forms.DateTimeField(label=_("Offered before"), required=False, widget=forms.HiddenInput)
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        widget=forms.HiddenInput,
        choices=[*ANY, (OVER, _("Ended")), (OPEN, _("Still open"))],
    )
    queued = forms.BooleanField(label=_("Queued"), required=False, widget=forms.HiddenInput)
    transferred = forms.BooleanField(
        label=_("Transferred"), required=False, widget=forms.HiddenInput
    )
    visited_queue = forms.ChoiceField(
        label=_("Offered in queue"), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, user, companies: list[Company], full_company_ids: list[int], **kw):
        """`companies`: the user's; `full_company_ids`: those whose whole call log they see."""
        super().__init__(*args, **kw)
        self.user = user
        self.companies = companies
        several = len(companies) > 1
        if several:
            self.fields["company"].choices = ANY + [(c.slug, c.name) for c in companies]
        else:
            del self.fields["company"]
        self.fields["direction"].choices = ANY + Call._meta.get_field("direction").choices
        self.fields["outcome"].choices = [
            *ANY,
            *Call.Outcome.choices,
            (OTHER_ENDINGS, format_lazy("{}: {}", _("Other endings"), _("missed, busy or failed"))),
        ]
        queues = Queue.objects.filter(company_id__in=[c.pk for c in companies]).select_related(
            "company"
        )
        queue_choices = [
            (str(q.pk), f"{q.name} ({q.company.name})" if several else q.name) for q in queues
        ]
        self.fields["queue"].choices = ANY + queue_choices
        self.fields["visited_queue"].choices = ANY + queue_choices
        if full_company_ids:
            several_full = len(full_company_ids) > 1

            def label(name: str, company: Company) -> str:
                return f"{name} ({company.name})" if several_full else name

            agents = (
                Agent.objects.filter(company_id__in=full_company_ids)
                .select_related("user", "company")
                .order_by("user__first_name", "user__last_name", "user__username")
            )
            self.fields["agent"].choices = ANY + [
                (str(a.pk), label(user_label(a.user), a.company)) for a in agents
            ]
            teams = Team.objects.filter(company_id__in=full_company_ids).select_related("company")
            self.fields["team"].choices = ANY + [
                (str(t.pk), label(t.name, t.company)) for t in teams
            ]
        else:
            # An agent sees only their own calls: choosing among agents would show nothing new.
            del self.fields["agent"]
            del self.fields["team"]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", _("The end is not after the start."))
        return data

    def narrowing(self) -> list[tuple[str, str]]:
        """The hidden filters in force, each as (its parameter, what it keeps), to be stated
        beside the list with a way to remove it."""
        if not self.is_bound or not self.is_valid():
            return []
        data = self.cleaned_data
        found = []
        if data["start"]:
            found.append(("start", _("Offered from %(time)s") % {"time": _moment(data["start"])}))
        if data["end"]:
            found.append(("end", _("Offered before %(time)s") % {"time": _moment(data["end"])}))
        if data["state"] == OVER:
            found.append(("state", _("Only calls that have ended")))
        elif data["state"] == OPEN:
            found.append(("state", _("Only calls still going on")))
        if data["queued"]:
            found.append(("queued", _("Only calls that went through a queue")))
        if data["transferred"]:
            found.append(("transferred", _("Only calls transferred after their answer")))
        if data["visited_queue"]:
            queue = dict(self.fields["visited_queue"].choices)[data["visited_queue"]]
            text = _(
                "Offered in %(queue)s, the calls that overflowed from it to another queue "
                "included (their outcome there: queue timeout)"
            )
            found.append(("visited_queue", text % {"queue": queue}))
        return found

    def _number_filter(self, raw: str) -> Q | None:
        """The number as each company would store it: national formats depend on its country."""
        condition = None
        for company in self.companies:
            e164 = lookup_key(raw, company.default_country)
            if e164 is not None:
                match = Q(company_id=company.pk, caller_e164=e164)
                condition = match if condition is None else condition | match
        return condition

    def _when(self, field: str) -> Q:
        """The time filters (days of the user's zone, instants) on `field`."""
        data = self.cleaned_data
        condition = Q()
        if data["date_from"]:
            condition &= Q(**{f"{field}__gte": _day_start(data["date_from"])})
        if data["date_to"]:
            condition &= Q(**{f"{field}__lt": _day_start(data["date_to"] + timedelta(days=1))})
        if data["start"]:
            condition &= Q(**{f"{field}__gte": data["start"]})
        if data["end"]:
            condition &= Q(**{f"{field}__lt": data["end"]})
        return condition

    def _offered_in(self, queue_id: int, outcome: str) -> Q:
        """Offered in the queue within the time filters: as its last queue (with `outcome`), or
        as a queue it overflowed from, which it left on the queue's timeout (reporting/queries.py,
        `_overflow_offers`: such an offer is dated by its entry into the queue)."""
        last_queue = Q(queue_id=queue_id) & self._when("offered_at")
        if outcome:
            last_queue &= _outcome_filter(outcome)
            if outcome != Call.Outcome.TIMEOUT:
                return last_queue
        left = QueueVisit.objects.filter(
            Q(call_id=OuterRef("pk"), queue_id=queue_id) & self._when("entered_at")
        )
        return last_queue | Exists(left)

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        companies = [slug for slug in data.get("company", []) if slug]
        if companies:
            queryset = queryset.filter(company__slug__in=companies)
        if data["visited_queue"]:
            queryset = queryset.filter(
                self._offered_in(int(data["visited_queue"]), data["outcome"])
            )
        else:
            queryset = queryset.filter(self._when("offered_at"))
            if data["outcome"]:
                queryset = queryset.filter(_outcome_filter(data["outcome"]))
        if data["direction"]:
            queryset = queryset.filter(direction=data["direction"])
        queue_ids = _ids(data["queue"])
        if queue_ids:
            queryset = queryset.filter(queue_id__in=queue_ids)
        if data["queued"]:
            queryset = queryset.filter(queue__isnull=False)
        team_ids = _ids(data.get("team", []))
        if team_ids:
            queryset = queryset.filter(
                agent_id__in=Agent.objects.filter(teams__in=team_ids).values("pk")
            )
        agent_ids = _ids(data.get("agent", []))
        if agent_ids:
            queryset = queryset.filter(agent_id__in=agent_ids)
        if data["state"]:
            queryset = queryset.filter(ended_at__isnull=data["state"] == OPEN)
        if data["transferred"]:
            queryset = queryset.filter(transfer_count__gt=0)
        if data["number"].strip():
            condition = self._number_filter(data["number"])
            queryset = queryset.filter(condition) if condition is not None else queryset.none()
        if data["mine"]:
            queryset = queryset.filter(agent__user=self.user)
        return queryset


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v]


def _outcome_filter(outcome: str) -> Q:
    if outcome == OTHER_ENDINGS:
        return Q(ended_at__isnull=False, outcome__in=OTHER_OUTCOMES)
    return Q(outcome=outcome)


# Rotated queue_logs are usually compressed (queue_log.1.gz): say so rather than "not text".
_COMPRESSED = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_SNIFF_BYTES = 8192


class QueueLogUploadForm(forms.Form):
    company = forms.ChoiceField(label=_("Client company"))
    file = forms.FileField(
        label=_("queue_log file"),
        help_text=_(
            "The Asterisk queue_log as the PBX writes it (/var/log/asterisk/queue_log): "
            "plain text, one event per line."
        ),
    )

    def __init__(self, *args, companies: list[Company], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [(c.slug, c.name) for c in companies]
        # Line numbers whose bytes were not UTF-8; complete once lines() is exhausted.
        self.undecodable_lines: list[int] = []

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_MB
        if upload.size > limit * 1024 * 1024:
            raise ValidationError(
                _("The file is larger than %(limit)s MB."), params={"limit": limit}
            )
        upload.seek(0)
        head = upload.read(_SNIFF_BYTES)
        upload.seek(0)
        for magic, kind in _COMPRESSED:
            if head.startswith(magic):
                raise ValidationError(
                    _("%(name)s is compressed (%(kind)s): unpack it and upload the plain text."),
                    params={"name": upload.name, "kind": kind},
                )
        if b"\x00" in head:
            raise ValidationError(
                _("%(name)s is not a text file: a queue_log is plain text, one event per line."),
                params={"name": upload.name},
            )
        return upload

    def lines(self) -> Iterator[str]:
        """The file's lines as text, numbered as the import numbers them (from 1, blank lines
        included); bytes that are not UTF-8 (a caller name in a legacy code page) are replaced,
        and their line is noted, rather than stopping the import."""
        upload = self.cleaned_data["file"]
        self.undecodable_lines = []
        for number, raw in enumerate(upload, start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.undecodable_lines.append(number)
                yield raw.decode("utf-8", errors="replace")
