import zoneinfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def validate_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            _("%(value)s is not a country code for phone numbers (ISO 3166, e.g. RU, IT, US)."),
            params={"value": value},
        )


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    CLIENT_MANAGER = "client_manager", _("Client manager")
    ADMIN = "admin", _("Administrator")


# Who may do what, by role. One table so that views, the API and tests read the same rules.
WRITE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
IMPORT_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
EXPORT_ROLES = frozenset({Role.SUPERVISOR, Role.CLIENT_MANAGER, Role.ADMIN})
MANAGE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


class Company(models.Model):
    """A client company of the outsourcing centre: the tenant."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    default_country = models.CharField(
        _("default country for phone numbers"),
        max_length=2,
        default="RU",
        validators=[validate_region],
        help_text=_("Numbers typed without a country code are read as this country's."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Per-company ticket numbers (BANK-42): taken under a row lock in ticket_create.
    last_ticket_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("client company")
        verbose_name_plural = _("client companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zoneinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class TenantQuerySet(models.QuerySet):
    """Every tenant-owned model's manager: reads start from here (see scoping.py)."""

    def for_tenant(self, company):
        return self.filter(company=company)

    def for_user(self, user, roles=None):
        from contactcenter.tenancy.scoping import company_ids_for

        return self.filter(company_id__in=company_ids_for(user, roles=roles))


class TenantModel(models.Model):
    company = models.ForeignKey(
        Company, verbose_name=_("client company"), on_delete=models.PROTECT, related_name="+"
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Team(TenantModel):
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["company__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="team_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Skill(TenantModel):
    """A specialisation used for routing calls and tickets (e.g. "mortgages", "Italian")."""

    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["company__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="skill_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(TenantModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="membership_unique_user"),
        ]
        indexes = [models.Index(fields=["user", "company"], name="membership_user_company")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company}: {self.get_role_display()}"

    def clean(self):
        if self.team_id and self.team.company_id != self.company_id:
            raise ValidationError({"team": _("The team belongs to another client company.")})


class UserPreference(models.Model):
    """Per-user display preferences: times show in this zone, pages in this language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="preference",
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Empty: the time zone of your first client company."),
    )
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return str(self.user)
