"""Writes on customers: one validated path for the UI, the API, imports and demo data."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcenter.lib.phones import InvalidPhone, normalize_phone
from contactcenter.tenancy.models import Company, Membership, validate_time_zone
from crm.models import (
    Customer,
    CustomerEmail,
    CustomerNote,
    CustomerPhone,
    CustomFieldDefinition,
    Tag,
)

# Plain fields a caller may set; relations and derived fields go through their own arguments.
CUSTOMER_FIELDS = (
    "kind",
    "first_name",
    "middle_name",
    "last_name",
    "organisation_name",
    "external_id",
    "address",
    "city",
    "postal_code",
    "country",
    "time_zone",
    "language",
    "marketing_consent",
    "do_not_call",
)


@dataclass(frozen=True)
class PhoneInput:
    raw: str
    kind: str = CustomerPhone.Kind.MOBILE


@dataclass(frozen=True)
class NormalizedPhone:
    raw: str
    e164: str
    kind: str


def _as_phone_input(item) -> PhoneInput:
    if isinstance(item, PhoneInput):
        return item
    if isinstance(item, Mapping):
        return PhoneInput(
            raw=str(item.get("raw") or item.get("number") or ""),
            kind=item.get("kind") or CustomerPhone.Kind.MOBILE,
        )
    return PhoneInput(raw=str(item))


def phones_normalize(company: Company, items: Iterable) -> list[NormalizedPhone]:
    """E.164 forms in the company's default country; a bad number raises naming why."""
    result: list[NormalizedPhone] = []
    errors: list[str] = []
    seen: set[str] = set()
    for item in items:
        phone = _as_phone_input(item)
        if phone.kind not in CustomerPhone.Kind.values:
            errors.append(_("%(kind)s is not a phone kind") % {"kind": phone.kind})
            continue
        try:
            parsed = normalize_phone(phone.raw, company.default_country)
        except InvalidPhone as exc:
            errors.append(str(exc))
            continue
        if parsed.e164 not in seen:
            seen.add(parsed.e164)
            result.append(NormalizedPhone(raw=parsed.raw, e164=parsed.e164, kind=phone.kind))
    if errors:
        raise ValidationError({"phones": errors})
    return result


def emails_normalize(items: Iterable[str]) -> list[str]:
    result: list[str] = []
    errors: list[str] = []
    for item in items:
        email = (item or "").strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            errors.append(_("%(email)s is not a valid e-mail address") % {"email": item})
            continue
        if email not in result:
            result.append(email)
    if errors:
        raise ValidationError({"emails": errors})
    return result


def custom_fields_clean(company: Company, values: Mapping | None) -> dict:
    """Values checked against the company's definitions, converted to JSON-friendly types."""
    values = dict(values or {})
    definitions = {d.key: d for d in CustomFieldDefinition.objects.for_tenant(company)}
    errors: list[str] = []
    cleaned: dict = {}
    for key in values:
        if key not in definitions:
            errors.append(_("%(key)s is not a custom field of this company") % {"key": key})
    for key, definition in definitions.items():
        value = values.get(key)
        if value in (None, ""):
            if definition.required:
                errors.append(_("%(label)s is required") % {"label": definition.label})
            continue
        try:
            cleaned[key] = _custom_value(definition, value)
        except (ValueError, InvalidOperation):
            errors.append(
                _("%(label)s: %(value)s is not a valid %(type)s")
                % {
                    "label": definition.label,
                    "value": value,
                    "type": definition.get_field_type_display().lower(),
                }
            )
    if errors:
        raise ValidationError({"custom_fields": errors})
    return cleaned


def _custom_value(definition: CustomFieldDefinition, value):
    kind = CustomFieldDefinition.FieldType
    if definition.field_type == kind.NUMBER:
        return str(Decimal(str(value).replace(",", ".").strip()))
    if definition.field_type == kind.DATE:
        return (
            value.isoformat()
            if isinstance(value, date)
            else date.fromisoformat(str(value).strip()).isoformat()
        )
    if definition.field_type == kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "y", "да", "sì", "si"}:
            return True
        if text in {"0", "false", "no", "n", "нет"}:
            return False
        raise ValueError(value)
    if definition.field_type == kind.CHOICE:
        if str(value) not in [str(c) for c in definition.choices]:
            raise ValueError(value)
        return str(value)
    return str(value).strip()


def _check_fields(company: Company, fields: Mapping) -> None:
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationError(
            _("Unknown customer fields: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    errors: dict[str, list[str]] = {}
    kind = fields.get("kind", Customer.Kind.PERSON)
    if kind not in Customer.Kind.values:
        errors["kind"] = [_("%(kind)s is not a customer kind") % {"kind": kind}]
    name = Customer.compose_display_name(
        kind,
        fields.get("first_name", ""),
        fields.get("middle_name", ""),
        fields.get("last_name", ""),
        fields.get("organisation_name", ""),
    )
    if not name:
        field = "organisation_name" if kind == Customer.Kind.ORGANISATION else "last_name"
        errors[field] = [_("A name is required")]
    if fields.get("time_zone"):
        try:
            validate_time_zone(fields["time_zone"])
        except ValidationError as exc:
            errors["time_zone"] = exc.messages
    if errors:
        raise ValidationError(errors)


def _check_external_id(company: Company, external_id: str, exclude_pk: int | None = None) -> None:
    # The database constraint is the last word under a race; this gives the reason in words.
    if not external_id:
        return
    taken = Customer.objects.for_tenant(company).filter(external_id=external_id)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(
            {
                "external_id": _("Another customer already has the external id %(id)s.")
                % {"id": external_id}
            }
        )


def _check_owner(company: Company, owner) -> None:
    if owner is not None and not Membership.objects.filter(company=company, user=owner).exists():
        raise ValidationError({"owner": _("The owner is not a member of this client company.")})


def _set_phones(customer: Customer, phones: Sequence[NormalizedPhone]) -> None:
    existing = {p.e164: p for p in customer.phones.all()}
    wanted = {p.e164 for p in phones}
    for e164, phone in existing.items():
        if e164 not in wanted:
            phone.delete()
    for position, phone in enumerate(phones):
        current = existing.get(phone.e164)
        primary = position == 0
        if current is None:
            CustomerPhone.objects.create(
                company_id=customer.company_id,
                customer=customer,
                raw=phone.raw,
                e164=phone.e164,
                kind=phone.kind,
                is_primary=primary,
            )
        elif (current.raw, current.kind, current.is_primary) != (phone.raw, phone.kind, primary):
            current.raw, current.kind, current.is_primary = phone.raw, phone.kind, primary
            current.save()


def _set_emails(customer: Customer, emails: Sequence[str]) -> None:
    existing = {e.email: e for e in customer.emails.all()}
    for email, row in existing.items():
        if email not in emails:
            row.delete()
    for position, email in enumerate(emails):
        current = existing.get(email)
        if current is None:
            CustomerEmail.objects.create(
                company_id=customer.company_id,
                customer=customer,
                email=email,
                is_primary=position == 0,
            )
        elif current.is_primary != (position == 0):
            current.is_primary = position == 0
            current.save()


def _set_tags(customer: Customer, names: Iterable[str]) -> None:
    wanted = sorted({n.strip() for n in names if n and n.strip()})
    tags = []
    for name in wanted:
        tag, _created = Tag.objects.get_or_create(company_id=customer.company_id, name=name)
        tags.append(tag)
    if {t.pk for t in tags} != set(customer.tags.values_list("pk", flat=True)):
        customer.tags.set(tags)


def customer_create(
    *,
    company: Company,
    phones: Iterable = (),
    emails: Iterable[str] = (),
    tags: Iterable[str] = (),
    custom_fields: Mapping | None = None,
    owner=None,
    **fields,
) -> Customer:
    _check_fields(company, fields)
    _check_external_id(company, fields.get("external_id", ""))
    _check_owner(company, owner)
    clean_phones = phones_normalize(company, phones)
    clean_emails = emails_normalize(emails)
    clean_custom = custom_fields_clean(company, custom_fields)
    with transaction.atomic():
        customer = Customer(company=company, owner=owner, custom_fields=clean_custom, **fields)
        if customer.marketing_consent:
            customer.consent_changed_at = timezone.now()
        customer.save()
        _set_phones(customer, clean_phones)
        _set_emails(customer, clean_emails)
        _set_tags(customer, tags)
    return customer


_UNSET = object()


def customer_update(
    *,
    customer: Customer,
    phones: Iterable | None = None,
    emails: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    custom_fields: Mapping | None = None,
    owner=_UNSET,
    **fields,
) -> Customer:
    """Change what is given; None (or absent) leaves a collection as it is."""
    company = customer.company
    merged = {f: getattr(customer, f) for f in CUSTOMER_FIELDS} | fields
    _check_fields(company, merged)
    _check_external_id(company, merged["external_id"], exclude_pk=customer.pk)
    if owner is not _UNSET:
        _check_owner(company, owner)
    clean_phones = phones_normalize(company, phones) if phones is not None else None
    clean_emails = emails_normalize(emails) if emails is not None else None
    clean_custom = (
        custom_fields_clean(company, custom_fields) if custom_fields is not None else None
    )
    with transaction.atomic():
        changed = [f for f, v in fields.items() if getattr(customer, f) != v]
        for name in changed:
            setattr(customer, name, fields[name])
        if "marketing_consent" in changed:
            customer.consent_changed_at = timezone.now()
            changed.append("consent_changed_at")
        if owner is not _UNSET and owner != customer.owner:
            customer.owner = owner
            changed.append("owner")
        if clean_custom is not None and clean_custom != customer.custom_fields:
            customer.custom_fields = clean_custom
            changed.append("custom_fields")
        if changed:
            customer.save()
        if clean_phones is not None:
            _set_phones(customer, clean_phones)
        if clean_emails is not None:
            _set_emails(customer, clean_emails)
        if tags is not None:
            _set_tags(customer, tags)
    return customer


def customer_note_add(*, customer: Customer, author, body: str) -> CustomerNote:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("The note is empty.")})
    return CustomerNote.objects.create(
        company_id=customer.company_id, customer=customer, author=author, body=body
    )
