import pytest

from contactcenter.lib.phones import InvalidPhone, format_international, lookup_key, normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        # Russian national formats: trunk prefix 8, with and without punctuation.
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("89161234567", "RU", "+79161234567"),
        ("+7 916 123 4567", "RU", "+79161234567"),
        ("+7 (916) 123-45-67", "IT", "+79161234567"),
        ("8 (495) 123-45-67", "RU", "+74951234567"),
        # Italian: landlines keep their leading 0, mobiles start with 3.
        ("06 1234 5678", "IT", "+390612345678"),
        ("333 123 4567", "IT", "+393331234567"),
        ("+39 333 1234567", "RU", "+393331234567"),
        ("0039 333 1234567", "RU", "+393331234567"),
        # United States national formats.
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("1-415-555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "IT", "+14155552671"),
    ],
)
def test_numbers_normalise_to_e164_in_the_company_country(raw, region, e164):
    assert normalize_phone(raw, region).e164 == e164


def test_the_typed_form_is_kept_without_surrounding_blanks():
    phone = normalize_phone("  8 (916) 123-45-67 ", "RU")
    assert phone.raw == "8 (916) 123-45-67"


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "RU", "the phone number is empty"),
        ("12", "RU", "12: too short"),
        ("hello", "RU", "hello: not a phone number"),
        ("8 916 123 45 67 89 01 23", "RU", "8 916 123 45 67 89 01 23: too long"),
        ("+999 123 456 789", "RU", "+999 123 456 789: unknown country code"),
        ("(415) 555-267", "US", "(415) 555-267: too short"),
        ("8 (016) 123-45-67", "RU", "8 (016) 123-45-67: not a valid number in RU"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(raw, region, reason):
    with pytest.raises(InvalidPhone) as error:
        normalize_phone(raw, region)
    assert str(error.value) == reason


def test_lookup_key_is_lenient():
    assert lookup_key("8 916 123-45-67", "RU") == "+79161234567"
    assert lookup_key("916", "RU") is None


def test_international_display():
    assert format_international("+79161234567") == "+7 916 123-45-67"
