from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from contactcenter.tenancy.models import Skill, Team, TenantModel, TenantQuerySet


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(TenantModel):
    """A per-company extra field on customers (e.g. a bank's "contract number")."""

    class FieldType(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("Choice")

    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(
        _("type"), max_length=10, choices=FieldType.choices, default=FieldType.TEXT
    )
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="customfield_unique_key")
        ]

    def __str__(self) -> str:
        return self.label


class Customer(TenantModel):
    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANISATION = "organisation", _("Organisation")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PERSON)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    organisation_name = models.CharField(_("organisation name"), max_length=200, blank=True)
    # Kept in step with the name fields by save(): what lists show and name search reads.
    display_name = models.CharField(_("name"), max_length=300, editable=False)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        blank=True,
        help_text=_("The client company's own reference; imports match on it."),
    )
    address = models.TextField(_("address"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    consent_changed_at = models.DateTimeField(_("consent changed"), null=True, blank=True)
    do_not_call = models.BooleanField(_("do not call"), default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(m2m_fields=[tags], excluded_fields=["display_name"])

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["display_name", "id"]
        indexes = [
            models.Index(fields=["company", "display_name"], name="customer_company_name"),
            models.Index(fields=["company", "-updated_at"], name="customer_company_updated"),
            models.Index(fields=["owner"], name="customer_owner"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "external_id"],
                condition=~Q(external_id=""),
                name="customer_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or f"#{self.pk}"

    @staticmethod
    def compose_display_name(
        kind: str, first_name: str, middle_name: str, last_name: str, organisation_name: str
    ) -> str:
        if kind == Customer.Kind.ORGANISATION:
            return organisation_name.strip()
        return " ".join(p.strip() for p in (first_name, middle_name, last_name) if p.strip())

    def save(self, *args, **kwargs):
        self.display_name = self.compose_display_name(
            self.kind, self.first_name, self.middle_name, self.last_name, self.organisation_name
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "display_name"}
        super().save(*args, **kwargs)


class CustomerPhone(TenantModel):
    class Kind(models.TextChoices):
        MOBILE = "mobile", _("Mobile")
        HOME = "home", pgettext_lazy("phone kind", "Home")
        WORK = "work", _("Work")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="phones"
    )
    raw = models.CharField(_("as typed"), max_length=50)
    e164 = models.CharField(_("number (E.164)"), max_length=16)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.MOBILE)
    is_primary = models.BooleanField(_("primary"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["company", "e164"], name="phone_company_e164")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "e164"], name="phone_unique_per_customer")
        ]

    def __str__(self) -> str:
        return self.e164


class CustomerEmail(TenantModel):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="emails"
    )
    email = models.EmailField(_("e-mail"))
    is_primary = models.BooleanField(_("primary"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["company", "email"], name="email_company_email")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "email"], name="email_unique_per_customer")
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class CustomerNote(TenantModel):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="note_customer_created")]

    def __str__(self) -> str:
        return self.body[:50]


# --- Tickets ----------------------------------------------------------------------------------


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")
    MESSENGER = "messenger", _("Messenger")
    WEB = "web", _("Web form")
    WALK_IN = "walk_in", _("Walk-in")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Tier(models.IntegerChoices):
    FIRST_LINE = 1, _("First line")
    SECOND_LINE = 2, _("Second line")
    SPECIALIST = 3, _("Specialist")


# A closed ticket is final; a resolved one may be reopened by the customer's reply.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


class TicketCategory(TenantModel):
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="category_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class SLAPolicy(TenantModel):
    """Response and resolution targets for one priority in one company."""

    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"))
    business_hours = models.BooleanField(
        _("count business hours only"),
        default=False,
        help_text=_("Count only the company's business hours, skipping holidays."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["company__name", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["company", "priority"], name="sla_unique_priority")
        ]

    def __str__(self) -> str:
        return f"{self.company}: {self.get_priority_display()}"


class BusinessHours(TenantModel):
    """One opening span on a weekday, in the company's time zone (several make split shifts)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(closes__gt=models.F("opens")), name="hours_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(TenantModel):
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["company", "date"], name="holiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class TicketQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def for_assignee(self, user):
        return self.filter(assignee=user)

    def overdue(self, now=None):
        now = now or timezone.now()
        return self.active().filter(
            Q(resolution_due__lt=now)
            | Q(first_response_at__isnull=True, first_response_due__lt=now)
        )


class Ticket(TenantModel):
    number = models.PositiveIntegerField(_("number"), editable=False)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tickets"
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    category = models.ForeignKey(
        TicketCategory, verbose_name=_("category"), null=True, blank=True, on_delete=models.SET_NULL
    )
    required_skill = models.ForeignKey(
        Skill, verbose_name=_("required skill"), null=True, blank=True, on_delete=models.SET_NULL
    )
    tier = models.PositiveSmallIntegerField(
        _("support tier"), choices=Tier.choices, default=Tier.FIRST_LINE
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sla_policy = models.ForeignKey(
        SLAPolicy,
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    first_response_breached = models.BooleanField(_("first response SLA breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution SLA breached"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TicketQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="ticket_unique_number")
        ]
        indexes = [
            models.Index(fields=["company", "status", "resolution_due"], name="ticket_company_due"),
            models.Index(fields=["team", "status", "resolution_due"], name="ticket_team_due"),
            models.Index(fields=["assignee", "status", "resolution_due"], name="ticket_assignee"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer"),
            models.Index(fields=["company", "-created_at"], name="ticket_company_created"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        # Lists select_related("company"): their query-count tests catch a query per row.
        return f"{self.company.slug.upper()}-{self.number}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def allowed_transitions(self) -> list[str]:
        return [s for s in Status.values if s in TRANSITIONS[self.status]]

    def can_transition(self, to: str) -> bool:
        return to in TRANSITIONS[self.status]

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        if not self.is_active:
            return False
        response_late = (
            self.first_response_at is None
            and self.first_response_due is not None
            and self.first_response_due < now
        )
        return response_late or (self.resolution_due is not None and self.resolution_due < now)

    def due_in(self, now=None) -> timedelta | None:
        due = self.resolution_due
        return None if due is None else due - (now or timezone.now())


class TicketEscalation(TenantModel):
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="escalations"
    )
    from_tier = models.PositiveSmallIntegerField(_("from tier"), choices=Tier.choices)
    to_tier = models.PositiveSmallIntegerField(_("to tier"), choices=Tier.choices)
    to_team = models.ForeignKey(
        Team, verbose_name=_("to team"), null=True, blank=True, on_delete=models.SET_NULL
    )
    reason = models.TextField(_("reason"))
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("escalated by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    escalated_at = models.DateTimeField(_("escalated"), default=timezone.now)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["escalated_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.from_tier} → {self.to_tier}"


class TicketComment(TenantModel):
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("text"))
    is_internal = models.BooleanField(
        _("internal note"),
        default=True,
        help_text=_("Internal notes are for staff; replies are visible to the customer."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_created")]

    def __str__(self) -> str:
        return self.body[:50]


# --- Import -----------------------------------------------------------------------------------


class CustomerImport(TenantModel):
    """One upload of a customer file: its mapping, progress and every bad row by number."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=4)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("bad rows"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.state == self.State.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
