"""The one place that decides which client companies a user may see and act in.

Every read of tenant-owned data starts from `scoped()` (or `Model.objects.for_user`), and every
single-object lookup goes through `get_scoped_or_404()`, so that an object of another company
answers exactly like a missing one. The tenant always comes from the user's memberships (or a
PBX connection's credentials), never from a request body.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from contactcenter.tenancy.models import Company, Membership, Role

_CACHE_ATTR = "_tenancy_roles"


def roles_for(user) -> dict[int, str]:
    """{company id: role} for the user's active companies, cached on the user for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        if user.is_superuser:
            cached = dict.fromkeys(
                Company.objects.filter(is_active=True).values_list("id", flat=True), Role.ADMIN
            )
        else:
            cached = dict(
                Membership.objects.filter(user=user, company__is_active=True).values_list(
                    "company_id", "role"
                )
            )
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user) -> None:
    """Drop the cached roles (after a membership changes within the same request or test)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def company_ids_for(user, roles: Iterable[str] | None = None) -> list[int]:
    allowed = set(roles) if roles is not None else None
    return sorted(
        cid for cid, role in roles_for(user).items() if allowed is None or role in allowed
    )


def companies_for(user, roles: Iterable[str] | None = None) -> QuerySet[Company]:
    return Company.objects.filter(id__in=company_ids_for(user, roles))


def role_in(user, company_id: int) -> str | None:
    return roles_for(user).get(company_id)


def has_role(user, company_id: int, roles: Iterable[str]) -> bool:
    return role_in(user, company_id) in set(roles)


def require_role(user, company_id: int, roles: Iterable[str]) -> str:
    """The user's role in the company, or 404 if not a member, 403 if the role may not act."""
    role = role_in(user, company_id)
    if role is None:
        raise Http404
    if role not in set(roles):
        raise PermissionDenied
    return role


def scoped(queryset: QuerySet, user, roles: Iterable[str] | None = None) -> QuerySet:
    """The queryset narrowed to the companies the user may see (with one of `roles`)."""
    return queryset.filter(company_id__in=company_ids_for(user, roles))


def get_scoped_or_404(queryset: QuerySet, user, roles: Iterable[str] | None = None, **lookup):
    return get_object_or_404(scoped(queryset, user, roles), **lookup)


def company_from_param(
    user, slug: str | None, roles: Iterable[str] | None = None
) -> Company | None:
    """The company a `?company=<slug>` filter names, if the user may see it; 404 otherwise."""
    if not slug:
        return None
    return get_object_or_404(companies_for(user, roles), slug=slug)


def filter_by_company_param(queryset: QuerySet, user, slug: str | None) -> QuerySet:
    queryset = scoped(queryset, user)
    company = company_from_param(user, slug)
    return queryset.filter(company=company) if company else queryset
