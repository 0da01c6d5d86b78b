"""What every back office view shares: tenant lookups with the role rules, and tables."""

from django_tables2 import RequestConfig

from contactcenter.tenancy.models import WRITE_ROLES
from contactcenter.tenancy.scoping import get_scoped_or_404, has_role, require_role

PER_PAGE = 25


def get_for_read(queryset, user, pk: int):
    """The object if it is in one of the user's companies; 404 otherwise (like a missing one)."""
    return get_scoped_or_404(queryset, user, pk=pk)


def get_for_write(queryset, user, pk: int):
    """As get_for_read, and 403 unless the user's role there may write."""
    obj = get_scoped_or_404(queryset, user, pk=pk)
    require_role(user, obj.company_id, WRITE_ROLES)
    return obj


def can_write(user, company_id: int) -> bool:
    return has_role(user, company_id, WRITE_ROLES)


def paginate(request, table, per_page: int = PER_PAGE):
    RequestConfig(request, paginate={"per_page": per_page}).configure(table)
    return table
