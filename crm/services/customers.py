"""Writes on customers: one validated path for the UI, the API, imports and demo data."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import DateTimeField, JSONField
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
    definitions = {d.key: d for d in CustomFieldDefinition.objects.for_tenant(company)}
    return custom_fields_clean_with(definitions, values)


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


# --- Many new customers at once (imports) -------------------------------------------------------


@dataclass
class CustomerDraft:
    """One new customer for customers_bulk_create: what customer_create takes as arguments.

    `phones` may hold NormalizedPhone items (from phones_normalize), taken as they are: an import
    has already parsed every number, and parsing is most of the cost of a row.
    """

    fields: Mapping = field(default_factory=dict)
    phones: Sequence = ()
    emails: Sequence[str] = ()
    tags: Sequence[str] = ()
    custom_fields: Mapping | None = None
    owner: object = None


class CustomerBulkError(ValidationError):
    """Some drafts are invalid and nothing was written; `by_position` maps the position of each
    bad draft to its ValidationError."""

    def __init__(self, by_position: dict[int, ValidationError]):
        self.by_position = by_position
        super().__init__([message for error in by_position.values() for message in error.messages])


def custom_fields_clean_with(
    definitions: Mapping[str, CustomFieldDefinition], values: Mapping | None
) -> dict:
    """Custom field values checked against definitions loaded once (imports check many rows)."""
    values = dict(values or {})
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


@dataclass
class _CleanDraft:
    fields: Mapping
    phones: list[NormalizedPhone]
    emails: list[str]
    tags: list[str]
    custom_fields: dict
    owner: object


def _draft_clean(
    company: Company,
    draft: CustomerDraft,
    definitions: Mapping[str, CustomFieldDefinition],
    member_ids: set,
) -> _CleanDraft:
    _check_fields(company, draft.fields)
    if draft.owner is not None and draft.owner.pk not in member_ids:
        raise ValidationError({"owner": _("The owner is not a member of this client company.")})
    if all(isinstance(p, NormalizedPhone) for p in draft.phones):
        by_e164: dict[str, NormalizedPhone] = {}
        for phone in draft.phones:
            by_e164.setdefault(phone.e164, phone)
        clean_phones = list(by_e164.values())
    else:
        clean_phones = phones_normalize(
            company,
            [
                PhoneInput(raw=p.raw, kind=p.kind) if isinstance(p, NormalizedPhone) else p
                for p in draft.phones
            ],
        )
    return _CleanDraft(
        fields=draft.fields,
        phones=clean_phones,
        emails=emails_normalize(draft.emails),
        tags=sorted({n.strip() for n in draft.tags if n and n.strip()}),
        custom_fields=custom_fields_clean_with(definitions, draft.custom_fields),
        owner=draft.owner,
    )


def customers_bulk_create(
    *,
    company: Company,
    drafts: Sequence[CustomerDraft],
    history_user=None,
    history_reason: str = "",
) -> list[int]:
    """Create many customers with the checks customer_create makes and their audit history, in a
    number of queries that does not grow with the customers; the new ids in the drafts' order.

    All or nothing: every draft is checked first; if any is bad, CustomerBulkError names each by
    position and nothing is written. Each customer gets one "created" history row holding its
    tags (customer_create writes a second one when it sets the tags), and its phones and e-mails
    theirs, all with `history_user` and `history_reason`. Missing tags are created, as
    customer_create does. Like bulk_create, no model signal is sent.
    """
    definitions = {d.key: d for d in CustomFieldDefinition.objects.for_tenant(company)}
    owner_ids = {d.owner.pk for d in drafts if d.owner is not None}
    member_ids = set(
        Membership.objects.filter(company=company, user_id__in=owner_ids).values_list(
            "user_id", flat=True
        )
        if owner_ids
        else ()
    )
    clean: list[_CleanDraft] = []
    errors: dict[int, ValidationError] = {}
    for position, draft in enumerate(drafts):
        try:
            clean.append(_draft_clean(company, draft, definitions, member_ids))
        except ValidationError as exc:
            errors[position] = exc
    if errors:
        raise CustomerBulkError(errors)
    if not clean:
        return []

    now = timezone.now()
    history = {
        "history_date": now,
        "history_change_reason": history_reason or None,
        "history_type": "+",
        "history_user_id": history_user.pk if history_user is not None else None,
    }
    defaults = {name: Customer._meta.get_field(name).get_default() for name in CUSTOMER_FIELDS}
    with transaction.atomic():
        ids = _ids_reserve(Customer, len(clean))
        customers = []
        phones = []
        emails = []
        for pk, item in zip(ids, clean, strict=True):
            values = {**defaults, **item.fields}
            customers.append(
                {
                    **values,
                    "id": pk,
                    "company_id": company.pk,
                    "display_name": Customer.compose_display_name(
                        values["kind"],
                        values["first_name"],
                        values["middle_name"],
                        values["last_name"],
                        values["organisation_name"],
                    ),
                    "custom_fields": item.custom_fields,
                    "consent_changed_at": now if values["marketing_consent"] else None,
                    "owner_id": item.owner.pk if item.owner is not None else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            phones += [
                {
                    "company_id": company.pk,
                    "customer_id": pk,
                    "raw": phone.raw,
                    "e164": phone.e164,
                    "kind": phone.kind,
                    "is_primary": position == 0,
                }
                for position, phone in enumerate(item.phones)
            ]
            emails += [
                {
                    "company_id": company.pk,
                    "customer_id": pk,
                    "email": email,
                    "is_primary": position == 0,
                }
                for position, email in enumerate(item.emails)
            ]
        customer_history = _history_rows(Customer, customers, history)
        _rows_insert(Customer, customers)
        _rows_insert(Customer.history.model, customer_history)
        for model, rows in ((CustomerPhone, phones), (CustomerEmail, emails)):
            if rows:
                for row, pk in zip(rows, _ids_reserve(model, len(rows)), strict=True):
                    row["id"] = pk
                _rows_insert(model, rows)
                _rows_insert(model.history.model, _history_rows(model, rows, history))
        _tags_link(company, ids, clean, customer_history)
    return list(ids)


def _tags_link(company, ids, clean, customer_history) -> None:
    """Tag links, and the same links in each customer's "created" history row."""
    wanted = {name for item in clean for name in item.tags}
    if not wanted:
        return
    tags = {t.name: t.pk for t in Tag.objects.for_tenant(company).filter(name__in=wanted)}
    for name in sorted(wanted - set(tags)):
        tags[name] = Tag.objects.get_or_create(company_id=company.pk, name=name)[0].pk
    links = [
        {"customer_id": pk, "tag_id": tags[name]}
        for pk, item in zip(ids, clean, strict=True)
        for name in item.tags
    ]
    through = Customer.tags.through
    for link, pk in zip(links, _ids_reserve(through, len(links)), strict=True):
        link["id"] = pk
    _rows_insert(through, links)
    history_id = {row["id"]: row["history_id"] for row in customer_history}
    m2m_history = Customer.history.model.tags.model
    _rows_insert(
        m2m_history,
        [
            {**link, "history_id": history_id[link["customer_id"]], "m2m_history_id": pk}
            for link, pk in zip(links, _ids_reserve(m2m_history, len(links)), strict=True)
        ],
    )


# Writing many rows through the ORM costs far more than the database's work (Django prepares
# every value of every row one by one): customers_bulk_create writes plain rows instead, COPY on
# PostgreSQL and executemany on SQLite, with ids it reserves first, because phones, e-mails, tag
# links and history rows need the new customers' ids.


def _ids_reserve(model, n: int) -> Sequence[int]:
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # From the table's own sequence, so that later ORM inserts cannot collide. The
            # sequence is looked up once, not once per id (five times faster).
            cursor.execute(
                "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) "
                "SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
                [table, column, n],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite has one writer at a time: the transaction (BEGIN IMMEDIATE, see settings) holds
        # the write lock, so nobody takes these ids before the insert. Above any id ever used
        # (AUTOINCREMENT remembers it in sqlite_sequence), as SQLite itself would choose them.
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"coalesce((SELECT max({quote(column)}) FROM {quote(table)}), 0))",
            [table],
        )
        first = cursor.fetchone()[0] + 1
        return range(first, first + n)


def _history_rows(model, rows: list[dict], history: Mapping) -> list[dict]:
    """The "created" history row of each row, as simple-history would write it."""
    history_model = model.history.model
    tracked = [f.attname for f in history_model.tracked_fields]
    ids = _ids_reserve(history_model, len(rows))
    return [
        {**{name: row[name] for name in tracked}, **history, "history_id": pk}
        for row, pk in zip(rows, ids, strict=True)
    ]


def _rows_insert(model, rows: list[dict]) -> None:
    """INSERT rows that give every column of the model (a field added to a model and not here
    fails loudly rather than silently taking no value)."""
    if not rows:
        return
    fields = model._meta.concrete_fields
    names = [f.attname for f in fields]
    if set(rows[0]) != set(names):
        raise ImproperlyConfigured(
            f"customers_bulk_create does not match {model.__name__}: missing "
            f"{sorted(set(names) - set(rows[0]))}, unknown {sorted(set(rows[0]) - set(names))}"
        )
    ops = connection.ops
    adapters = {
        index: (
            (lambda value, encoder=field.encoder: ops.adapt_json_value(value, encoder))
            if isinstance(field, JSONField)
            else ops.adapt_datetimefield_value
        )
        for index, field in enumerate(fields)
        if isinstance(field, JSONField | DateTimeField)
    }
    values = []
    for row in rows:
        line = [row[name] for name in names]
        for index, adapt in adapters.items():
            if line[index] is not None:
                line[index] = adapt(line[index])
        values.append(line)
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for line in values:
                    copy.write_row(line)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)
