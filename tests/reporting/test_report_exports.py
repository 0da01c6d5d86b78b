import io

import pytest
from openpyxl import load_workbook

from reporting import charts
from reporting.exports import csv_text, export_response, xlsx_bytes
from reporting.report_tables import (
    COUNT,
    RATIO,
    SECONDS,
    TEXT,
    Column,
    ReportTable,
    display,
    hms,
    table_class,
)


def report():
    return ReportTable(
        title="Queues",
        columns=[
            Column("queue", "Queue", TEXT),
            Column("offered", "Offered", COUNT),
            Column("asa", "ASA", SECONDS),
            Column("service_level", "Service level", RATIO),
        ],
        rows=[
            {"queue": "Cards", "offered": 12, "asa": 3725, "service_level": 0.8},
            {"queue": "=HYPERLINK()", "offered": 0, "asa": None, "service_level": None},
        ],
        total={"queue": "Total", "offered": 12, "asa": 3725, "service_level": 0.8},
        notes=[("Period", "2026-11-02 - 2026-11-08"), ("Time zone", "Europe/Moscow")],
    )


def test_durations_read_as_hours_minutes_seconds():
    assert [hms(0), hms(59), hms(61), hms(3725), hms(108000), hms(None)] == [
        "0:00:00",
        "0:00:59",
        "0:01:01",
        "1:02:05",
        "30:00:00",
        "",
    ]
    assert [display(0.8, RATIO), display(None, COUNT), display(3725, SECONDS)] == [
        "80.0 %",
        "—",
        "1:02:05",
    ]


def test_an_unknown_column_kind_is_refused():
    with pytest.raises(ValueError, match="column x: kind 'euros' is not one of"):
        Column("x", "X", "euros")


def test_csv_is_excel_friendly_and_says_what_the_figures_mean():
    assert csv_text(report()).splitlines() == [
        "\ufeffQueues",
        "Period,2026-11-02 - 2026-11-08",
        "Time zone,Europe/Moscow",
        "",
        "Queue,Offered,ASA (s),ASA (h:mm:ss),Service level (%)",
        "Cards,12,3725,1:02:05,80.0",
        "'=HYPERLINK(),0,,,",
        "Total,12,3725,1:02:05,80.0",
    ]


def test_xlsx_has_the_same_lines_with_numbers_as_numbers():
    sheet = load_workbook(io.BytesIO(xlsx_bytes(report()))).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Queues"
    assert values[1][:2] == ["Period", "2026-11-02 - 2026-11-08"]
    assert values[4] == ["Queue", "Offered", "ASA (s)", "ASA (h:mm:ss)", "Service level (%)"]
    assert values[5] == ["Cards", 12, 3725, "1:02:05", 80]
    assert values[6] == ["=HYPERLINK()", 0, None, None, None]  # an empty cell stays empty
    assert sheet.cell(row=7, column=1).data_type == "s"  # text, not a formula


def test_export_response_names_the_file():
    response = export_response(report(), "csv", "queues-bank-2026-11-02")
    assert response["Content-Disposition"] == 'attachment; filename="queues-bank-2026-11-02.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_json_gives_raw_values():
    data = report().as_json()
    assert data["rows"][0] == {"queue": "Cards", "offered": 12, "asa": 3725, "service_level": 0.8}
    assert data["columns"][2] == {"key": "asa", "label": "ASA", "kind": "seconds"}
    assert data["notes"][1] == {"label": "Time zone", "value": "Europe/Moscow"}


def test_the_table_renders_formatted_values_and_links_drill_downs(rf):
    table = report()
    table.columns[1] = Column("offered", "Offered", COUNT, drill="offered")
    cls = table_class(table, link=lambda column, row: f"/calls/?queue={row['queue']}")
    rendered = cls(table.rows)
    first = rendered.rows[0]
    assert first.get_cell("offered") == '<a href="/calls/?queue=Cards">12</a>'
    assert first.get_cell("asa") == "1:02:05"
    assert rendered.rows[1].get_cell("offered") == "0"  # nothing behind a zero: no link
    assert rendered.rows[1].get_cell("service_level") == "—"


def test_volume_chart_puts_service_level_on_its_own_axis():
    figure = charts.volume_and_service_level(
        [
            {
                "interval": "09:00",
                "offered": 10,
                "answered": 8,
                "abandoned": 2,
                "service_level": 0.75,
            },
            {
                "interval": "09:30",
                "offered": 0,
                "answered": 0,
                "abandoned": 0,
                "service_level": None,
            },
        ]
    )
    assert [trace["y"] for trace in figure["data"]] == [[10, 0], [8, 0], [2, 0], [75.0, None]]
    assert figure["data"][3]["yaxis"] == "y2"
    assert figure["layout"]["yaxis2"]["range"] == [0, 100]
