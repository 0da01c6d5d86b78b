"""The Django admin for administrators, scoped like every other entrance.

Superusers see everything. Staff users who are administrators (Role.ADMIN) of client companies
see, change and add only rows of those companies, and only ever get choices from them: the same
tenant boundary as the back office pages, with 404 for other companies' objects. Their access
comes from the role, so no per-model Django permissions have to be handed out.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from contactcenter.tenancy.models import (
    Company,
    Membership,
    Role,
    Skill,
    Team,
    TenantModel,
)
from contactcenter.tenancy.scoping import company_ids_for

ADMIN_SITE_ROLES = frozenset({Role.ADMIN})

admin.site.site_header = _("Contact centre administration")
admin.site.site_title = _("Contact centre")
admin.site.index_title = _("Configuration and data")


def admin_company_ids(request) -> list[int]:
    """The companies whose rows a non-superuser staff member administers."""
    return company_ids_for(request.user, roles=ADMIN_SITE_ROLES)


def is_company_admin(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and admin_company_ids(request))


def _limit_choices(request, model, queryset):
    """Choices for a relation, narrowed to the administrator's companies."""
    if request.user.is_superuser:
        return queryset
    ids = admin_company_ids(request)
    if model is Company:
        return queryset.filter(pk__in=ids)
    if issubclass(model, TenantModel):
        return queryset.filter(company_id__in=ids)
    if model is get_user_model():
        return queryset.filter(memberships__company_id__in=ids).distinct()
    return queryset


class _ScopedPermissions:
    """Role-based permissions: an object outside the administrator's companies is not theirs."""

    def _company_id_of(self, obj) -> int | None:
        return getattr(obj, "company_id", None)

    def _in_scope(self, request, obj) -> bool:
        if obj is None:
            return True
        return self._company_id_of(obj) in admin_company_ids(request)

    def _role_allows(self, request, obj=None) -> bool:
        return is_company_admin(request) and self._in_scope(request, obj)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or is_company_admin(request)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self._role_allows(request, obj)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self._role_allows(request, obj)

    def has_add_permission(self, request, *args):
        if request.user.is_superuser:
            return super().has_add_permission(request, *args)
        return is_company_admin(request)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._role_allows(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = _limit_choices(request, db_field.related_model, formfield.queryset)
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = _limit_choices(request, db_field.related_model, formfield.queryset)
        return formfield


class ScopedModelAdmin(_ScopedPermissions, admin.ModelAdmin):
    def get_object(self, request, object_id, from_field=None):
        # Looked up through the scoped get_queryset: another company's object answers 404 like
        # a missing one (the admin's default would redirect with "does not exist").
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


class TenantAdmin(ScopedModelAdmin):
    """A tenant-owned model: non-superusers see the rows of their companies only."""

    list_filter: tuple = (("company", admin.RelatedOnlyFieldListFilter),)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(company_id__in=admin_company_ids(request))


class TenantInline(_ScopedPermissions):
    """An inline on a tenant-owned parent: allowed when the parent is in the user's companies.
    Mix in before admin.TabularInline / admin.StackedInline."""


class ScopedHistoryMixin:
    """django-simple-history's admin views, limited to objects the user may see.

    Its history views look records up by id without the admin's queryset (and fall back to the
    latest historical record of a deleted object), so without this an administrator of one
    company could read another company's history by guessing ids. Reverting is left to the
    services: a historical version is shown, never saved back.
    """

    def _check_scope(self, request, object_id) -> None:
        try:
            visible = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        except (ValueError, ValidationError):
            visible = False
        if not visible:
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._check_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._check_scope(request, object_id)
        if request.method == "POST":
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True


@admin.register(Company)
class CompanyAdmin(ScopedModelAdmin):
    list_display = ("name", "slug", "time_zone", "default_country", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)

    def _company_id_of(self, obj):
        return obj.pk

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=admin_company_ids(request))

    # Client companies are opened and removed by the platform's superusers only.
    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(Team)
class TeamAdmin(TenantAdmin):
    list_display = ("name", "company")
    search_fields = ("name",)


@admin.register(Skill)
class SkillAdmin(TenantAdmin):
    list_display = ("name", "company")
    search_fields = ("name",)


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ("user", "company", "role", "team")
    list_filter = (("company", admin.RelatedOnlyFieldListFilter), "role")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user", "company", "team")
