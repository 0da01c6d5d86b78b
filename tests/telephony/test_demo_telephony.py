"""The demo companies' telephony, loaded by seed_demo: what the PBX simulator rings."""

from io import StringIO

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F

from contactcenter.demo import seed_demo
from contactcenter.demo.telephony import PHONE_AGENT_USERNAMES
from contactcenter.tenancy.models import Company, Membership, Role
from telephony.models import (
    Agent,
    AgentSkill,
    BlockedNumber,
    DidRoute,
    Disposition,
    Extension,
    PauseReason,
    PbxConnection,
    Queue,
)

DEMO_PASSWORD = "demo-pass-2026"
MODELS = (
    PbxConnection,
    Queue,
    Queue.skills.through,
    DidRoute,
    Agent,
    Agent.teams.through,
    AgentSkill,
    Extension,
    Disposition,
    PauseReason,
    BlockedNumber,
)


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in MODELS}


def test_each_company_gets_a_native_connection_with_a_fixed_key_and_secret(db):
    seed_demo()
    connections = PbxConnection.objects.order_by("key")
    assert [(c.key, c.secret, c.format, c.company.slug, c.is_active) for c in connections] == [
        ("demo-bank", "demo-secret-bank", "native", "bank", True),
        ("demo-isp", "demo-secret-isp", "native", "isp", True),
        ("demo-shop", "demo-secret-shop", "native", "shop", True),
    ]


def test_two_queues_per_company_with_skills_thresholds_and_a_number(db):
    seed_demo()
    queues = Queue.objects.order_by("company__slug", "code").prefetch_related("skills")
    assert [
        (
            q.company.slug,
            q.code,
            q.name,
            sorted(s.name for s in q.skills.all()),
            q.service_level_seconds,
            q.short_abandon_seconds,
            q.max_wrap_up_seconds,
        )
        for q in queues
    ] == [
        ("bank", "loans", "Кредиты и ипотека", ["Ипотека"], 20, 5, 45),
        ("bank", "support", "Карты и счета", ["Карты"], 20, 5, 60),
        ("isp", "billing", "Billing", [], 20, 5, 30),
        ("isp", "support", "Technical support", ["Fiber"], 20, 5, 60),
        ("shop", "returns", "Resi e rimborsi", ["Resi"], 20, 5, 60),
        ("shop", "support", "Assistenza ordini", [], 20, 5, 45),
    ]
    routes = DidRoute.objects.order_by("did")
    assert [(r.did, r.company.slug, r.queue.code, r.connection.key) for r in routes] == [
        ("+18005550190", "isp", "support", "demo-isp"),
        ("+18005550191", "isp", "billing", "demo-isp"),
        ("+390240001001", "shop", "support", "demo-shop"),
        ("+390240001002", "shop", "returns", "demo-shop"),
        ("+74951200101", "bank", "support", "demo-bank"),
        ("+74951200102", "bank", "loans", "demo-bank"),
    ]
    for route in routes:
        assert phonenumbers.is_valid_number(phonenumbers.parse(route.did)), route.did


def test_bank_agents_have_extensions_teams_and_skills_with_levels(db):
    seed_demo()
    agents = (
        Agent.objects.filter(company__slug="bank")
        .prefetch_related("extensions", "teams", "agentskill_set__skill")
        .order_by("extensions__number")
    )
    assert [
        (
            a.user.username,
            [e.number for e in a.extensions.all()],
            [t.name for t in a.teams.all()],
            sorted((s.skill.name, s.level) for s in a.agentskill_set.all()),
        )
        for a in agents
    ] == [
        ("bank_agent", ["101"], ["Карты"], [("Карты", 8)]),
        ("bank_agent2", ["102"], ["Кредиты"], [("Ипотека", 7), ("Карты", 4)]),
        ("bank_agent3", ["103"], ["Карты"], [("Карты", 6)]),
        ("bank_agent4", ["104"], ["Карты"], [("Карты", 5), ("Расследование мошенничества", 6)]),
        ("bank_agent5", ["105"], ["Кредиты"], [("Ипотека", 8)]),
        ("bank_agent6", ["106"], ["Кредиты"], [("Ипотека", 5), ("Карты", 3)]),
        ("bank_agent7", ["107"], ["Карты"], [("Карты", 7)]),
        (
            "bank_agent8",
            ["108"],
            ["Безопасность и споры"],
            [("Карты", 5), ("Расследование мошенничества", 9)],
        ),
    ]


def test_every_agent_member_is_an_agent_with_an_extension_in_the_companys_range(db):
    seed_demo()
    members = set(
        Membership.objects.filter(role=Role.AGENT).values_list("company__slug", "user__username")
    )
    agents = set(Agent.objects.values_list("company__slug", "user__username"))
    assert agents == members
    assert len(agents) == 22
    extensions = {}
    for slug, number in Extension.objects.values_list("company__slug", "number"):
        extensions.setdefault(slug, []).append(number)
    assert {slug: sorted(numbers) for slug, numbers in extensions.items()} == {
        "bank": [str(n) for n in range(101, 109)],
        "shop": [str(n) for n in range(201, 208)],
        "isp": [str(n) for n in range(301, 308)],
    }
    # Each agent's extension belongs to its own company.
    assert not Extension.objects.exclude(agent__company=F("company")).exists()


def test_every_queue_has_at_least_three_agents_with_its_skills(db):
    seed_demo()
    for queue in Queue.objects.prefetch_related("skills"):
        required = set(queue.skills.all())
        able = [
            agent
            for agent in Agent.objects.for_tenant(queue.company).prefetch_related("skills")
            if required <= set(agent.skills.all())
        ]
        assert len(able) >= 3, queue.code


def test_phone_agents_are_agents_of_one_company_and_log_in_with_the_demo_password(db, client):
    seed_demo()
    assert len(PHONE_AGENT_USERNAMES) == 18
    memberships = Membership.objects.filter(user__username__in=PHONE_AGENT_USERNAMES)
    assert sorted(memberships.values_list("user__username", "company__slug", "role"))[:3] == [
        ("bank_agent3", "bank", "agent"),
        ("bank_agent4", "bank", "agent"),
        ("bank_agent5", "bank", "agent"),
    ]
    assert memberships.count() == 18
    assert set(memberships.values_list("role", flat=True)) == {"agent"}
    preferences = dict(
        get_user_model()
        .objects.filter(username__in=["bank_agent3", "shop_agent2", "isp_agent2"])
        .values_list("username", "preference__language")
    )
    assert preferences == {"bank_agent3": "ru", "shop_agent2": "it", "isp_agent2": "en"}
    for username in ("bank_agent8", "shop_agent7", "isp_agent7"):
        assert client.login(username=username, password=DEMO_PASSWORD), username
        client.logout()


def test_dispositions_pause_reasons_and_blocked_numbers_per_company(db):
    seed_demo()
    assert sorted(
        PauseReason.objects.filter(company__slug="bank").values_list("code", "label")
    ) == [
        ("back-office", "Бэк-офис"),
        ("break", "Перерыв"),
        ("lunch", "Обед"),
        ("training", "Обучение"),
    ]
    assert PauseReason.objects.count() == 12
    assert sorted(
        Disposition.objects.filter(company__slug="isp").values_list(
            "code", "label", "resolves_contact"
        )
    ) == [
        ("billing_adjusted", "Billing adjusted", True),
        ("callback", "Call back", False),
        ("escalated", "Escalated to network operations", False),
        ("resolved", "Resolved", True),
        ("technician", "Technician dispatched", True),
    ]
    assert Disposition.objects.count() == 15
    assert sorted(BlockedNumber.objects.values_list("company__slug", "e164")) == [
        ("bank", "+79031119900"),
        ("bank", "+79990001122"),
        ("isp", "+12125550199"),
        ("shop", "+393400000999"),
    ]


def test_a_rerun_adds_nothing_and_keeps_an_administrators_changes(db):
    seed_demo()
    before = counts()
    assert before == {
        "telephony.PbxConnection": 3,
        "telephony.Queue": 6,
        "telephony.Queue_skills": 4,
        "telephony.DidRoute": 6,
        "telephony.Agent": 22,
        "telephony.Agent_teams": 22,
        "telephony.AgentSkill": 33,
        "telephony.Extension": 22,
        "telephony.Disposition": 15,
        "telephony.PauseReason": 12,
        "telephony.BlockedNumber": 4,
    }
    assert seed_demo().created == {}
    assert counts() == before

    agent = Agent.objects.get(user__username="bank_agent2")
    AgentSkill.objects.filter(agent=agent, skill__name="Карты").delete()
    Queue.objects.filter(company__slug="bank", code="loans").update(max_wrap_up_seconds=90)
    connection = PbxConnection.objects.get(key="demo-bank")
    connection.secret = "rotated"
    connection.save()
    # An extension handed to someone else stays theirs.
    Extension.objects.filter(company__slug="bank", number="103").update(agent=agent)
    seed_demo()
    assert sorted(agent.agentskill_set.values_list("skill__name", flat=True)) == ["Ипотека"]
    assert Queue.objects.get(company__slug="bank", code="loans").max_wrap_up_seconds == 90
    assert PbxConnection.objects.get(key="demo-bank").secret == "rotated"
    assert Extension.objects.get(company__slug="bank", number="103").agent == agent
    assert Extension.objects.count() == 22


def test_seed_demo_twice_through_the_command_needs_no_force(db):
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Demo data: already complete, nothing created." in out.getvalue()
    assert (
        "and 18 phone agents for the PBX simulator (bank_agent3..bank_agent8, "
        "shop_agent2..shop_agent7, isp_agent2..isp_agent7), same password; "
        "PBX connection keys demo-bank, demo-shop, demo-isp."
    ) in out.getvalue()


@pytest.mark.parametrize("slug", ["bank", "shop", "isp"])
def test_the_simulator_loads_each_demo_company(db, slug):
    from telephony.management.commands.simulate_pbx import load_company

    seed_demo()
    simulated, connection = load_company(Company.objects.get(slug=slug))
    assert connection.key == f"demo-{slug}"
    assert len(simulated.queues) == 2
    assert all(q.did for q in simulated.queues)
    assert [a.extension for a in simulated.agents] == sorted(
        Extension.objects.filter(company__slug=slug).values_list("number", flat=True)
    )
    assert simulated.known_callers
    blocked = set(BlockedNumber.objects.values_list("e164", flat=True))
    assert not blocked & set(simulated.known_callers)
    assert simulated.pause_reasons == ("back-office", "break", "lunch", "training")
