from django.contrib import admin

from contactcenter.tenancy.admin import TenantAdmin
from reporting.models import KpiSettings


@admin.register(KpiSettings)
class KpiSettingsAdmin(TenantAdmin):
    list_display = ("company", "service_level_variant", "fcr_window_days")
    list_select_related = ("company",)
