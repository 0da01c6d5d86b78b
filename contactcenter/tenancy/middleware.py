import zoneinfo

from django.utils import timezone, translation

from contactcenter.tenancy.models import Company, UserPreference
from contactcenter.tenancy.scoping import company_ids_for


def user_zone(user) -> zoneinfo.ZoneInfo | None:
    """The user's own time zone, else the time zone of their first client company."""
    if not user.is_authenticated:
        return None
    pref = UserPreference.objects.filter(user=user).only("time_zone", "language").first()
    user._preference = pref
    if pref and pref.time_zone:
        return zoneinfo.ZoneInfo(pref.time_zone)
    ids = company_ids_for(user)
    if ids:
        tz = Company.objects.filter(id=ids[0]).values_list("time_zone", flat=True).first()
        if tz:
            return zoneinfo.ZoneInfo(tz)
    return None


class TimezoneMiddleware:
    """Shows times in the user's zone (or their company's) and pages in the user's language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = user_zone(request.user)
        if zone:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        pref = getattr(request.user, "_preference", None)
        if pref and pref.language:
            translation.activate(pref.language)
            request.LANGUAGE_CODE = pref.language
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
