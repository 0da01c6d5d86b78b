"""Customer export to CSV (streamed, UTF-8 with BOM for Excel) and XLSX.

The columns are the ones the import guesses back (crm.imports.HEADERS, in every language), so
that an exported file re-imports with no mapping work and changes nothing.
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import datetime

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcenter.tenancy.models import EXPORT_ROLES, Company
from contactcenter.tenancy.scoping import company_from_param, company_ids_for, require_role
from crm.imports import HEADERS, NO, YES, formula_escape
from crm.models import Customer, CustomFieldDefinition
from crm.selectors import customer_list

FORMATS = ("csv", "xlsx")
# Rows fetched per query (with their phones, e-mails and tags) and written per streamed chunk.
CHUNK_SIZE = 500
DELIMITERS = {"comma": ",", "semicolon": ";"}
FILE_BLOCK = 64 * 1024
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_company(user, company_slug: str) -> Company | None:
    """The company a `?company=` filter names: 404 if the user is not in it, 403 if their role
    there may not export; None (all their companies) when no filter is given."""
    company = company_from_param(user, company_slug)
    if company is not None:
        require_role(user, company.pk, EXPORT_ROLES)
    elif not company_ids_for(user, EXPORT_ROLES):
        raise PermissionDenied
    return company


def export_queryset(user, *, company: Company | None, query: str = "") -> QuerySet[Customer]:
    """The customers the user may export, with the customer list's company and search filters."""
    allowed = company_ids_for(user, EXPORT_ROLES)
    return (
        customer_list(user, company=company, query=query)
        .filter(company_id__in=allowed)
        .select_related("company", "owner")
        .prefetch_related("phones", "emails", "tags")
        .order_by("company__name", "display_name", "id")
    )


def _custom_columns(queryset: QuerySet[Customer]) -> list[tuple[str, str]]:
    """(key, label) of the custom fields of the exported companies, one column per key."""
    company_ids = queryset.order_by().values("company_id").distinct()
    columns: dict[str, str] = {}
    definitions = CustomFieldDefinition.objects.filter(company_id__in=company_ids).order_by(
        "company__name", "position", "key"
    )
    for key, label in definitions.values_list("key", "label"):
        columns.setdefault(key, label)
    return list(columns.items())


def header_row(custom: list[tuple[str, str]]) -> list[str]:
    names = [
        "company",
        "external_id",
        "kind",
        "first_name",
        "middle_name",
        "last_name",
        "organisation_name",
        "phone",
        "email",
        "tags",
        "address",
        "city",
        "postal_code",
        "country",
        "language",
        "time_zone",
        "marketing_consent",
        "do_not_call",
        "owner",
    ]
    return (
        [str(HEADERS[n]) for n in names]
        + [label for _key, label in custom]
        + [str(HEADERS["created"])]
    )


def _row(customer: Customer, custom: list[tuple[str, str]], zone) -> list:
    """Python values: the CSV writer and the XLSX writer each render them their way."""
    return [
        customer.company.name,
        customer.external_id,
        customer.kind,
        customer.first_name,
        customer.middle_name,
        customer.last_name,
        customer.organisation_name,
        "; ".join(p.e164 for p in customer.phones.all()),
        "; ".join(e.email for e in customer.emails.all()),
        ", ".join(sorted(t.name for t in customer.tags.all())),
        customer.address,
        customer.city,
        customer.postal_code,
        customer.country,
        customer.language,
        customer.time_zone,
        customer.marketing_consent,
        customer.do_not_call,
        customer.owner.get_username() if customer.owner else "",
        *(customer.custom_fields.get(key, "") for key, _label in custom),
        timezone.localtime(customer.created_at, zone),
    ]


def csv_chunks(queryset: QuerySet[Customer], delimiter: str = ",") -> Iterator[str]:
    """The export as CSV text pieces: a BOM and the header, then rows CHUNK_SIZE at a time.

    The header, the yes/no words and the time zone are taken now: the rows are produced after
    the view has returned, when the request's language and time zone are no longer active.
    """
    custom = _custom_columns(queryset)
    header = header_row(custom)
    words = {True: str(YES), False: str(NO)}
    zone = timezone.get_current_timezone()

    def text(value) -> str:
        if isinstance(value, bool):
            return words[value]
        if isinstance(value, datetime):
            return value.isoformat(timespec="seconds")
        return formula_escape(str(value))

    def chunks():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter)
        writer.writerow(header)
        yield "\ufeff" + buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        for count, customer in enumerate(queryset.iterator(chunk_size=CHUNK_SIZE), start=1):
            writer.writerow([text(v) for v in _row(customer, custom, zone)])
            if count % CHUNK_SIZE == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return chunks()


def xlsx_file(queryset: QuerySet[Customer]):
    """The export as an XLSX workbook in a temporary file (openpyxl's write-only mode keeps
    memory flat however many rows there are)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    custom = _custom_columns(queryset)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Customers")[:31])
    bold = Font(bold=True)
    header = []
    for title in header_row(custom):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)

    def cell(value):
        if isinstance(value, str):
            # Stored as text, never as a formula, whatever the customer's data starts with.
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            return text
        if hasattr(value, "tzinfo"):
            return value.replace(tzinfo=None)  # Excel has no time zones: local wall time
        return value

    zone = timezone.get_current_timezone()
    for customer in queryset.iterator(chunk_size=CHUNK_SIZE):
        sheet.append([cell(v) for v in _row(customer, custom, zone)])
    # Closed (and so deleted) by the response once sent.
    output = tempfile.TemporaryFile()  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output


def _filename(company: Company | None, extension: str) -> str:
    stamp = timezone.localdate().isoformat()
    return f"customers-{company.slug if company else 'all'}-{stamp}.{extension}"


async def _async_chunks(chunks: Iterator):
    """Under ASGI Django would read a synchronous iterator whole before sending it: pull the
    chunks one by one on the thread that owns the database connection instead."""
    end = object()
    step = sync_to_async(lambda: next(chunks, end), thread_sensitive=True)
    while (chunk := await step()) is not end:
        yield chunk


def _file_chunks(output) -> Iterator[bytes]:
    with output:
        while chunk := output.read(FILE_BLOCK):
            yield chunk


def export_response(
    request, *, user, file_format: str, company_slug: str = "", query: str = "", delimiter=","
) -> StreamingHttpResponse:
    """The download for the UI and the API alike (the caller has checked `file_format`).

    `request` is Django's own request (not DRF's wrapper): its class tells ASGI from WSGI.
    """
    company = export_company(user, company_slug)
    queryset = export_queryset(user, company=company, query=query)
    if file_format == "xlsx":
        output = xlsx_file(queryset)
        size = output.seek(0, io.SEEK_END)
        output.seek(0)
        chunks = _file_chunks(output)
        content_type = XLSX_CONTENT_TYPE
    else:
        chunks = csv_chunks(queryset, delimiter)
        content_type = "text/csv; charset=utf-8"
        size = None
    content = _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=content_type)
    if size is not None:
        response["Content-Length"] = str(size)
    response["Content-Disposition"] = f'attachment; filename="{_filename(company, file_format)}"'
    return response
