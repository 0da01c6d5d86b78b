"""Customer import: read a CSV or XLSX file, map its columns, check every row, apply the good ones.

Pipeline:
1. `table_read` turns the upload into named columns and numbered rows (header = row 1, as a
   spreadsheet shows it). No database.
2. `mapping_guess` proposes a customer field for each column from its header (English, Russian,
   Italian, and the headers our own export writes in every language); `mapping_clean` checks a
   mapping the user or an API client supplied.
3. `row_parse` checks one row through the customer services' helpers (phones, e-mails, the name
   rule) and collects every problem with the column it came from.
4. `customer_import_run` applies the good rows in ONE transaction (all or nothing: a crash writes
   no customer) in batches: matches are looked up per batch, the batch's new customers are
   written together, progress is reported per batch.

Re-importing a file creates no duplicates: a row matches an existing customer by external id when
it has one, else by (E.164 phone and display name) or (e-mail and display name) (a customer with
another external id is never taken this way). A matched customer gets the file's non-empty values;
phones, e-mails and tags are added, never removed; a row that would change nothing is counted as
unchanged and not written at all. Every row needs an external id, a phone or an e-mail, so that
the next import can find it again.

Writes go through the customer services, so that validation and the audit history are the same
as everywhere else: new customers through customers_bulk_create, one call per batch (a lead list
of 100,000 rows is mostly new customers, and one customer_create per row cost ~25 ms), changes
to existing ones through customer_update. The history names the importing user and the file.
Reads of existing customers are batched.
"""

import csv
import functools
import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from contactcenter.lib import rawsql
from contactcenter.tenancy.models import Company, Membership, validate_time_zone
from crm.models import (
    Customer,
    CustomerEmail,
    CustomerImport,
    CustomerPhone,
    CustomFieldDefinition,
    Tag,
)
from crm.services.customers import (
    CUSTOMER_FIELDS,
    CustomerBulkError,
    CustomerDraft,
    NormalizedPhone,
    PhoneInput,
    custom_fields_clean_with,
    customer_update,
    customers_bulk_create,
    emails_normalize,
    phones_normalize,
)

logger = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
# Rows checked, matched and written between two progress reports and lookups of existing customers.
BATCH_SIZE = 1000
# Customers an import creates before it refreshes the statistics of their tables.
ANALYZE_AFTER = 1000
IGNORE = ""
CUSTOM_PREFIX = "custom:"

# --- Targets: what a column can be mapped to -----------------------------------------------------

SCALAR_TARGETS = (
    "external_id",
    "kind",
    "first_name",
    "middle_name",
    "last_name",
    "organisation_name",
    "address",
    "city",
    "postal_code",
    "country",
    "time_zone",
    "language",
    "marketing_consent",
    "do_not_call",
    "owner",
)
PHONE_TARGETS = {
    "phone": CustomerPhone.Kind.MOBILE,
    "phone_home": CustomerPhone.Kind.HOME,
    "phone_work": CustomerPhone.Kind.WORK,
    "phone_other": CustomerPhone.Kind.OTHER,
}
# Targets that several columns may feed (their values are merged).
MULTI_TARGETS = frozenset({*PHONE_TARGETS, "email", "tags"})
BOOLEAN_TARGETS = frozenset({"marketing_consent", "do_not_call"})
NAME_TARGETS = ("first_name", "middle_name", "last_name", "organisation_name")

# The headers our export writes: also recognised by the guesser in every language, so that an
# export re-imports with no mapping work whatever language either user works in.
HEADERS = {
    "company": gettext_lazy("Company"),
    "external_id": gettext_lazy("External id"),
    "kind": gettext_lazy("Kind"),
    "first_name": gettext_lazy("First name"),
    "middle_name": gettext_lazy("Middle name"),
    "last_name": gettext_lazy("Last name"),
    "organisation_name": gettext_lazy("Organisation name"),
    "phone": gettext_lazy("Phones"),
    "email": gettext_lazy("E-mails"),
    "tags": gettext_lazy("Tags"),
    "address": gettext_lazy("Address"),
    "city": gettext_lazy("City"),
    "postal_code": gettext_lazy("Postal code"),
    "country": gettext_lazy("Country"),
    "language": gettext_lazy("Language"),
    "time_zone": gettext_lazy("Time zone"),
    "marketing_consent": gettext_lazy("Marketing consent"),
    "do_not_call": gettext_lazy("Do not call"),
    "owner": gettext_lazy("Owner"),
    "created": gettext_lazy("Created"),
}

TARGET_LABELS = {
    "external_id": gettext_lazy("External id"),
    "kind": gettext_lazy("Kind (person or organisation)"),
    "first_name": gettext_lazy("First name"),
    "middle_name": gettext_lazy("Middle name"),
    "last_name": gettext_lazy("Last name"),
    "organisation_name": gettext_lazy("Organisation name"),
    "phone": gettext_lazy("Phone (mobile)"),
    "phone_home": gettext_lazy("Phone (home)"),
    "phone_work": gettext_lazy("Phone (work)"),
    "phone_other": gettext_lazy("Phone (other)"),
    "email": gettext_lazy("E-mail"),
    "tags": gettext_lazy("Tags (comma-separated)"),
    "address": gettext_lazy("Address"),
    "city": gettext_lazy("City"),
    "postal_code": gettext_lazy("Postal code"),
    "country": gettext_lazy("Country (two letters)"),
    "time_zone": gettext_lazy("Time zone"),
    "language": gettext_lazy("Language"),
    "marketing_consent": gettext_lazy("Marketing consent (yes/no)"),
    "do_not_call": gettext_lazy("Do not call (yes/no)"),
    "owner": gettext_lazy("Owner agent (user name)"),
}
NAME_FIELD_LABEL = pgettext_lazy("import field", "Name")

# Header spellings seen in customer files, comma-separated; compared after `_word_key`.
ALIASES = {
    "external_id": (
        "external id, id, client id, customer id, customer number, reference, ref, "
        "внешний id, внешний идентификатор, идентификатор, код, код клиента, номер клиента, "
        "id клиента, codice, codice cliente, id cliente, id esterno, riferimento"
    ),
    "kind": "kind, type, customer type, тип, тип клиента, вид, tipo, tipo cliente",
    "first_name": (
        "first name, firstname, given name, forename, first, имя, nome, nome di battesimo"
    ),
    "middle_name": "middle name, middlename, patronymic, отчество, secondo nome",
    "last_name": "last name, lastname, surname, family name, last, фамилия, cognome",
    "organisation_name": (
        "organisation, organization, organisation name, organization name, company name, "
        "организация, название организации, наименование, наименование организации, "
        "ragione sociale, azienda, organizzazione, denominazione, società"
    ),
    "phone": (
        "phone, phones, phone number, telephone, tel, mobile, mobile phone, cell, cell phone, "
        "cellphone, телефон, телефоны, номер телефона, мобильный, мобильный телефон, "
        "моб телефон, сотовый, telefono, telefoni, cellulare, numero di telefono"
    ),
    "phone_home": (
        "home phone, phone home, домашний телефон, телефон домашний, telefono casa, "
        "telefono di casa, telefono fisso"
    ),
    "phone_work": (
        "work phone, office phone, business phone, phone work, рабочий телефон, "
        "телефон рабочий, telefono ufficio, telefono lavoro"
    ),
    "phone_other": "other phone, другой телефон, altro telefono",
    "email": (
        "email, e-mail, emails, e-mails, email address, e-mail address, mail, эл почта, "
        "электронная почта, почта, емейл, имейл, posta elettronica, indirizzo email"
    ),
    "tags": "tags, tag, labels, теги, тэги, метки, тег, etichette, etichetta",
    "address": "address, street, адрес, indirizzo, via",
    "city": "city, town, город, населенный пункт, città, citta, comune",
    "postal_code": (
        "postal code, postcode, zip, zip code, индекс, почтовый индекс, cap, codice postale"
    ),
    "country": "country, country code, страна, paese, nazione",
    "time_zone": "time zone, timezone, tz, часовой пояс, fuso orario",
    "language": "language, lang, язык, lingua",
    "marketing_consent": (
        "consent, marketing consent, согласие, согласие на рассылку, consenso, consenso marketing"
    ),
    "do_not_call": "do not call, dnc, не звонить, non chiamare",
    "owner": (
        "owner, owner agent, agent, ответственный, владелец, менеджер, responsabile, "
        "proprietario, agente"
    ),
}

# How our export writes booleans (translated); the reader accepts these in every language.
YES = gettext_lazy("yes")
NO = gettext_lazy("no")
_TRUE_WORDS = {"1", "true", "yes", "y", "x", "да", "д", "si", "sì", "vero"}
_FALSE_WORDS = {"0", "false", "no", "n", "нет", "н", "falso"}
_KIND_WORDS = {
    Customer.Kind.PERSON: (
        "person, individual, private, физлицо, физическое лицо, частное лицо, persona, "
        "persona fisica, privato"
    ),
    Customer.Kind.ORGANISATION: (
        "organisation, organization, company, business, юрлицо, юридическое лицо, организация, "
        "компания, azienda, società, organizzazione, persona giuridica"
    ),
}
_SPLIT_LIST = re.compile(r"[;,\n]")
# Our export prefixes these with an apostrophe so that Excel does not run them as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Digits and punctuation alone ("+7 916 123-45-67") cannot call a function: left as they are.
_NUMBERS_ONLY = re.compile(r"[\d\s()+\-.,;/]*")


def _word_key(text: str) -> str:
    """A header or word reduced to its letters and digits: "E-mail" and "e_mail " compare equal."""
    return re.sub(r"[\W_]+", "", str(text).casefold().replace("\u0451", "\u0435"))  # yo as ye


def _in_every_language(text) -> set[str]:
    keys = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            keys.add(_word_key(str(text)))
    return keys


def target_label(target: str, definitions: Mapping[str, CustomFieldDefinition]) -> str:
    if target.startswith(CUSTOM_PREFIX):
        definition = definitions.get(target.removeprefix(CUSTOM_PREFIX))
        label = definition.label if definition else target.removeprefix(CUSTOM_PREFIX)
        return _("%(label)s (custom field)") % {"label": label}
    if target == "name":
        return str(NAME_FIELD_LABEL)
    return str(TARGET_LABELS.get(target, target))


def target_choices(definitions: Mapping[str, CustomFieldDefinition]) -> list[tuple[str, str]]:
    choices = [(IGNORE, _("Ignore this column"))]
    choices += [(t, str(label)) for t, label in TARGET_LABELS.items()]
    choices += [
        (CUSTOM_PREFIX + key, target_label(CUSTOM_PREFIX + key, definitions)) for key in definitions
    ]
    return choices


# --- Reading the file ---------------------------------------------------------------------------


class ImportFileError(ValueError):
    """The file cannot be read as a table; the message says why in words a user can act on."""


@dataclass(frozen=True)
class Table:
    columns: list[str]
    # (row number as a spreadsheet shows it, cells aligned with columns); blank rows left out.
    rows: list[tuple[int, list[str]]]


def file_format_for(name: str) -> str:
    extension = PurePath(name or "").suffix.lower().lstrip(".")
    if extension not in FORMATS:
        raise ImportFileError(
            _("Only .csv and .xlsx files can be imported; %(name)s is not one.") % {"name": name}
        )
    return extension


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def formula_escape(text: str) -> str:
    """A cell Excel would run as a formula gets an apostrophe (CSV injection); _unescape_formula
    takes it off again on import, so that an export re-imports unchanged."""
    if text and text.startswith(FORMULA_STARTS) and not _NUMBERS_ONLY.fullmatch(text):
        return "'" + text
    return text


def _unescape_formula(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def _column_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for index, raw in enumerate(header, start=1):
        name = raw or _("Column %(number)s") % {"number": index}
        candidate, copy = name, 2
        while candidate in names:
            candidate = f"{name} ({copy})"
            copy += 1
        names.append(candidate)
    return names


def _table(raw_rows: Iterable[tuple[int, list[str]]]) -> Table:
    iterator = iter(raw_rows)
    try:
        _number, header = next(iterator)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    while header and not header[-1]:
        header = header[:-1]
    if not header:
        raise ImportFileError(_("Row 1 must hold the column names, and it is empty."))
    columns = _column_names(header)
    width = len(columns)
    rows = []
    for number, cells in iterator:
        cells = (cells + [""] * width)[:width]
        if any(cells):
            rows.append((number, cells))
    return Table(columns=columns, rows=rows)


def _sniff_delimiter(text: str) -> str:
    """`,` or `;`: whichever splits the header row into more columns (Excel in Russian and
    Italian locales saves CSV with `;`)."""
    first_line = text.split("\n", 1)[0]
    widths = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in (",", ";")}
    return ";" if widths[";"] > widths[","] else ","


def _read_csv(data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file is not UTF-8 text. In Excel, save it as “CSV UTF-8”.")
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))

    def rows():
        # Rows are numbered by record, as a spreadsheet numbers them (a quoted cell may span lines).
        number = 0
        try:
            for number, record in enumerate(reader, start=1):
                yield number, [_unescape_formula(cell.strip()) for cell in record]
        except csv.Error as exc:
            raise ImportFileError(
                _("Row %(row)s cannot be read: %(error)s") % {"row": number + 1, "error": exc}
            ) from None

    return _table(rows())


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        raw = [
            (number, [_cell_text(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
        workbook.close()
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        logger.info("unreadable xlsx: %r", exc)
        raise ImportFileError(_("The file is not a readable Excel (.xlsx) workbook.")) from None
    return _table(raw)


def table_read(data: bytes, file_format: str) -> Table:
    if file_format == "csv":
        return _read_csv(data)
    if file_format == "xlsx":
        return _read_xlsx(data)
    raise ImportFileError(_("Only .csv and .xlsx files can be imported."))


# --- Mapping ----------------------------------------------------------------------------------


def _definitions(company: Company) -> dict[str, CustomFieldDefinition]:
    return {d.key: d for d in CustomFieldDefinition.objects.for_tenant(company)}


@functools.cache
def _header_keys() -> dict[str, str]:
    """{word key: target}; our export's headers first, so that a translated "Company" or
    "Created" column is never taken for a customer field."""
    by_key: dict[str, str] = {}
    for target, header in HEADERS.items():
        for key in _in_every_language(header):
            by_key.setdefault(key, target if target in TARGET_LABELS else IGNORE)
    for target, words in ALIASES.items():
        for word in words.split(","):
            by_key.setdefault(_word_key(word), target)
    return by_key


def mapping_guess(
    columns: Iterable[str], definitions: Mapping[str, CustomFieldDefinition]
) -> dict[str, str]:
    """{column: target} from header names; a single-value target goes to the first column only."""
    by_key = dict(_header_keys())
    for key, definition in definitions.items():
        by_key.setdefault(_word_key(definition.label), CUSTOM_PREFIX + key)
        by_key.setdefault(_word_key(key), CUSTOM_PREFIX + key)
        by_key.setdefault(_word_key(CUSTOM_PREFIX + key), CUSTOM_PREFIX + key)

    guess: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        # "Phone (2)" is our name for a second column headed "Phone".
        target = by_key.get(_word_key(re.sub(r" \(\d+\)$", "", column)), IGNORE)
        if target and target not in MULTI_TARGETS and target in used:
            target = IGNORE
        used.add(target)
        guess[column] = target
    return guess


def mapping_clean(
    columns: list[str],
    mapping: Mapping[str, str | None],
    definitions: Mapping[str, CustomFieldDefinition],
) -> list[dict[str, str]]:
    """The mapping as an ordered list of {"column", "field"}; ValidationError lists every problem.

    Columns the mapping does not name are ignored.
    """
    errors: list[str] = []
    for column in mapping:
        if column not in columns:
            errors.append(
                _("%(column)s is not a column of the file (its columns: %(columns)s).")
                % {"column": column, "columns": ", ".join(columns)}
            )
    valid_targets = {*TARGET_LABELS, *(CUSTOM_PREFIX + key for key in definitions)}
    seen: dict[str, str] = {}
    result = []
    for column in columns:
        target = mapping.get(column) or IGNORE
        if not isinstance(target, str) or (target and target not in valid_targets):
            errors.append(
                _("Column %(column)s: %(field)s is not a customer field.")
                % {"column": column, "field": target}
            )
            target = IGNORE
        if target and target not in MULTI_TARGETS:
            if target in seen:
                errors.append(
                    _("Columns %(first)s and %(second)s are both mapped to %(field)s.")
                    % {
                        "first": seen[target],
                        "second": column,
                        "field": target_label(target, definitions),
                    }
                )
            seen[target] = column
        result.append({"column": column, "field": target})
    if not errors and not any(entry["field"] in NAME_TARGETS for entry in result):
        errors.append(
            _("Map at least one name column (first name, last name or organisation name).")
        )
    if errors:
        raise ValidationError(errors)
    return result


# --- Checking one row ---------------------------------------------------------------------------


@dataclass
class ImportContext:
    """What row checks need about the company, loaded once per import."""

    company: Company
    mapping: list[dict[str, str]]
    definitions: dict[str, CustomFieldDefinition]
    tags: dict[str, str]  # case-folded name: name as stored
    members: dict[str, object]  # username: user
    # Who the audit history names as the author of the import's writes, and why they were made.
    user: object = None
    reason: str = ""

    @classmethod
    def load(
        cls, company: Company, mapping: list[dict[str, str]], *, user=None, reason: str = ""
    ) -> "ImportContext":
        users = get_user_model().objects.filter(
            id__in=Membership.objects.for_tenant(company).values("user_id")
        )
        return cls(
            company=company,
            mapping=mapping,
            definitions=_definitions(company),
            tags={
                name.casefold(): name
                for name in Tag.objects.for_tenant(company).values_list("name", flat=True)
            },
            members={member.get_username(): member for member in users},
            user=user,
            reason=reason,
        )


@dataclass
class RowInput:
    number: int
    cells: list[str]
    fields: dict[str, object] = field(default_factory=dict)  # non-empty scalar values
    phones: list[NormalizedPhone] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)
    owner_name: str = ""
    owner: object = None
    display_name: str = ""
    problems: list[dict[str, str]] = field(default_factory=list)

    def problem(self, column: str, target: str, message: str) -> None:
        self.problems.append({"column": column, "field": target, "message": str(message)})


@functools.cache
def _boolean_keys() -> tuple[frozenset[str], frozenset[str]]:
    yes = {_word_key(w) for w in _TRUE_WORDS} | _in_every_language(YES)
    no = {_word_key(w) for w in _FALSE_WORDS} | _in_every_language(NO)
    return frozenset(yes), frozenset(no)


def _boolean(text: str) -> bool:
    key = _word_key(text)
    yes, no = _boolean_keys()
    if key in yes:
        return True
    if key in no:
        return False
    raise ValueError(text)


@functools.cache
def _kind_keys() -> dict[str, str]:
    keys = {}
    for kind, words in _KIND_WORDS.items():
        words_keys = {_word_key(w) for w in words.split(",")} | {kind.value}
        for key in words_keys | _in_every_language(kind.label):
            keys[key] = kind.value
    return keys


def _kind(text: str) -> str:
    try:
        return _kind_keys()[_word_key(text)]
    except KeyError:
        raise ValueError(text) from None


def _max_length(target: str) -> int | None:
    return Customer._meta.get_field(target).max_length


def _check_scalar(row: RowInput, column: str, target: str, text: str, ctx: ImportContext) -> None:
    if target in BOOLEAN_TARGETS:
        try:
            row.fields[target] = _boolean(text)
        except ValueError:
            row.problem(column, target, _("%(value)s is not yes or no") % {"value": text})
        return
    if target == "kind":
        try:
            row.fields[target] = _kind(text)
        except ValueError:
            row.problem(column, target, _("%(kind)s is not a customer kind") % {"kind": text})
        return
    if target == "owner":
        row.owner_name = text
        row.owner = ctx.members.get(text)
        return
    if target == "country":
        text = text.upper()
        if not re.fullmatch(r"[A-Z]{2}", text):
            row.problem(
                column, target, _("%(value)s is not a two-letter country code") % {"value": text}
            )
            return
    if target == "time_zone":
        try:
            validate_time_zone(text)
        except ValidationError as exc:
            row.problem(column, target, " ".join(exc.messages))
            return
    limit = _max_length(target)
    if limit and len(text) > limit:
        row.problem(column, target, _("longer than %(max)s characters") % {"max": limit})
        return
    row.fields[target] = text


def _split(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT_LIST.split(text) if part.strip()]


def row_parse(ctx: ImportContext, number: int, cells: list[str]) -> RowInput:
    """One row checked on its own (no lookups of existing customers): values and problems."""
    row = RowInput(number=number, cells=cells)
    seen_phones: set[str] = set()
    for index, entry in enumerate(ctx.mapping):
        column, target = entry["column"], entry["field"]
        text = cells[index] if index < len(cells) else ""
        if not target or not text:
            continue
        if target in PHONE_TARGETS:
            inputs = [PhoneInput(raw=part, kind=PHONE_TARGETS[target]) for part in _split(text)]
            try:
                phones = phones_normalize(ctx.company, inputs)
            except ValidationError as exc:
                for message in exc.messages:
                    row.problem(column, target, message)
                continue
            for phone in phones:
                if phone.e164 not in seen_phones:
                    seen_phones.add(phone.e164)
                    row.phones.append(phone)
        elif target == "email":
            try:
                emails = emails_normalize(_split(text))
            except ValidationError as exc:
                for message in exc.messages:
                    row.problem(column, target, message)
                continue
            limit = CustomerEmail._meta.get_field("email").max_length
            for email in emails:
                if len(email) > limit:
                    row.problem(
                        column, target, _("longer than %(max)s characters") % {"max": limit}
                    )
                elif email not in row.emails:
                    row.emails.append(email)
        elif target == "tags":
            for name in _split(text):
                stored = ctx.tags.get(name.casefold())
                if stored is None:
                    row.problem(
                        column, target, _("%(tag)s is not a tag of this company") % {"tag": name}
                    )
                elif stored not in row.tags:
                    row.tags.append(stored)
        elif target.startswith(CUSTOM_PREFIX):
            row.custom[target.removeprefix(CUSTOM_PREFIX)] = text
        else:
            _check_scalar(row, column, target, text, ctx)

    if (
        "kind" not in row.fields
        and not any(row.fields.get(f) for f in ("first_name", "middle_name", "last_name"))
        and row.fields.get("organisation_name")
    ):
        row.fields["kind"] = Customer.Kind.ORGANISATION
    kind = row.fields.get("kind", Customer.Kind.PERSON)
    row.display_name = Customer.compose_display_name(
        kind, *(str(row.fields.get(f, "")) for f in NAME_TARGETS)
    )
    if not row.display_name and not any(
        p["field"] in NAME_TARGETS or p["field"] == "kind" for p in row.problems
    ):
        row.problem("", "name", _("A name is required"))
    if not (row.fields.get("external_id") or row.phones or row.emails) and not row.problems:
        row.problem(
            "",
            "",
            _(
                "The row has no external id, phone or e-mail, so a later import could not "
                "find this customer again."
            ),
        )
    return row


# --- Applying rows ------------------------------------------------------------------------------


@dataclass
class _Known:
    """A customer as the import sees it, kept current as rows change it: one in the database, or
    one an earlier row of the batch creates (a draft, written with the batch's other new
    customers at the batch's end)."""

    customer: Customer | SimpleNamespace  # a draft's is a SimpleNamespace
    phones: dict[str, tuple[str, str]]  # e164: (raw, kind), primary first
    emails: list[str]
    tags: set[str]
    # A draft only: the row values it is made of, and every row that wrote into it (the first
    # one creates it; later ones in the same file update it), good only if the draft is written.
    draft_fields: dict | None = None
    draft_rows: list["RowInput"] = field(default_factory=list)

    @property
    def is_draft(self) -> bool:
        return self.draft_fields is not None

    def draft(self) -> CustomerDraft:
        return CustomerDraft(
            fields=self.draft_fields,
            phones=[
                NormalizedPhone(raw=raw, e164=e164, kind=kind)
                for e164, (raw, kind) in self.phones.items()
            ],
            emails=self.emails,
            tags=sorted(self.tags),
            custom_fields=self.customer.custom_fields,
            owner=self.customer.owner,
        )


@dataclass
class _Index:
    by_external_id: dict[str, _Known] = field(default_factory=dict)
    by_phone: dict[tuple[str, str], _Known] = field(default_factory=dict)
    by_email: dict[tuple[str, str], _Known] = field(default_factory=dict)

    def remember(self, known: _Known) -> None:
        customer = known.customer
        name = customer.display_name.casefold()
        if customer.external_id:
            self.by_external_id.setdefault(customer.external_id, known)
        for e164 in known.phones:
            self.by_phone.setdefault((e164, name), known)
        for email in known.emails:
            self.by_email.setdefault((email, name), known)

    def match(self, row: RowInput) -> _Known | None:
        """By external id; else by phone or e-mail with the same name. A row whose external id
        is new may still find a customer who has none yet (it then gets the row's): so a file
        with external ids does not duplicate customers imported earlier without them."""
        external_id = row.fields.get("external_id")
        if external_id and (known := self.by_external_id.get(external_id)) is not None:
            return known
        name = row.display_name.casefold()
        keys = [(self.by_phone, (p.e164, name)) for p in row.phones]
        keys += [(self.by_email, (email, name)) for email in row.emails]
        for by_key, key in keys:
            known = by_key.get(key)
            if known is not None and not (external_id and known.customer.external_id):
                return known
        return None


def _index_load(company: Company, rows: list[RowInput]) -> _Index:
    """The existing customers any of these rows could match: seven queries per batch, whatever
    its size (plain value queries: model instances for every phone would cost more than the
    database's work)."""
    external_ids = {r.fields["external_id"] for r in rows if r.fields.get("external_id")}
    e164s = {p.e164 for r in rows for p in r.phones}
    emails = {e for r in rows for e in r.emails}
    ids: set[int] = set()
    if external_ids:
        ids |= set(
            Customer.objects.for_tenant(company)
            .filter(external_id__in=external_ids)
            .values_list("id", flat=True)
        )
    if e164s:
        ids |= set(
            CustomerPhone.objects.for_tenant(company)
            .filter(e164__in=e164s)
            .values_list("customer_id", flat=True)
        )
    if emails:
        ids |= set(
            CustomerEmail.objects.for_tenant(company)
            .filter(email__in=emails)
            .values_list("customer_id", flat=True)
        )
    index = _Index()
    if not ids:
        return index
    phones: dict[int, dict[str, tuple[str, str]]] = {pk: {} for pk in ids}
    for pk, e164, raw, kind in (
        CustomerPhone.objects.filter(customer_id__in=ids)
        .order_by("-is_primary", "id")
        .values_list("customer_id", "e164", "raw", "kind")
    ):
        phones[pk][e164] = (raw, kind)
    customer_emails: dict[int, list[str]] = {pk: [] for pk in ids}
    for pk, email in (
        CustomerEmail.objects.filter(customer_id__in=ids)
        .order_by("-is_primary", "id")
        .values_list("customer_id", "email")
    ):
        customer_emails[pk].append(email)
    tags: dict[int, set[str]] = {pk: set() for pk in ids}
    for pk, name in Customer.tags.through.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "tag__name"
    ):
        tags[pk].add(name)
    for customer in Customer.objects.filter(id__in=ids).select_related("owner").order_by("id"):
        customer.company = company
        index.remember(
            _Known(
                customer=customer,
                phones=phones[customer.pk],
                emails=customer_emails[customer.pk],
                tags=tags[customer.pk],
            )
        )
    return index


def _custom_clean(ctx: ImportContext, row: RowInput, base: Mapping) -> dict | None:
    """The customer's custom fields with the row's values, checked; None when the row is bad."""
    try:
        return custom_fields_clean_with(ctx.definitions, {**base, **row.custom})
    except ValidationError as exc:
        for message in exc.messages:
            row.problem("", "custom_fields", message)
        return None


def _owner_check(ctx: ImportContext, row: RowInput, current_owner) -> bool:
    if not row.owner_name:
        return True
    if row.owner is None:
        # A former member may stay the owner of customers they already own.
        if current_owner is not None and current_owner.get_username() == row.owner_name:
            row.owner = current_owner
            return True
        row.problem(
            _owner_column(ctx),
            "owner",
            _("%(user)s is not a user of this client company") % {"user": row.owner_name},
        )
        return False
    return True


def _owner_column(ctx: ImportContext) -> str:
    return next((e["column"] for e in ctx.mapping if e["field"] == "owner"), "")


def _same_text(current, new) -> bool:
    return (current.strip() if isinstance(current, str) else current) == new


@functools.cache
def _customer_defaults() -> dict:
    return {name: Customer._meta.get_field(name).get_default() for name in CUSTOMER_FIELDS}


def _create(ctx: ImportContext, row: RowInput, index: _Index, drafts: list[_Known]) -> bool:
    """A draft of a new customer, written at the end of the batch (False: the row is bad)."""
    custom = {}
    if ctx.definitions:
        custom = _custom_clean(ctx, row, {})
        if custom is None:
            return False
    if not _owner_check(ctx, row, None):
        return False
    # A plain object with a customer's attributes: a model instance would cost more than the
    # rest of the row's work, and the draft is written as plain rows anyway.
    customer = SimpleNamespace(
        **{
            **_customer_defaults(),
            **row.fields,
            "owner": row.owner,
            "custom_fields": custom,
            "display_name": row.display_name,
        }
    )
    known = _Known(
        customer=customer,
        phones={p.e164: (p.raw, p.kind) for p in row.phones},
        emails=list(row.emails),
        tags=set(row.tags),
        draft_fields=dict(row.fields),
        draft_rows=[row],
    )
    drafts.append(known)
    index.remember(known)
    return True


def _update(ctx: ImportContext, row: RowInput, known: _Known, index: _Index) -> str | None:
    """ "updated", "unchanged", or None when the row turned out bad."""
    customer = known.customer
    changes = {
        name: value
        for name, value in row.fields.items()
        if not _same_text(getattr(customer, name), value)
    }
    updates: dict = {}
    custom = None
    if row.custom:
        custom = _custom_clean(ctx, row, customer.custom_fields)
        if custom is None:
            return None
        if any(custom.get(key) != customer.custom_fields.get(key) for key in row.custom):
            updates["custom_fields"] = custom
    if not _owner_check(ctx, row, customer.owner):
        return None
    if row.owner is not None and row.owner != customer.owner:
        updates["owner"] = row.owner
    new_phones = [p for p in row.phones if p.e164 not in known.phones]
    if new_phones:
        # Numbers the customer has keep their spelling, kind and order (the primary stays).
        updates["phones"] = [
            PhoneInput(raw=raw, kind=kind) for raw, kind in known.phones.values()
        ] + [PhoneInput(raw=p.raw, kind=p.kind) for p in new_phones]
    new_emails = [e for e in row.emails if e not in known.emails]
    if new_emails:
        updates["emails"] = known.emails + new_emails
    new_tags = [t for t in row.tags if t not in known.tags]
    if new_tags:
        updates["tags"] = sorted(known.tags | set(new_tags))
    if not changes and not updates:
        return "unchanged"
    if known.is_draft:
        _draft_update(known, changes, updates)
    else:
        # The audit history names the importing user (a background task has no request).
        if ctx.user is not None:
            customer._history_user = ctx.user
        if ctx.reason:
            customer._change_reason = ctx.reason
        customer_update(customer=customer, **updates, **changes)
    for phone in new_phones:
        known.phones[phone.e164] = (phone.raw, phone.kind)
    known.emails += new_emails
    known.tags |= set(new_tags)
    index.remember(known)
    return "updated"


def _draft_update(known: _Known, changes: dict, updates: dict) -> None:
    """A later row of the file updates a customer an earlier row creates: the same rule as for a
    customer in the database, applied before it is written."""
    customer = known.customer
    known.draft_fields = {**known.draft_fields, **changes}
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.display_name = Customer.compose_display_name(
        customer.kind, *(getattr(customer, name) for name in NAME_TARGETS)
    )
    if "custom_fields" in updates:
        customer.custom_fields = updates["custom_fields"]
    if "owner" in updates:
        customer.owner = updates["owner"]


def _drafts_write(ctx: ImportContext, drafts: list[_Known]) -> None:
    """The batch's new customers in one go. The service checks them again; a draft it refuses
    (which the row checks should have caught) makes each of its rows bad, and the rest go in."""
    while drafts:
        try:
            customers_bulk_create(
                company=ctx.company,
                drafts=[known.draft() for known in drafts],
                history_user=ctx.user,
                history_reason=ctx.reason,
            )
            return
        except CustomerBulkError as exc:
            for position, error in exc.by_position.items():
                for row in drafts[position].draft_rows:
                    for message in error.messages:
                        row.problem("", "", message)
            drafts = [known for i, known in enumerate(drafts) if i not in exc.by_position]


@dataclass
class ImportResult:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)


def rows_apply(
    ctx: ImportContext,
    rows: list[tuple[int, list[str]]],
    report: Callable[[int], None] = lambda processed: None,
) -> ImportResult:
    """Check and write every row, batch by batch; the caller owns the transaction.

    Rows that update existing customers are written as they come; new customers are collected
    and written together at the end of their batch (customers_bulk_create), so that a new
    customer costs no query of its own. A row matching a customer an earlier row of the batch
    creates updates that draft, exactly as it would update the customer once written.
    """
    result = ImportResult()
    for start in range(0, len(rows), BATCH_SIZE):
        parsed = [
            row_parse(ctx, number, cells) for number, cells in rows[start : start + BATCH_SIZE]
        ]
        good = [row for row in parsed if not row.problems]
        index = _index_load(ctx.company, good)
        drafts: list[_Known] = []
        outcomes: dict[int, str] = {}  # row number: outcome
        for row in good:
            known = index.match(row)
            try:
                if known is None:
                    outcome = "created" if _create(ctx, row, index, drafts) else None
                else:
                    outcome = _update(ctx, row, known, index)
            except ValidationError as exc:
                # A rule the service checks and row_parse does not: the row is bad, the
                # service wrote nothing (it validates before its own savepoint).
                for message in exc.messages:
                    row.problem("", "", message)
                outcome = None
            if outcome:
                outcomes[row.number] = outcome
                if known is not None and known.is_draft:
                    known.draft_rows.append(row)
        _drafts_write(ctx, drafts)
        for row in parsed:
            if row.problems:
                result.errors.append(
                    {"row": row.number, "values": row.cells, "problems": row.problems}
                )
            else:
                outcome = outcomes[row.number]
                setattr(result, outcome, getattr(result, outcome) + 1)
        result.processed += len(parsed)
        report(result.processed)
    return result


# --- The import as a stored job -----------------------------------------------------------------

FINISHED = (CustomerImport.State.DONE, CustomerImport.State.FAILED)


def customer_import_create(
    *, company: Company, upload, user, mapping: Mapping | None = None
) -> CustomerImport:
    """Store an uploaded file after checking that it reads as a table with rows, and (when one
    is given, as the API does) that the mapping fits it: a bad request stores nothing."""
    limit = settings.IMPORT_MAX_UPLOAD_MB
    if upload.size > limit * 1024 * 1024:
        raise ValidationError(
            {"file": _("The file is larger than %(limit)s MB.") % {"limit": limit}}
        )
    try:
        file_format = file_format_for(upload.name)
        upload.seek(0)
        table = table_read(upload.read(), file_format)
    except ImportFileError as exc:
        raise ValidationError({"file": str(exc)}) from None
    if not table.rows:
        raise ValidationError({"file": _("The file has no rows under its header row.")})
    if mapping is not None:
        try:
            _mapping_merged(table, company, mapping)
        except ValidationError as exc:
            raise ValidationError({"mapping": exc.messages}) from None
    upload.seek(0)
    return CustomerImport.objects.create(
        company=company,
        file=upload,
        original_name=PurePath(upload.name).name[:255],
        file_format=file_format,
        total_rows=len(table.rows),
        created_by=user,
    )


def _mapping_merged(table: Table, company: Company, mapping: Mapping) -> list[dict[str, str]]:
    """The guessed mapping with `mapping` laid over it, checked (an unknown column in `mapping`
    is an error, not silently dropped)."""
    definitions = _definitions(company)
    if not isinstance(mapping, Mapping):
        raise ValidationError(_("The mapping must be an object of column name: field."))
    wanted = {**mapping_guess(table.columns, definitions), **mapping}
    return mapping_clean(table.columns, wanted, definitions)


def customer_import_table(customer_import: CustomerImport) -> Table:
    with customer_import.file.open("rb") as stored:
        return table_read(stored.read(), customer_import.file_format)


def customer_import_guess(customer_import: CustomerImport) -> tuple[Table, dict[str, str]]:
    table = customer_import_table(customer_import)
    return table, mapping_guess(table.columns, _definitions(customer_import.company))


def customer_import_awaits_mapping(customer_import: CustomerImport) -> bool:
    return customer_import.state == CustomerImport.State.PENDING and not customer_import.mapping


def customer_import_start(
    *,
    customer_import: CustomerImport,
    mapping: Mapping[str, str | None],
    language: str | None = None,
    merge_guess: bool = False,
) -> CustomerImport:
    """Fix the mapping and run the import: here for a small file, as a task for a large one.

    `merge_guess`: the mapping only overrides the guessed one (the API's optional mapping);
    otherwise columns it does not name are ignored (the mapping page names every column).
    """
    if not customer_import_awaits_mapping(customer_import):
        raise ValidationError(_("This import has already been started."))
    table = customer_import_table(customer_import)
    if merge_guess:
        cleaned = _mapping_merged(table, customer_import.company, mapping)
    else:
        cleaned = mapping_clean(table.columns, mapping, _definitions(customer_import.company))
    customer_import.mapping = cleaned
    customer_import.save(update_fields=["mapping"])
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if customer_import.total_rows <= settings.IMPORT_SYNC_MAX_ROWS:
        return customer_import_run(import_id=customer_import.pk, language=language)
    from crm.tasks import import_customers

    transaction.on_commit(lambda: import_customers.delay(customer_import.pk, language))
    return customer_import


class _ProgressChannel:
    """Writes progress where a polling page can see it while the import's transaction is open.

    The rows go in inside one transaction, so progress written through the same connection would
    stay invisible until the end. On PostgreSQL we report through a second, autocommit
    connection, which never touches a row the transaction holds (the run only updates the import
    row itself after its last report). SQLite allows a single writer, and a caller already inside
    a transaction (a test, or a view wrapped in one) could hold the import row: then progress
    appears with the result.
    """

    def __init__(self, import_id: int):
        self.import_id = import_id
        self.side = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)

    def write(self, **values) -> None:
        if self.side is None:
            return
        table = self.side.ops.quote_name(CustomerImport._meta.db_table)
        assignments = ", ".join(f"{self.side.ops.quote_name(k)} = %s" for k in values)
        try:
            with self.side.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
                cursor.execute(
                    f"UPDATE {table} SET {assignments} WHERE id = %s",
                    [*values.values(), self.import_id],
                )
        except DatabaseError:
            logger.warning("import %s: progress not written", self.import_id, exc_info=True)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


_ADVISORY_LOCK_CLASS = 7041  # the first key of the two-key advisory lock: "customer import"


def _lock(import_id: int) -> bool:
    """Only one worker runs an import (a broker may deliver a long task twice): a PostgreSQL
    advisory lock held by the transaction. SQLite serialises writers by itself."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [_ADVISORY_LOCK_CLASS, import_id]
        )
        return bool(cursor.fetchone()[0])


def _report_progress(progress: _ProgressChannel, processed: int) -> None:
    progress.write(processed_rows=processed)


def customer_import_run(*, import_id: int, language: str | None = None) -> CustomerImport:
    """Apply a mapped import. Idempotent: a finished import, or one another worker is running,
    is left as it is."""
    customer_import = CustomerImport.objects.select_related("company").get(pk=import_id)
    if customer_import.state in FINISHED or not customer_import.mapping:
        return customer_import
    progress = _ProgressChannel(import_id)
    try:
        with translation.override(language or settings.LANGUAGE_CODE), transaction.atomic():
            if not _lock(import_id):
                return customer_import
            customer_import.refresh_from_db()
            if customer_import.state in FINISHED:
                return customer_import
            progress.write(state=CustomerImport.State.RUNNING.value, processed_rows=0)
            ctx = ImportContext.load(
                customer_import.company,
                customer_import.mapping,
                user=customer_import.created_by,
                # history_change_reason holds 100 characters
                reason=(_("Import of %(name)s") % {"name": customer_import.original_name})[:100],
            )
            table = customer_import_table(customer_import)
            result = rows_apply(
                ctx, table.rows, lambda processed: _report_progress(progress, processed)
            )
            customer_import.state = CustomerImport.State.DONE
            customer_import.total_rows = len(table.rows)
            customer_import.processed_rows = result.processed
            customer_import.created_count = result.created
            customer_import.updated_count = result.updated
            customer_import.unchanged_count = result.unchanged
            customer_import.error_count = len(result.errors)
            customer_import.errors = result.errors
            customer_import.message = ""
            customer_import.finished_at = timezone.now()
            customer_import.save()
    except Exception as exc:
        logger.exception("customer import %s failed", import_id)
        with translation.override(language or settings.LANGUAGE_CODE):
            message = _("The import stopped on an unexpected error; no customer was written.")
        CustomerImport.objects.filter(pk=import_id).update(
            state=CustomerImport.State.FAILED,
            processed_rows=0,
            created_count=0,
            updated_count=0,
            unchanged_count=0,
            message=f"{message} ({type(exc).__name__})",
            finished_at=timezone.now(),
        )
        customer_import.refresh_from_db()
    finally:
        progress.close()
    if customer_import.state == CustomerImport.State.DONE:
        _statistics_refresh(customer_import.created_count)
    return customer_import


def _statistics_refresh(created: int) -> None:
    """A new client's customer base: its agents' first calls look callers up by phone, which the
    planner does by the phone index only once it knows the company (rawsql.analyze). The
    customers are committed whatever happens here."""
    if created < ANALYZE_AFTER:
        return
    try:
        rawsql.analyze(Customer, CustomerPhone, CustomerEmail)
    except DatabaseError:
        logger.warning("statistics not refreshed after an import of %s customers", created)


def customer_import_status(customer_import: CustomerImport) -> dict:
    """The small JSON the import page polls."""
    return {
        "id": customer_import.pk,
        "state": customer_import.state,
        "state_label": str(customer_import.get_state_display()),
        "total_rows": customer_import.total_rows,
        "processed_rows": customer_import.processed_rows,
        "percent": customer_import.progress_percent,
        "created": customer_import.created_count,
        "updated": customer_import.updated_count,
        "unchanged": customer_import.unchanged_count,
        "bad_rows": customer_import.error_count,
        "finished": customer_import.state in FINISHED,
        "message": customer_import.message,
    }


def problem_text(problem: Mapping[str, str]) -> str:
    where = problem["column"] or (target_label(problem["field"], {}) if problem["field"] else "")
    return f"{where}: {problem['message']}" if where else problem["message"]


def error_rows_csv(customer_import: CustomerImport) -> str:
    """The bad rows as they were in the file, with their row number and problems (UTF-8 with BOM,
    so that Excel opens it right): fix them and import this file again."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = [entry["column"] for entry in customer_import.mapping]
    writer.writerow([_("Row"), *columns, _("Problems")])
    for error in customer_import.errors:
        problems = "; ".join(problem_text(p) for p in error["problems"])
        writer.writerow(
            [error["row"], *(formula_escape(v) for v in error["values"]), formula_escape(problems)]
        )
    return "\ufeff" + buffer.getvalue()
