"""The call log, PBX connections, queues, agents and their states.

Storage is UTC. Durations are whole seconds derived from event times, unless the PBX measured
them itself (queue_log's holdtime/calltime), which then win (see design.md, KPI definitions).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contactcenter.tenancy.models import Company, Skill, Team, TenantModel
from telephony.pbx.events import CallEventKind, Direction

DIRECTION_CHOICES = [
    (Direction.INBOUND.value, _("Inbound")),
    (Direction.OUTBOUND.value, _("Outbound")),
    (Direction.INTERNAL.value, _("Internal")),
]
EVENT_KIND_CHOICES = [
    (CallEventKind.QUEUED.value, _("Queued")),
    (CallEventKind.RINGING.value, _("Ringing")),
    (CallEventKind.ANSWERED.value, _("Answered")),
    (CallEventKind.HOLD.value, _("On hold")),
    (CallEventKind.UNHOLD.value, _("Off hold")),
    (CallEventKind.TRANSFERRED.value, _("Transferred")),
    (CallEventKind.HANGUP.value, _("Hung up")),
    (CallEventKind.RECORDING.value, _("Recording ready")),
]


def new_connection_key() -> str:
    return secrets.token_urlsafe(24)


def new_connection_secret() -> str:
    return secrets.token_urlsafe(32)


class PbxConnection(models.Model):
    """How one PBX reaches us: the URL key, the format and the secret that signs its requests.

    A connection belongs to one client company, or is shared by several when the centre's PBX
    serves them all: then the dialled number (DID) decides the company (DidRoute).
    """

    class Format(models.TextChoices):
        NATIVE = "native", _("Native signed JSON")
        ZAMMAD = "zammad", _("Generic CTI (Zammad-style)")
        TWILIO = "twilio", _("Twilio status callbacks")
        QUEUE_LOG = "queue_log", _("Asterisk queue_log import")

    name = models.CharField(_("name"), max_length=100)
    company = models.ForeignKey(
        Company,
        verbose_name=_("client company"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: a shared PBX; the dialled number (DID) selects the company."),
    )
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    key = models.CharField(_("URL key"), max_length=64, unique=True, default=new_connection_key)
    secret = models.CharField(
        _("secret"),
        max_length=128,
        default=new_connection_secret,
        help_text=_("Signs native requests; the auth token for Twilio; the token for CTI."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("PBX connection")
        verbose_name_plural = _("PBX connections")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DidRoute(TenantModel):
    """On a shared connection: calls to this dialled number belong to this company (and queue)."""

    connection = models.ForeignKey(
        PbxConnection,
        verbose_name=_("PBX connection"),
        on_delete=models.CASCADE,
        related_name="did_routes",
    )
    did = models.CharField(_("dialled number (E.164)"), max_length=16)
    queue = models.ForeignKey(
        "Queue", verbose_name=_("queue"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("DID route")
        verbose_name_plural = _("DID routes")
        constraints = [
            models.UniqueConstraint(fields=["connection", "did"], name="did_route_unique"),
        ]

    def __str__(self) -> str:
        return self.did


class Queue(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(
        _("PBX name"), max_length=100, help_text=_("The queue's name as the PBX reports it.")
    )
    skills = models.ManyToManyField(Skill, verbose_name=_("required skills"), blank=True)
    service_level_seconds = models.PositiveIntegerField(
        _("service level threshold (seconds)"), default=20
    )
    short_abandon_seconds = models.PositiveIntegerField(
        _("short abandon threshold (seconds)"), default=5
    )
    max_wrap_up_seconds = models.PositiveIntegerField(_("maximum wrap-up (seconds)"), default=120)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="queue_unique_code"),
        ]

    def __str__(self) -> str:
        return self.name


class Agent(TenantModel):
    """A user who takes calls for a client company (one row per user and company)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="agents",
    )
    teams = models.ManyToManyField(Team, verbose_name=_("teams"), blank=True)
    skills = models.ManyToManyField(
        Skill, verbose_name=_("skills"), through="AgentSkill", blank=True
    )

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        constraints = [
            models.UniqueConstraint(fields=["company", "user"], name="agent_unique_user"),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class AgentSkill(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE)
    skill = models.ForeignKey(Skill, verbose_name=_("skill"), on_delete=models.CASCADE)
    level = models.PositiveSmallIntegerField(_("level (1-10)"), default=5)

    class Meta:
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agent_skill_unique"),
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=10), name="agent_skill_level_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill} ({self.level})"


class Extension(TenantModel):
    """An extension or SIP user on which the agent's phone rings: it routes the screen-pop."""

    agent = models.ForeignKey(
        Agent, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="extensions"
    )
    number = models.CharField(_("extension or SIP user"), max_length=100)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="extension_unique"),
        ]

    def __str__(self) -> str:
        return self.number


class Disposition(TenantModel):
    """How a call ended for the business (sale, complaint resolved, call back...), per company."""

    code = models.SlugField(_("code"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    resolves_contact = models.BooleanField(
        _("resolves the contact"),
        default=False,
        help_text=_("Counts towards first-contact resolution."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="disposition_unique_code"),
        ]

    def __str__(self) -> str:
        return self.label


class BlockedNumber(TenantModel):
    e164 = models.CharField(_("number (E.164)"), max_length=16)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("blocked number")
        verbose_name_plural = _("blocked numbers")
        constraints = [
            models.UniqueConstraint(fields=["company", "e164"], name="blocked_number_unique"),
        ]

    def __str__(self) -> str:
        return self.e164


class Call(TenantModel):
    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        ANSWERED = "answered", _("Answered")
        ABANDONED = "abandoned", _("Abandoned")
        SHORT_ABANDON = "short_abandon", _("Short abandon")
        TIMEOUT = "timeout", _("Queue timeout")
        EXIT_KEY = "exit_key", _("Left the queue with a key")
        EXIT_EMPTY = "exit_empty", _("No agents in the queue")
        MISSED = "missed", _("Missed")
        BUSY = "busy", _("Busy")
        FAILED = "failed", _("Failed")

    # Written on every event: no index of their own where a composite one leads with them
    # (Meta.indexes, constraints), as each index costs every non-HOT update of the row.
    company = models.ForeignKey(
        Company,
        verbose_name=_("client company"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # call_company_offered and the others lead with it
    )
    connection = models.ForeignKey(
        PbxConnection,
        verbose_name=_("PBX connection"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # call_unique_pbx_id leads with it
    )
    pbx_call_id = models.CharField(_("PBX call id"), max_length=128)
    direction = models.CharField(
        _("direction"),
        max_length=10,
        choices=DIRECTION_CHOICES,
        default=Direction.INBOUND,
    )
    caller = models.CharField(_("caller"), max_length=64, blank=True)
    caller_e164 = models.CharField(_("caller (E.164)"), max_length=16, blank=True)
    callee = models.CharField(_("callee"), max_length=64, blank=True)
    did = models.CharField(_("dialled number"), max_length=64, blank=True)
    queue = models.ForeignKey(
        Queue, verbose_name=_("queue"), null=True, blank=True, on_delete=models.SET_NULL
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,  # call_agent_offered leads with it
    )
    customers = models.ManyToManyField(
        "crm.Customer", verbose_name=_("matched customers"), blank=True, related_name="calls"
    )
    ticket = models.ForeignKey(
        "crm.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,  # call_ticket, partial
    )
    disposition = models.ForeignKey(
        Disposition,
        verbose_name=_("disposition"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,  # call_disposition, partial
    )
    notes = models.TextField(_("notes"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.IN_PROGRESS
    )
    offered_at = models.DateTimeField(_("offered"), null=True, blank=True)
    ringing_at = models.DateTimeField(_("ringing"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    wrap_up_ended_at = models.DateTimeField(_("wrap-up ended"), null=True, blank=True)
    queue_wait_seconds = models.PositiveIntegerField(_("queue wait (s)"), null=True, blank=True)
    ring_seconds = models.PositiveIntegerField(_("ring (s)"), null=True, blank=True)
    talk_seconds = models.PositiveIntegerField(_("talk (s)"), null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(_("hold (s)"), default=0)
    wrap_up_seconds = models.PositiveIntegerField(_("wrap-up (s)"), null=True, blank=True)
    transfer_count = models.PositiveSmallIntegerField(_("transfers"), default=0)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-offered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "pbx_call_id"], name="call_unique_pbx_id"
            ),
        ]
        indexes = [
            # The KPI reports read a company's calls over a range and aggregate these columns:
            # on PostgreSQL the index covers them, so a 30-day report is an index-only scan
            # (bench/reports.py: 1.1 s -> 0.22 s on 10 million calls). SQLite ignores INCLUDE.
            models.Index(
                fields=["company", "offered_at"],
                name="call_company_offered",
                include=[
                    "id",
                    "queue",
                    "agent",
                    "direction",
                    "outcome",
                    "ended_at",
                    "queue_wait_seconds",
                    "ring_seconds",
                    "talk_seconds",
                    "hold_seconds",
                    "wrap_up_seconds",
                    "transfer_count",
                ],
            ),
            models.Index(fields=["company", "queue", "offered_at"], name="call_company_queue"),
            models.Index(fields=["agent", "offered_at"], name="call_agent_offered"),
            models.Index(fields=["company", "caller_e164"], name="call_company_caller"),
            # A call has no ticket or disposition while the PBX's events are applied, and every
            # one of them writes the row again: left out of these indexes, those versions add no
            # entry to them. `ticket_id = %s` (and the deletion checks) still use them.
            models.Index(fields=["ticket"], condition=Q(ticket__isnull=False), name="call_ticket"),
            models.Index(
                fields=["disposition"],
                condition=Q(disposition__isnull=False),
                name="call_disposition",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pbx_call_id} {self.caller}"


class HoldSpan(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="hold_spans")
    started_at = models.DateTimeField(_("hold started"))
    ended_at = models.DateTimeField(_("hold ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("hold span")
        verbose_name_plural = _("hold spans")
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.started_at} - {self.ended_at or '…'}"


class QueueVisit(TenantModel):
    """A queue a call left for another one (an overflow: queue_log's EXITWITHTIMEOUT then
    ENTERQUEUE elsewhere). design.md: such a call is offered in each queue it visited, and
    counted once at company level; its last queue is `Call.queue`, so only the queues it left
    are stored here, and a call that stayed in one queue has no row."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="queue_visits")
    queue = models.ForeignKey(
        Queue, verbose_name=_("queue"), on_delete=models.CASCADE, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"))
    wait_seconds = models.PositiveIntegerField(_("wait (s)"))

    class Meta:
        verbose_name = _("queue visit")
        verbose_name_plural = _("queue visits")
        ordering = ["entered_at"]
        indexes = [models.Index(fields=["company", "entered_at"], name="queue_visit_company_time")]

    def __str__(self) -> str:
        return f"{self.call_id} in {self.queue_id} {self.entered_at} - {self.left_at}"


class InboundRequest(models.Model):
    """Every request to a PBX webhook, stored before it is parsed: nothing is lost."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        APPLIED = "applied", _("Applied")
        DUPLICATE = "duplicate", _("Duplicate")
        REJECTED = "rejected", _("Rejected: malformed")
        UNAUTHORIZED = "unauthorized", _("Rejected: bad signature")
        FAILED = "failed", _("Failed: server error")

    connection = models.ForeignKey(
        PbxConnection,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # inbound_conn_time leads with it
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    remote_addr = models.GenericIPAddressField(_("from address"), null=True, blank=True)
    content_type = models.CharField(_("content type"), max_length=200, blank=True)
    headers = models.JSONField(_("headers"), default=dict)
    body = models.BinaryField(_("body"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("inbound request")
        verbose_name_plural = _("inbound requests")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["connection", "-received_at"], name="inbound_conn_time"),
            # The applier's queue (PBX_APPLY_IN_WORKER): stored, answered, not applied yet.
            models.Index(fields=["id"], condition=Q(status="received"), name="inbound_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.received_at} {self.get_status_display()}"


class CallEventRecord(TenantModel):
    """A normalised event as applied; unique per connection and event id (idempotency)."""

    # call_event_unique and call_event_call_time lead with these: no index of their own.
    connection = models.ForeignKey(
        PbxConnection, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    event_id = models.CharField(_("event id"), max_length=200)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(_("kind"), max_length=12, choices=EVENT_KIND_CHOICES)
    occurred_at = models.DateTimeField(_("occurred"))
    data = models.JSONField(_("normalised event"), default=dict)
    request = models.ForeignKey(
        InboundRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "event_id"], name="call_event_unique"),
        ]
        indexes = [models.Index(fields=["call", "occurred_at"], name="call_event_call_time")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.kind}"


class PauseReason(TenantModel):
    code = models.SlugField(_("code"), max_length=50)
    label = models.CharField(_("label"), max_length=100)

    class Meta:
        verbose_name = _("pause reason")
        verbose_name_plural = _("pause reasons")
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="pause_reason_unique"),
        ]

    def __str__(self) -> str:
        return self.label


class AgentState(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RINGING = "ringing", _("Ringing")
    ON_CALL = "on_call", _("On call")
    WRAP_UP = "wrap_up", _("Wrap-up")
    PAUSED = "paused", _("Paused")
    OFFLINE = "offline", _("Offline")


class AgentStateInterval(TenantModel):
    """One span of an agent in one state; the open one has no end. Occupancy reads these."""

    # agent_state_company_time and agent_state_agent_time lead with these: no index of their own.
    company = models.ForeignKey(
        Company,
        verbose_name=_("client company"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="states",
        db_index=False,
    )
    state = models.CharField(_("state"), max_length=10, choices=AgentState.choices)
    pause_reason = models.ForeignKey(
        PauseReason,
        verbose_name=_("pause reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,  # agent_state_pause_reason, partial
    )
    call = models.ForeignKey(
        Call,
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # The PBX event that opened this interval: a retried or re-imported event changes nothing.
    event_id = models.CharField(_("event id"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("agent state")
        verbose_name_plural = _("agent states")
        ordering = ["-started_at", "-id"]
        constraints = [
            # One open interval per agent: the current state.
            models.UniqueConstraint(
                fields=["agent"], condition=Q(ended_at__isnull=True), name="agent_one_open_state"
            ),
        ]
        indexes = [
            models.Index(fields=["company", "started_at"], name="agent_state_company_time"),
            models.Index(fields=["agent", "started_at"], name="agent_state_agent_time"),
            # Routing and the live views read current states: "available in company X, longest
            # idle first" is a range scan of this small partial index.
            models.Index(
                fields=["company", "state", "started_at"],
                condition=Q(ended_at__isnull=True),
                name="agent_state_current",
            ),
            models.Index(
                fields=["agent", "event_id"], condition=~Q(event_id=""), name="agent_state_event"
            ),
            # Only pauses have a reason: the other states' rows, most of them, stay out.
            models.Index(
                fields=["pause_reason"],
                condition=Q(pause_reason__isnull=False),
                name="agent_state_pause_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.state} from {self.started_at}"


class RecordingPlay(TenantModel):
    """The audit trail of recordings: who played which call's recording, when, from where."""

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="recording_plays"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    played_at = models.DateTimeField(_("played"), auto_now_add=True)
    remote_addr = models.GenericIPAddressField(_("from address"), null=True, blank=True)

    class Meta:
        verbose_name = _("recording play")
        verbose_name_plural = _("recording plays")
        ordering = ["-played_at", "-id"]
        indexes = [models.Index(fields=["call", "played_at"], name="recording_play_call")]

    def __str__(self) -> str:
        return f"{self.call_id} {self.user_id} {self.played_at}"
