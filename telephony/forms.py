"""Forms of the call log pages: the list's filters and the queue_log upload."""

from collections.abc import Iterator
from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcenter.lib.phones import lookup_key
from contactcenter.tenancy.models import Company
from crm.forms import user_label
from telephony.models import Agent, Call, Queue

ANY = [("", _("Any"))]


def _day_start(day) -> datetime:
    # Midnight in the active (user's) zone; zoneinfo resolves a daylight-saving day correctly.
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class CallFilterForm(forms.Form):
    """The call list's filters; every choice comes from the user's own companies."""

    company = forms.ChoiceField(label=_("Client company"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    direction = forms.ChoiceField(label=_("Direction"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    queue = forms.ChoiceField(label=_("Queue"), required=False)
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    number = forms.CharField(
        label=_("Caller number"),
        required=False,
        max_length=50,
        help_text=_("In any format: +7 916 123-45-67, 8 916 1234567…"),
    )
    mine = forms.BooleanField(label=_("Only my calls"), required=False)

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
        self.fields["outcome"].choices = ANY + Call.Outcome.choices
        queues = Queue.objects.filter(company_id__in=[c.pk for c in companies]).select_related(
            "company"
        )
        self.fields["queue"].choices = ANY + [
            (str(q.pk), f"{q.name} ({q.company.name})" if several else q.name) for q in queues
        ]
        if full_company_ids:
            agents = (
                Agent.objects.filter(company_id__in=full_company_ids)
                .select_related("user", "company")
                .order_by("user__first_name", "user__last_name", "user__username")
            )
            several_full = len(full_company_ids) > 1
            self.fields["agent"].choices = ANY + [
                (
                    str(a.pk),
                    f"{user_label(a.user)} ({a.company.name})"
                    if several_full
                    else user_label(a.user),
                )
                for a in agents
            ]
        else:
            # An agent sees only their own calls: choosing among agents would show nothing new.
            del self.fields["agent"]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def _number_filter(self, raw: str) -> Q | None:
        """The number as each company would store it: national formats depend on its country."""
        condition = None
        for company in self.companies:
            e164 = lookup_key(raw, company.default_country)
            if e164 is not None:
                match = Q(company_id=company.pk, caller_e164=e164)
                condition = match if condition is None else condition | match
        return condition

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("company"):
            queryset = queryset.filter(company__slug=data["company"])
        if data["date_from"]:
            queryset = queryset.filter(offered_at__gte=_day_start(data["date_from"]))
        if data["date_to"]:
            queryset = queryset.filter(
                offered_at__lt=_day_start(data["date_to"] + timedelta(days=1))
            )
        if data["direction"]:
            queryset = queryset.filter(direction=data["direction"])
        if data["outcome"]:
            queryset = queryset.filter(outcome=data["outcome"])
        if data["queue"]:
            queryset = queryset.filter(queue_id=int(data["queue"]))
        if data.get("agent"):
            queryset = queryset.filter(agent_id=int(data["agent"]))
        if data["number"].strip():
            condition = self._number_filter(data["number"])
            queryset = queryset.filter(condition) if condition is not None else queryset.none()
        if data["mine"]:
            queryset = queryset.filter(agent__user=self.user)
        return queryset


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
