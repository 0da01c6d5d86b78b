"""Who may write through the API: the same role table the pages read (tenancy.models)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from contactcenter.tenancy.models import WRITE_ROLES
from contactcenter.tenancy.scoping import company_ids_for, has_role


class CompanyWriteRole(BasePermission):
    """Every member reads; writing needs a write role in the object's company.

    The object was already fetched from a scoped queryset, so a stranger got a 404 before this
    check runs; a member without the role (a client manager) gets a 403.
    """

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS or getattr(view, "action", None) != "create":
            return True
        if not getattr(view, "company_from_body", False):
            return True  # nested under a parent object: has_object_permission judges the parent
        # The new object names its company in the body and the serializer checks that company;
        # a user who may write nowhere is refused before the body is read.
        return bool(company_ids_for(request.user, WRITE_ROLES))

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return has_role(request.user, obj.company_id, WRITE_ROLES)
