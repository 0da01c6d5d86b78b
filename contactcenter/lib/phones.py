"""Phone numbers: typed by people and PBXs in every format, stored and compared as E.164.

A number without a country code is read in the client company's default country, so that
`8 (916) 123-45-67` in a Russian company and `+7 916 123 4567` are the same number.
"""

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop


class InvalidPhone(ValueError):
    """The reason a number was refused, in words a user can act on."""


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str


_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: gettext_noop("unknown country code"),
    phonenumbers.NumberParseException.NOT_A_NUMBER: gettext_noop("not a phone number"),
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: gettext_noop("too short"),
    phonenumbers.NumberParseException.TOO_SHORT_NSN: gettext_noop("too short"),
    phonenumbers.NumberParseException.TOO_LONG: gettext_noop("too long"),
}


def normalize_phone(raw: str, region: str) -> Phone:
    """Parse `raw` in `region` (ISO 3166 alpha-2) and return it with its E.164 form.

    Raises InvalidPhone naming why the number was refused.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone(_("the phone number is empty"))
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        reason = _REASONS.get(exc.error_type, gettext_noop("not a phone number"))
        raise InvalidPhone(
            _("%(raw)s: %(reason)s") % {"raw": raw.strip(), "reason": _(reason)}
        ) from None
    if not phonenumbers.is_possible_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        words = {
            phonenumbers.ValidationResult.TOO_SHORT: _("too short"),
            phonenumbers.ValidationResult.TOO_LONG: _("too long"),
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: _("unknown country code"),
        }.get(reason, _("impossible length for this country"))
        raise InvalidPhone(_("%(raw)s: %(reason)s") % {"raw": raw.strip(), "reason": words})
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            _("%(raw)s: not a valid number in %(region)s")
            % {
                "raw": raw.strip(),
                "region": phonenumbers.region_code_for_number(number) or region,
            }
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(raw=raw.strip(), e164=e164)


@lru_cache(maxsize=4096)
def lookup_key(raw: str, region: str) -> str | None:
    """The E.164 form to search by, or None when the text cannot be a phone number.

    Searching is lenient: a partial or invalid number simply finds nothing. Kept for the
    numbers seen last: every event of a call asks again for the same caller.
    """
    try:
        return normalize_phone(raw, region).e164
    except InvalidPhone:
        return None


def format_international(e164: str) -> str:
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164
