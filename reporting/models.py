"""Per-company KPI settings: the service-level formula variant and the first-contact-resolution
window. Thresholds per queue (service level, short abandon) live on telephony.Queue."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from contactcenter.tenancy.models import Company, TenantModel
from reporting.catalogue import DEFAULT_SERVICE_LEVEL_VARIANT, ServiceLevelVariant

DEFAULT_FCR_WINDOW_DAYS = 7


class KpiSettingsQuerySet(models.QuerySet):
    def for_company(self, company: Company) -> "KpiSettings":
        """The company's settings, created with the defaults the first time they are asked for."""
        settings, _created = self.get_or_create(company=company)
        return settings

    def for_companies(self, companies) -> dict[int, "KpiSettings"]:
        """{company id: settings} for reports: a company that never saved any reads the defaults
        (the same values a first `for_company` would store), without writing during a read."""
        found = {s.company_id: s for s in self.filter(company__in=companies)}
        return {c.pk: found.get(c.pk) or KpiSettings(company=c) for c in companies}


class KpiSettings(TenantModel):
    service_level_variant = models.CharField(
        _("service-level formula"),
        max_length=32,
        choices=ServiceLevelVariant.choices,
        default=DEFAULT_SERVICE_LEVEL_VARIANT,
        help_text=_("Printed on every report and export."),
    )
    fcr_window_days = models.PositiveSmallIntegerField(
        _("first-contact resolution window (days)"),
        default=DEFAULT_FCR_WINDOW_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A repeat contact on the same matter within this many days is not resolved."),
    )

    objects = KpiSettingsQuerySet.as_manager()

    class Meta:
        verbose_name = _("KPI settings")
        verbose_name_plural = _("KPI settings")
        constraints = [
            models.UniqueConstraint(fields=["company"], name="kpi_settings_one_per_company"),
        ]

    def __str__(self) -> str:
        return str(self.company)
