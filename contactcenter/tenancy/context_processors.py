from contactcenter.tenancy.scoping import companies_for, roles_for


def tenancy(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_companies": companies_for(user),
        "user_roles": set(roles_for(user).values()),
    }
