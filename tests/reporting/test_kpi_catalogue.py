"""The KPI catalogue, the service-level variants and the per-company KPI settings."""

from django.utils import translation

from contactcenter.tenancy.models import Membership, Role
from reporting.catalogue import (
    DEFAULT_SERVICE_LEVEL_VARIANT,
    KPIS,
    SERVICE_LEVEL_FORMULAS,
    Report,
    ServiceLevelVariant,
    Unit,
    kpi,
    kpis_for,
)
from reporting.models import KpiSettings


def test_every_kpi_has_a_unique_code_a_unit_and_a_formula():
    assert len({k.code for k in KPIS}) == len(KPIS)
    assert all(k.unit in Unit.values and str(k.formula) and str(k.label) for k in KPIS)
    assert (kpi("asa").unit, str(kpi("asa").label)) == (Unit.SECONDS, "ASA (answered calls)")
    assert str(kpi("aht").formula) == "(talk + hold + after-call work) / handled calls"


def test_supervisors_managers_and_administrators_see_kpis_agents_none():
    for role in (Role.SUPERVISOR, Role.CLIENT_MANAGER, Role.ADMIN):
        assert [k.code for k in kpis_for(Report.INTERVALS, role)] == [
            "offered",
            "answered",
            "abandoned",
            "short_abandons",
            "asa",
            "service_level",
            "abandonment_rate",
            "aht",
        ]
    assert kpis_for(Report.QUEUES, Role.AGENT) == []
    assert kpis_for(Report.AGENTS, None) == []


def test_each_service_level_variant_has_its_formula():
    assert set(SERVICE_LEVEL_FORMULAS) == set(ServiceLevelVariant.values)
    assert len(ServiceLevelVariant.values) == 7
    assert DEFAULT_SERVICE_LEVEL_VARIANT == "answered_abandoned_after_t"
    assert str(SERVICE_LEVEL_FORMULAS[DEFAULT_SERVICE_LEVEL_VARIANT]) == (
        "answered within T / (answered + abandoned after T)"
    )


def test_labels_are_translated_lazily():
    label = kpi("offered").label
    with translation.override("en"):
        assert str(label) == "Offered"
    with translation.override("ru"):
        assert str(label) == "Поступило"


def test_a_count_of_calls_and_one_calls_outcome_are_translated_apart():
    """In Russian and Italian a column of counts and one call's outcome are different words."""
    from telephony.models import Call

    counts = [str(kpi(code).label) for code in ("offered", "answered", "abandoned", "transferred")]
    outcomes = [Call.Outcome.ANSWERED, Call.Outcome.ABANDONED]
    with translation.override("ru"):
        assert [str(kpi(code).label) for code in ("offered", "answered", "abandoned")] == [
            "Поступило",
            "Отвечено",
            "Потеряно",
        ]
        assert str(kpi("transferred").label) == "Переведено"
        assert [str(o.label) for o in outcomes] == ["Отвечен", "Потерян"]
        assert str(ServiceLevelVariant.OFFERED.label) == "Поступившие"
    with translation.override("it"):
        assert [str(kpi(code).label) for code in ("offered", "answered", "abandoned")] == [
            "Arrivate",
            "Risposte",
            "Abbandonate",
        ]
        assert [str(o.label) for o in outcomes] == ["Risposta", "Abbandonata"]
    assert counts == ["Offered", "Answered", "Abandoned", "Transferred"]


def test_an_administrator_sees_only_their_companies_kpi_settings(
    client, company, other_company, outsider
):
    Membership.objects.filter(user=outsider).update(role=Role.ADMIN)
    outsider.is_staff = True
    outsider.save()
    bank = KpiSettings.objects.for_company(company)
    shop = KpiSettings.objects.for_company(other_company)
    client.force_login(outsider)
    listing = client.get("/admin/reporting/kpisettings/")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [shop]
    change = client.get(f"/admin/reporting/kpisettings/{bank.pk}/change/")
    assert change.status_code == 404
    posted = client.post(
        f"/admin/reporting/kpisettings/{bank.pk}/change/",
        {"company": company.pk, "service_level_variant": "offered", "fcr_window_days": 3},
    )
    assert posted.status_code == 404
    bank.refresh_from_db()
    assert (bank.service_level_variant, bank.fcr_window_days) == (DEFAULT_SERVICE_LEVEL_VARIANT, 7)
    assert client.get(f"/admin/reporting/kpisettings/{shop.pk}/change/").status_code == 200
