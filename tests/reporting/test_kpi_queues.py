"""The queue report over the synthetic day of conftest.py, every figure computed by hand."""

from datetime import date

import pytest
from django.http import Http404

from contactcenter.tenancy.models import Role
from reporting.catalogue import ServiceLevelVariant
from reporting.models import KpiSettings
from reporting.queries import (
    CallFigures,
    Ratio,
    ReportError,
    ReportFilter,
    queue_report,
    report_companies,
)
from telephony.models import Call, PbxConnection
from telephony.pbx.events import CallEventKind as K
from telephony.pbx.events import HangupCause
from tests.conftest import make_user
from tests.reporting.conftest import DAY, Pbx, at

V = ServiceLevelVariant


def day_filter(*companies, day=DAY, **extra) -> ReportFilter:
    return ReportFilter(companies=tuple(companies), date_from=day, date_to=day, **extra)


def test_the_calls_are_built_as_the_day_says(synthetic_day):
    """The premise of every figure below: how the apply service built each call."""
    facts = {
        name: (
            c.outcome,
            c.queue_wait_seconds,
            c.ring_seconds,
            c.talk_seconds,
            c.hold_seconds,
            c.wrap_up_seconds,
            c.transfer_count,
            c.ended_at is None,
        )
        for name, c in synthetic_day.calls.items()
        if name != "s1"
    }
    outcome = Call.Outcome
    assert facts == {
        "c0": (outcome.ABANDONED, 40, None, None, 0, None, 0, False),
        "c1": (outcome.ANSWERED, 20, 5, 150, 30, 40, 0, False),
        "c2": (outcome.ANSWERED, 21, 16, 120, 0, 30, 0, False),
        "c3": (outcome.SHORT_ABANDON, 4, None, None, 0, None, 0, False),
        "c4": (outcome.ABANDONED, 45, 5, None, 0, None, 0, False),
        "c5": (outcome.ABANDONED, 10, None, None, 0, None, 0, False),
        "c6": (outcome.TIMEOUT, 120, None, None, 0, None, 0, False),
        "c7": (outcome.ANSWERED, 8, 5, 300, 0, 60, 1, False),
        "c8": (outcome.ANSWERED, 30, 20, 180, 0, 30, 0, False),
        "c9": (outcome.IN_PROGRESS, None, None, None, 0, None, 0, True),
        "c10": (outcome.ANSWERED, 10, 5, None, 0, None, 0, True),
        "c11": (outcome.ABANDONED, 60, None, None, 0, None, 0, False),
    }


def test_queue_rows_of_the_day(company, synthetic_day):
    report = queue_report(day_filter(company))
    cards, loans = report.rows
    assert (cards.code, loans.code) == ("cards", "loans")
    # Cards: c1-c7 are over (c9 and c10 are still open, c0 and c11 belong to other days).
    assert cards.figures == CallFigures(
        offered=7,
        answered=3,  # c1, c2, c7 (the transferred c7 included)
        abandoned=2,  # c4, c5: the short abandon c3 is apart
        short_abandons=1,
        timeouts=1,  # c6
        transferred=1,
        open_calls=2,
        answered_within=2,  # c1 at exactly 20 s, c7 at 8 s; c2 at 21 s is not
        abandoned_within=1,  # c5 at 10 s
        left_within=4,  # c1 20, c3 4, c5 10, c7 8
        waits=7,
        wait_seconds=228,  # 20 + 21 + 4 + 45 + 10 + 120 + 8
        longest_wait=120,
        answered_wait_seconds=49,  # 20 + 21 + 8
        ring_seconds=26,  # 5 + 16 + 5
        talk_seconds=570,  # 150 + 120 + 300
        hold_seconds=30,
        wrap_up_seconds=130,  # 40 + 30 + 60
    )
    # Default variant: answered within T / (answered + abandoned after T) = 2 / (3 + 1)
    assert cards.service_level == Ratio(2, 4)
    assert cards.figures.asa() == Ratio(49, 3)
    assert cards.figures.average_wait() == Ratio(228, 7)
    assert cards.figures.abandonment_rate() == Ratio(2, 6)  # 2 / (7 - 1 short)
    assert cards.figures.average_ring() == Ratio(26, 3)
    assert cards.figures.aht() == Ratio(730, 3)  # (570 + 30 + 130) / 3
    assert (cards.queue.service_level_seconds, cards.queue.short_abandon_seconds) == (20, 5)
    # Loans: c8 answered at 30 s, exactly its own threshold.
    assert loans.service_level == Ratio(1, 1)
    assert loans.figures.asa() == Ratio(30, 1)
    assert loans.figures.aht() == Ratio(210, 1)  # 180 + 0 + 30


def test_the_company_total_counts_each_call_once_from_summed_parts(company, synthetic_day):
    report = queue_report(day_filter(company))
    total = report.total.figures
    assert (total.offered, total.answered, total.abandoned, total.short_abandons) == (8, 4, 2, 1)
    assert (total.open_calls, total.longest_wait) == (2, 120)
    # 3 answered within their queue's T (c1, c7, c8) / (4 answered + 1 abandoned after T)
    assert report.total.service_level == Ratio(3, 5)
    assert total.asa() == Ratio(79, 4)  # (49 + 30) / 4, not the average of 49/3 and 30
    assert total.aht() == Ratio(940, 4)  # (730 + 210) / 4
    assert total.abandonment_rate() == Ratio(2, 7)  # 2 / (8 - 1)
    assert [t.company_id for t in report.company_totals] == [company.pk]
    assert report.company_totals[0].figures == total


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (V.ANSWERED_ABANDONED_AFTER_T, Ratio(2, 4)),  # 2 / (3 answered + 1 abandoned after T)
        (V.ANSWERED_ONLY, Ratio(2, 3)),  # 2 / 3 answered
        (V.OFFERED, Ratio(2, 7)),  # 2 / 7 offered
        (V.ANSWERED_ABANDONED, Ratio(2, 5)),  # 2 / (3 + 2 abandoned)
        (V.ABANDONS_WITHIN_T_CREDITED, Ratio(3, 5)),  # (2 + 1 abandoned within T) / (3 + 2)
        (V.SHORT_ABANDONS_EXCLUDED, Ratio(2, 6)),  # 2 / (7 - 1 short)
        (V.LEFT_QUEUE_WITHIN_T, Ratio(4, 7)),  # c1, c3, c5, c7 left within 20 s / 7
    ],
)
def test_each_service_level_variant(company, synthetic_day, variant, expected):
    KpiSettings.objects.create(company=company, service_level_variant=variant)
    report = queue_report(day_filter(company))
    assert report.rows[0].service_level == expected
    assert report.as_dict()["companies"][0]["service_level_variant"]["code"] == variant


def test_settings_are_created_on_demand_with_the_design_defaults(company):
    settings = KpiSettings.objects.for_company(company)
    assert (settings.service_level_variant, settings.fcr_window_days) == (
        V.ANSWERED_ABANDONED_AFTER_T,
        7,
    )
    assert KpiSettings.objects.for_company(company).pk == settings.pk


def test_the_day_before_and_after(company, synthetic_day):
    before = queue_report(day_filter(company, day=date(2026, 11, 15)))
    after = queue_report(day_filter(company, day=date(2026, 11, 17)))
    # c0 entered at 23:59:50 on the 15th and ended on the 16th: the 15th's, with its outcome.
    assert (before.total.figures.offered, before.total.figures.abandoned) == (1, 1)
    # c11 entered at 00:00:00 on the 17th: the 17th's.
    assert (after.total.figures.offered, after.total.figures.abandoned) == (1, 1)
    week = queue_report(
        ReportFilter(companies=(company,), date_from=date(2026, 11, 15), date_to=DAY)
    )
    assert week.total.figures.offered == 9  # 1 + 8


def test_filters_by_queue_team_agent_and_direction(company, team, synthetic_day):
    by_queue = queue_report(day_filter(company, queue_ids=(synthetic_day.loans.pk,)))
    assert [r.code for r in by_queue.rows] == ["loans"]
    assert by_queue.total.figures.offered == 1
    # Team Cards is Anna: the calls she answered (c1, c7) or that last rang at her (c4).
    by_team = queue_report(day_filter(company, team_ids=(team.pk,)))
    assert (by_team.total.figures.offered, by_team.total.figures.answered) == (3, 2)
    by_agent = queue_report(day_filter(company, agent_ids=(synthetic_day.boris.pk,)))
    assert (by_agent.total.figures.offered, by_agent.total.figures.answered) == (2, 2)
    outbound = queue_report(day_filter(company, direction="outbound"))
    assert outbound.total.figures.offered == 0


def test_a_report_for_one_company_never_counts_anothers_calls(
    company, other_company, synthetic_day
):
    bank = queue_report(day_filter(company))
    assert bank.total.figures.offered == 8
    # The shop's queue has the same PBX name, "cards": its id still matches nothing here.
    foreign = queue_report(day_filter(company, queue_ids=(synthetic_day.shop_queue.pk,)))
    assert (foreign.rows, foreign.total.figures.offered) == ([], 0)
    foreign_agent = queue_report(day_filter(other_company, agent_ids=(synthetic_day.anna.pk,)))
    assert foreign_agent.total.figures.offered == 0
    both = queue_report(day_filter(company, other_company))
    assert [(r.company_id, r.code) for r in both.rows] == [
        (company.pk, "cards"),
        (company.pk, "loans"),
        (other_company.pk, "cards"),
    ]
    assert both.rows[2].figures.offered == 1
    assert both.total.figures.offered == 9
    # Bank 3 / 5 and shop 1 / 1 (answered at 10 s), each under its own variant, summed.
    assert both.total.service_level == Ratio(4, 6)


def test_the_companies_a_user_may_report_on(company, other_company, supervisor, outsider, agent):
    manager = make_user("manager", company, Role.CLIENT_MANAGER)
    assert report_companies(manager) == [company]
    assert report_companies(supervisor, ["bank"]) == [company]
    assert report_companies(agent) == []  # agents see no KPIs for now
    with pytest.raises(Http404):
        report_companies(outsider, ["bank"])
    with pytest.raises(Http404):
        report_companies(supervisor, ["nope"])


def test_a_range_that_ends_before_it_starts_is_refused(company):
    with pytest.raises(ReportError, match="The range starts \\(2026-11-17\\) after it ends"):
        ReportFilter(companies=(company,), date_from=date(2026, 11, 17), date_to=DAY)
    with pytest.raises(ReportError, match="Unknown direction sideways"):
        day_filter(company, direction="sideways")


def test_the_report_reads_in_a_fixed_number_of_queries(
    company, synthetic_day, django_assert_num_queries
):
    # Settings, queues, one aggregate over the calls (per queue; the company's total is their
    # sum) and one over the overflow visits: whatever the calls.
    with django_assert_num_queries(4):
        queue_report(day_filter(company))


def test_the_table_states_period_zone_thresholds_and_variant(company, synthetic_day):
    table = queue_report(day_filter(company)).table()
    assert [(str(k), str(v)) for k, v in table.notes] == [
        ("Period", "2026-11-16 - 2026-11-16"),
        ("Client companies", "Bank"),
        ("Time zone", "Europe/Moscow"),
        (
            "Service-level formula",
            "Answered + abandoned after T (default): "
            "answered within T / (answered + abandoned after T)",
        ),
        (
            "Thresholds",
            "Cards: T = 20 s, short abandon <= 5 s; Loans: T = 30 s, short abandon <= 5 s",
        ),
    ]
    cards = table.rows[0]
    assert (cards["queue"], cards["offered"], cards["service_level"], cards["asa"]) == (
        "Cards",
        7,
        0.5,
        49 / 3,
    )
    assert (table.total["offered"], table.total["service_level"]) == (8, 0.6)


def test_an_overflowed_call_is_counted_once_at_company_level(company, synthetic_day):
    # o1 waits 30 s in cards, times out there (queue_log's EXITWITHTIMEOUT) and is answered in
    # loans 10 s later: one call, a wait of 40 s from its first queue entry.
    before = queue_report(day_filter(company))
    pbx = Pbx(PbxConnection.objects.get(company=company))
    pbx("o1", K.QUEUED, at(13, 0, 0), queue="cards")
    pbx("o1", K.HANGUP, at(13, 0, 30), queue="cards", cause=HangupCause.NO_ANSWER)
    pbx("o1", K.QUEUED, at(13, 0, 30), queue="loans")
    pbx("o1", K.ANSWERED, at(13, 0, 40), agent="102")
    pbx("o1", K.HANGUP, at(13, 1, 40), cause=HangupCause.NORMAL)
    report = queue_report(day_filter(company))
    total = report.total.figures
    assert (total.offered, total.answered, total.timeouts) == (9, 5, 1)  # 8 + 1, once
    assert total.asa() == Ratio(119, 5)  # 79 + 40
    # Offered in both queues it visited (design.md): in cards it left on the queue's timeout
    # after 30 s (over T = 20 s); in loans it was answered.
    (cards_before, loans_before), (cards, loans) = before.rows, report.rows
    changed = {
        name: (getattr(cards.figures, name) - getattr(cards_before.figures, name))
        for name in ("offered", "answered", "timeouts", "waits", "wait_seconds", "left_within")
    }
    assert changed == {
        "offered": 1,
        "answered": 0,
        "timeouts": 1,
        "waits": 1,
        "wait_seconds": 30,
        "left_within": 0,
    }
    assert (cards.figures.offered, loans.figures.offered) == (8, 2)
    assert (loans.figures.answered - loans_before.figures.answered) == 1
    assert loans.service_level == Ratio(1, 2)  # c8 within 30 s, o1 at 40 s is not
    # The queue rows add up to more offers than calls, by the one overflow.
    assert sum(r.figures.offered for r in report.rows) == total.offered + 1
