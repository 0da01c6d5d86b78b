"""The demo companies' telephony: a native PBX connection, queues, agents, dispositions.

Enough for `manage.py simulate_pbx` to ring real extensions: each company gets a connection with a
fixed key (`demo-<slug>`) and a secret derived from its slug, two queues with a dialled number
each, and phone agents besides the documented demo users (the same published password). Like the
rest of the demo data, a rerun adds what is missing and leaves what exists alone: an agent's
skills and teams are set only when the agent is created, so an administrator's edits survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from contactcenter.demo.catalogue import DemoUser
from contactcenter.tenancy.models import Company, Membership, Role, Skill, Team
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

if TYPE_CHECKING:
    from contactcenter.demo.small import DemoSummary


@dataclass(frozen=True)
class DemoQueue:
    code: str
    name: str
    did: str  # E.164: the number customers dial, routed to this queue
    skills: tuple[str, ...]
    max_wrap_up_seconds: int


@dataclass(frozen=True)
class DemoAgent:
    username: str
    extension: str
    skills: tuple[tuple[str, int], ...]  # (skill name, level 1-10)


@dataclass(frozen=True)
class DemoTelephony:
    queues: tuple[DemoQueue, ...]
    agents: tuple[DemoAgent, ...]
    dispositions: tuple[tuple[str, str, bool], ...]  # (code, label, resolves the contact)
    pause_reasons: tuple[tuple[str, str], ...]  # (code, label)
    blocked: tuple[tuple[str, str], ...]  # (E.164, reason)


SERVICE_LEVEL_SECONDS = 20
SHORT_ABANDON_SECONDS = 5


def connection_key(slug: str) -> str:
    return f"demo-{slug}"


def connection_secret(slug: str) -> str:
    # Published like the demo password: anyone who can reach a demo server may post events to it.
    return f"demo-secret-{slug}"


# Phone agents besides the documented demo users, so that the simulator has people to ring.
PHONE_AGENTS = (
    DemoUser("bank_agent3", "Екатерина", "Орлова", (("bank", Role.AGENT, "Карты"),), "ru"),
    DemoUser("bank_agent4", "Сергей", "Лебедев", (("bank", Role.AGENT, "Карты"),), "ru"),
    DemoUser("bank_agent5", "Наталья", "Васильева", (("bank", Role.AGENT, "Кредиты"),), "ru"),
    DemoUser("bank_agent6", "Игорь", "Новиков", (("bank", Role.AGENT, "Кредиты"),), "ru"),
    DemoUser("bank_agent7", "Татьяна", "Фёдорова", (("bank", Role.AGENT, "Карты"),), "ru"),
    DemoUser(
        "bank_agent8",
        "Павел",
        "Зайцев",
        (("bank", Role.AGENT, "Безопасность и споры"),),
        "ru",
    ),
    DemoUser("shop_agent2", "Marco", "Rossi", (("shop", Role.AGENT, "Ordini"),), "it"),
    DemoUser("shop_agent3", "Francesca", "Bianchi", (("shop", Role.AGENT, "Ordini"),), "it"),
    DemoUser("shop_agent4", "Luca", "Romano", (("shop", Role.AGENT, "Resi e rimborsi"),), "it"),
    DemoUser("shop_agent5", "Sara", "Colombo", (("shop", Role.AGENT, "Resi e rimborsi"),), "it"),
    DemoUser("shop_agent6", "Matteo", "Greco", (("shop", Role.AGENT, "Ordini"),), "it"),
    DemoUser("shop_agent7", "Elena", "Marino", (("shop", Role.AGENT, "Specialisti"),), "it"),
    DemoUser("isp_agent2", "Maria", "Lopez", (("isp", Role.AGENT, "Tier 1 support"),)),
    DemoUser("isp_agent3", "Tom", "Becker", (("isp", Role.AGENT, "Tier 1 support"),)),
    DemoUser("isp_agent4", "Aisha", "Okafor", (("isp", Role.AGENT, "Network operations"),)),
    DemoUser("isp_agent5", "Kevin", "Nguyen", (("isp", Role.AGENT, "Business accounts"),)),
    DemoUser("isp_agent6", "Grace", "Park", (("isp", Role.AGENT, "Tier 1 support"),)),
    DemoUser("isp_agent7", "Carlos", "Rivera", (("isp", Role.AGENT, "Tier 1 support"),)),
)
PHONE_AGENT_USERNAMES = tuple(spec.username for spec in PHONE_AGENTS)

TELEPHONY = {
    "bank": DemoTelephony(
        queues=(
            DemoQueue("support", "Карты и счета", "+74951200101", ("Карты",), 60),
            DemoQueue("loans", "Кредиты и ипотека", "+74951200102", ("Ипотека",), 45),
        ),
        agents=(
            DemoAgent("bank_agent", "101", (("Карты", 8),)),
            DemoAgent("bank_agent2", "102", (("Ипотека", 7), ("Карты", 4))),
            DemoAgent("bank_agent3", "103", (("Карты", 6),)),
            DemoAgent("bank_agent4", "104", (("Карты", 5), ("Расследование мошенничества", 6))),
            DemoAgent("bank_agent5", "105", (("Ипотека", 8),)),
            DemoAgent("bank_agent6", "106", (("Ипотека", 5), ("Карты", 3))),
            DemoAgent("bank_agent7", "107", (("Карты", 7),)),
            DemoAgent("bank_agent8", "108", (("Расследование мошенничества", 9), ("Карты", 5))),
        ),
        dispositions=(
            ("resolved", "Вопрос решён", True),
            ("card_blocked", "Карта заблокирована", True),
            ("callback", "Нужен перезвон", False),
            ("second_line", "Передано во вторую линию", False),
            ("complaint", "Жалоба зарегистрирована", False),
        ),
        pause_reasons=(
            ("break", "Перерыв"),
            ("lunch", "Обед"),
            ("training", "Обучение"),
            ("back-office", "Бэк-офис"),
        ),
        blocked=(
            ("+79990001122", "Телефонное хулиганство"),
            ("+79031119900", "Мошенник: представлялся сотрудником банка"),
        ),
    ),
    "shop": DemoTelephony(
        queues=(
            DemoQueue("support", "Assistenza ordini", "+390240001001", (), 45),
            DemoQueue("returns", "Resi e rimborsi", "+390240001002", ("Resi",), 60),
        ),
        agents=(
            DemoAgent("shop_agent", "201", (("Pagamenti", 6), ("Inglese", 7))),
            DemoAgent("shop_agent2", "202", (("Resi", 5),)),
            DemoAgent("shop_agent3", "203", (("Pagamenti", 7),)),
            DemoAgent("shop_agent4", "204", (("Resi", 8),)),
            DemoAgent("shop_agent5", "205", (("Resi", 6), ("Inglese", 5))),
            DemoAgent("shop_agent6", "206", (("Inglese", 8),)),
            DemoAgent("shop_agent7", "207", (("Resi", 9), ("Pagamenti", 8))),
        ),
        dispositions=(
            ("resolved", "Risolto", True),
            ("order_placed", "Ordine effettuato", True),
            ("return_opened", "Reso aperto", True),
            ("callback", "Da richiamare", False),
            ("complaint", "Reclamo registrato", False),
        ),
        pause_reasons=(
            ("break", "Pausa"),
            ("lunch", "Pranzo"),
            ("training", "Formazione"),
            ("back-office", "Back office"),
        ),
        blocked=(("+393400000999", "Chiamate moleste"),),
    ),
    "isp": DemoTelephony(
        queues=(
            DemoQueue("support", "Technical support", "+18005550190", ("Fiber",), 60),
            DemoQueue("billing", "Billing", "+18005550191", (), 30),
        ),
        agents=(
            DemoAgent("isp_agent", "301", (("Fiber", 6), ("Routers", 7))),
            DemoAgent("isp_agent2", "302", (("Fiber", 5), ("Spanish", 9))),
            DemoAgent("isp_agent3", "303", (("Routers", 6),)),
            DemoAgent("isp_agent4", "304", (("Fiber", 9), ("Routers", 8))),
            DemoAgent("isp_agent5", "305", (("Fiber", 4),)),
            DemoAgent("isp_agent6", "306", (("Routers", 5),)),
            DemoAgent("isp_agent7", "307", (("Fiber", 6), ("Spanish", 8))),
        ),
        dispositions=(
            ("resolved", "Resolved", True),
            ("technician", "Technician dispatched", True),
            ("billing_adjusted", "Billing adjusted", True),
            ("callback", "Call back", False),
            ("escalated", "Escalated to network operations", False),
        ),
        pause_reasons=(
            ("break", "Break"),
            ("lunch", "Lunch"),
            ("training", "Training"),
            ("back-office", "Back-office"),
        ),
        blocked=(("+12125550199", "Robocaller"),),
    ),
}


def _ensure(model, summary: DemoSummary, defaults: dict | None = None, **lookup):
    obj, created = model.objects.get_or_create(defaults=defaults or {}, **lookup)
    if created:
        summary.add(model._meta.verbose_name_plural)
    return obj, created


def seed_telephony(company: Company, users: dict, summary: DemoSummary) -> None:
    """Create whatever of `company`'s demo telephony is missing (users must exist already)."""
    spec = TELEPHONY.get(company.slug)
    if spec is None:
        return
    connection, _ = _ensure(
        PbxConnection,
        summary,
        key=connection_key(company.slug),
        defaults={
            "name": f"{company.name} demo PBX",
            "company": company,
            "format": PbxConnection.Format.NATIVE,
            "secret": connection_secret(company.slug),
        },
    )
    skills = {s.name: s for s in Skill.objects.for_tenant(company)}
    for q in spec.queues:
        queue, created = _ensure(
            Queue,
            summary,
            company=company,
            code=q.code,
            defaults={
                "name": q.name,
                "service_level_seconds": SERVICE_LEVEL_SECONDS,
                "short_abandon_seconds": SHORT_ABANDON_SECONDS,
                "max_wrap_up_seconds": q.max_wrap_up_seconds,
            },
        )
        if created:
            queue.skills.set([skills[name] for name in q.skills])
        _ensure(
            DidRoute,
            summary,
            connection=connection,
            did=q.did,
            defaults={"company": company, "queue": queue},
        )
    teams = {
        (m.user_id): m.team for m in Membership.objects.for_tenant(company).select_related("team")
    }
    for a in spec.agents:
        user = users[a.username]
        agent, created = _ensure(Agent, summary, company=company, user=user)
        if created:
            team: Team | None = teams.get(user.pk)
            if team is not None:
                agent.teams.add(team)
            AgentSkill.objects.bulk_create(
                AgentSkill(agent=agent, skill=skills[name], level=level) for name, level in a.skills
            )
            summary.add(AgentSkill._meta.verbose_name_plural, len(a.skills))
        # An extension is the company's, not the agent's: if an administrator gave the number
        # to someone else, leave it with them.
        if not Extension.objects.for_tenant(company).filter(number=a.extension).exists():
            Extension.objects.create(company=company, agent=agent, number=a.extension)
            summary.add(Extension._meta.verbose_name_plural)
    for code, label, resolves in spec.dispositions:
        _ensure(
            Disposition,
            summary,
            company=company,
            code=code,
            defaults={"label": label, "resolves_contact": resolves},
        )
    for code, label in spec.pause_reasons:
        _ensure(PauseReason, summary, company=company, code=code, defaults={"label": label})
    for e164, reason in spec.blocked:
        _ensure(BlockedNumber, summary, company=company, e164=e164, defaults={"reason": reason})
