"""`manage.py kpi_report`: the same figures as the reports, as JSON or CSV."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.reporting.conftest import at


def run(*args) -> str:
    out = StringIO()
    call_command("kpi_report", *args, stdout=out)
    return out.getvalue()


DAY_ARGS = ("--company", "bank", "--from", "2026-11-16", "--to", "2026-11-16")


def test_queues_as_json(synthetic_day):
    data = json.loads(run("queues", *DAY_ARGS))
    assert data["companies"] == [
        {
            "slug": "bank",
            "name": "Bank",
            "time_zone": "Europe/Moscow",
            "service_level_variant": {
                "code": "answered_abandoned_after_t",
                "label": "Answered + abandoned after T (default)",
                "formula": "answered within T / (answered + abandoned after T)",
            },
            "first_contact_resolution_days": 7,
        }
    ]
    cards = data["rows"][0]
    assert (cards["company"], cards["queue"], cards["service_level_seconds"]) == (
        "bank",
        "cards",
        20,
    )
    assert (cards["offered"], cards["answered"], cards["abandoned"]) == (7, 3, 2)
    assert (cards["short_abandons"], cards["timeouts"], cards["transferred"]) == (1, 1, 1)
    assert (cards["open_calls"], cards["longest_wait"]) == (2, 120)
    assert cards["service_level"] == {"value": 0.5, "numerator": 2, "denominator": 4}
    assert cards["asa"] == {"value": 49 / 3, "numerator": 49, "denominator": 3}
    assert cards["aht"] == {"value": 730 / 3, "numerator": 730, "denominator": 3}
    assert data["total"]["offered"] == 8
    assert data["total"]["service_level"] == {"value": 0.6, "numerator": 3, "denominator": 5}


def test_queues_as_csv(synthetic_day):
    lines = run("queues", *DAY_ARGS, "--format", "csv").splitlines()
    assert lines[:7] == [
        "\ufeffQueues",
        "Period,2026-11-16 - 2026-11-16",
        "Client companies,Bank",
        "Time zone,Europe/Moscow",
        "Service-level formula,Answered + abandoned after T (default): "
        "answered within T / (answered + abandoned after T)",
        'Thresholds,"Cards: T = 20 s, short abandon <= 5 s; Loans: T = 30 s, short abandon <= 5 s"',
        "",
    ]
    assert lines[7] == (
        "Queue,Service level T (s),Short abandon (s),Offered,Answered,Abandoned,"
        "Short abandons,Queue timeouts,Left with a key,Left: no agents,Other endings,"
        "Transferred,Still open,ASA (answered calls) (s),ASA (answered calls) (h:mm:ss),"
        "Average wait (s),Average wait (h:mm:ss),Longest wait (s),Longest wait (h:mm:ss),"
        "Service level (%),Abandonment rate (%),Average ring (s),Average ring (h:mm:ss),"
        "Average talk (s),Average talk (h:mm:ss),Average hold (s),Average hold (h:mm:ss),"
        "Average wrap-up (s),Average wrap-up (h:mm:ss),AHT (s),AHT (h:mm:ss)"
    )
    # ASA 49 / 3 = 16.3 s; average wait 228 / 7 = 32.6 s; abandonment 2 / 6 = 33.33 %;
    # ring 26 / 3 = 8.7 s; talk 570 / 3 = 190 s; hold 30 / 3 = 10 s; wrap-up 130 / 3 = 43.3 s;
    # AHT 730 / 3 = 243.3 s = 0:04:03.
    assert lines[8] == (
        "Cards,20,5,7,3,2,1,1,0,0,0,1,2,16.3,0:00:16,32.6,0:00:33,120,0:02:00,50.0,33.33,"
        "8.7,0:00:09,190.0,0:03:10,10.0,0:00:10,43.3,0:00:43,243.3,0:04:03"
    )
    # Total: ASA 79 / 4 = 19.75 s; wait 258 / 8 = 32.25 s; abandonment 2 / 7 = 28.57 %;
    # ring 46 / 4 = 11.5 s; talk 750 / 4 = 187.5 s; hold 7.5 s; wrap-up 40 s; AHT 235 s.
    assert lines[10] == (
        "Total (each call once),,,8,4,2,1,1,0,0,0,1,2,19.8,0:00:20,32.2,0:00:32,120,0:02:00,"
        "60.0,28.57,11.5,0:00:12,187.5,0:03:08,7.5,0:00:08,40.0,0:00:40,235.0,0:03:55"
    )


def test_one_queue(synthetic_day):
    data = json.loads(run("queues", *DAY_ARGS, "--queue", "loans"))
    assert [r["queue"] for r in data["rows"]] == ["loans"]
    assert data["total"]["offered"] == 1


def test_intervals_as_json_and_csv(synthetic_day):
    data = json.loads(run("intervals", *DAY_ARGS, "--interval", "60"))
    assert len(data["rows"]) == 24
    assert data["queues"][0] == {
        "queue": "cards",
        "name": "Cards",
        "service_level_seconds": 20,
        "short_abandon_seconds": 5,
    }
    nine = data["rows"][9]
    assert (nine["interval"], nine["start"], nine["offered"]) == (
        "2026-11-16 09:00+03:00",
        "2026-11-16T06:00:00+00:00",
        6,
    )
    assert nine["service_level"] == {"value": 1 / 3, "numerator": 1, "denominator": 3}
    assert sum(r["offered"] for r in data["rows"]) == data["total"]["offered"] == 8
    lines = run("intervals", *DAY_ARGS, "--interval", "15", "--format", "csv").splitlines()
    assert lines[6:8] == ["Interval,15 minutes", ""]
    assert lines[8] == (
        "Interval,Offered,Answered,Abandoned,Short abandons,Service level (%),"
        "ASA (answered calls) (s),ASA (answered calls) (h:mm:ss),Abandonment rate (%),"
        "AHT (s),AHT (h:mm:ss)"
    )
    assert len(lines) == 9 + 96 + 1  # the header lines, 96 quarter-hours and the total
    # 09:00-09:15: c1 (within T, AHT 220) and c2 (21 s, AHT 150): 1 / 2, ASA 41 / 2.
    assert lines[9 + 36] == "2026-11-16 09:00+03:00,2,2,0,0,50.0,20.5,0:00:20,0.0,185.0,0:03:05"
    assert lines[9] == "2026-11-16 00:00+03:00,0,0,0,0,,,,,,"


def test_agents_as_json(synthetic_day, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(17, 10))
    data = json.loads(run("agents", *DAY_ARGS))
    anna = data["rows"][0]
    assert (anna["name"], anna["handled"], anna["ring_no_answer"]) == ("Anna", 2, 1)
    assert anna["logged_in_seconds"] == 11400
    assert anna["pause_seconds"] == {"break": 900}
    assert anna["aht"] == {"value": 290.0, "numerator": 580, "denominator": 2}
    assert data["until"] == "2026-11-16T14:10:00+00:00"


def test_agents_as_csv(synthetic_day, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(17, 10))
    lines = run("agents", "--format", "csv", *DAY_ARGS).splitlines()
    assert lines[5:7] == ["States counted until,2026-11-16T14:10:00+00:00", ""]
    header = lines[7].split(",")
    anna = dict(zip(header, lines[8].split(","), strict=True))
    assert anna["Agent"] == "Anna"
    assert (anna["Logged in (s)"], anna["Logged in (h:mm:ss)"]) == ("11400", "3:10:00")
    assert (anna["Paused: Break (s)"], anna["Paused: Break (h:mm:ss)"]) == ("900", "0:15:00")
    assert anna["Occupancy (%)"] == "3.82"  # 400 / 10481
    assert anna["Calls per hour"] == "0.631578947368421"  # 2 / (11400 / 3600) = 12 / 19


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("queues", "--company", "nope", "--from", "2026-11-16", "--to", "2026-11-16"),
            "--company: no client company with the slug 'nope'",
        ),
        (
            ("queues", "--company", "bank", "--from", "2026-11-31", "--to", "2026-12-01"),
            "--from: '2026-11-31' is not a date (YYYY-MM-DD)",
        ),
        (
            ("queues", "--company", "bank", "--from", "2026-11-16", "--to", "16.11.2026"),
            "--to: '16.11.2026' is not a date (YYYY-MM-DD)",
        ),
        (
            ("queues", "--company", "bank", "--from", "2026-11-17", "--to", "2026-11-16"),
            "The range starts (2026-11-17) after it ends (2026-11-16).",
        ),
        (
            ("queues", *DAY_ARGS, "--queue", "mortgages"),
            "--queue: bank has no queue named 'mortgages'",
        ),
    ],
)
def test_clear_errors(company, args, message):
    with pytest.raises(CommandError) as error:
        run(*args)
    assert str(error.value) == message


def test_intervals_by_day_name_the_zone(company):
    data = json.loads(run("intervals", *DAY_ARGS, "--interval", "day"))
    assert [r["interval"] for r in data["rows"]] == ["2026-11-16"]
    assert data["time_zone"] == "Europe/Moscow"
