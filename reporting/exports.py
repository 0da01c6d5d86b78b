"""CSV and XLSX exports of a report, headed by the period, time zone, thresholds and the
service-level formula variant, so that a figure never travels without what it means.

Durations come as two columns, seconds (for arithmetic) and h:mm:ss (for reading); ratios as
percentages. CSV is UTF-8 with a BOM, which Excel needs to read it as UTF-8.
"""

import csv
import io

from django.http import HttpResponse
from django.utils.translation import gettext as _

from crm.imports import formula_escape
from reporting.report_tables import RATIO, SECONDS, TEXT, ReportTable, hms

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def _header(report: ReportTable) -> list[str]:
    titles = []
    for column in report.columns:
        label = str(column.label)
        if column.kind == SECONDS:
            titles += [_("%(label)s (s)") % {"label": label}, f"{label} (h:mm:ss)"]
        elif column.kind == RATIO:
            titles.append(f"{label} (%)")
        else:
            titles.append(label)
    return titles


def _cells(report: ReportTable, row: dict) -> list:
    cells = []
    for column in report.columns:
        value = row.get(column.key)
        if column.kind == SECONDS:
            cells += [None if value is None else round(value, 1), hms(value)]
        elif column.kind == RATIO:
            cells.append(None if value is None else round(value * 100, 2))
        elif column.kind == TEXT:
            cells.append("" if value is None else str(value))
        else:
            cells.append(value)
    return cells


def _lines(report: ReportTable) -> tuple[list[list], list[str], list[list]]:
    notes = [[str(label), str(value)] for label, value in report.notes]
    rows = [_cells(report, row) for row in report.rows]
    if report.total:
        rows.append(_cells(report, report.total))
    return notes, _header(report), rows


def csv_text(report: ReportTable) -> str:
    notes, header, rows = _lines(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(report.title)])
    writer.writerows(notes)
    writer.writerow([])
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["" if v is None else formula_escape(v) if isinstance(v, str) else v for v in row]
        )
    return "\ufeff" + buffer.getvalue()


def xlsx_bytes(report: ReportTable) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    notes, header, rows = _lines(report)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(report.title)[:31]
    bold = Font(bold=True)
    sheet.append([str(report.title)])
    sheet.cell(row=1, column=1).font = bold
    for note in notes:
        sheet.append(note)
    sheet.append([])
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text, never a formula
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def export_response(report: ReportTable, file_format: str, filename: str) -> HttpResponse:
    if file_format == "xlsx":
        response = HttpResponse(xlsx_bytes(report), content_type=XLSX_CONTENT_TYPE)
    else:
        response = HttpResponse(csv_text(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{file_format}"'
    return response
