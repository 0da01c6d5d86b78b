# ruff: noqa: RUF001 - Russian data: Cyrillic letters that look Latin are meant.
"""The fixed demo data set: three client companies, their configuration, users, customers, tickets.

Data (names, team names, ticket texts) is written in each company's own language, as its staff
would type it; only the interface around it is translated. Every phone number is typed the way
people of that country write it, so that the demo shows the E.164 matching at work.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from contactcenter.tenancy.models import Role
from crm.models import Channel, CustomerPhone, CustomFieldDefinition, Priority, Status, Tier
from crm.services.customers import PhoneInput

DEMO_PASSWORD = "demo-pass-2026"

HOME = CustomerPhone.Kind.HOME
WORK = CustomerPhone.Kind.WORK
ORG = "organisation"
FieldType = CustomFieldDefinition.FieldType


@dataclass(frozen=True)
class SLA:
    priority: str
    first_response_minutes: int
    resolution_minutes: int
    business_hours: bool


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    field_type: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoCompany:
    slug: str
    name: str
    time_zone: str
    country: str
    language: str
    # The first team is the first line, the second the second line, the third the specialists.
    teams: tuple[str, str, str]
    skills: tuple[str, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    custom_fields: tuple[FieldSpec, ...]
    sla: tuple[SLA, ...]
    holidays: tuple[tuple[date, str], ...] = ()
    # Monday to Friday, 09:00-18:00 in the company's zone; without it the company never closes.
    weekday_hours: bool = False


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    # (company slug, role, team name or None)
    memberships: tuple[tuple[str, str, str | None], ...]
    language: str = "en"
    is_superuser: bool = False


@dataclass(frozen=True)
class DemoCustomer:
    ref: str  # the customer's external_id: what makes a rerun find it instead of adding it
    fields: dict
    phones: tuple = ()
    emails: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    custom: dict = field(default_factory=dict)
    owner: str | None = None


@dataclass(frozen=True)
class Step:
    """Something done on a ticket `after` its creation: note, reply, status or escalate."""

    after: timedelta
    kind: str
    text: str = ""
    to: str | int | None = None  # the status, or the tier of an escalation
    team: str | None = None  # the team an escalation goes to


@dataclass(frozen=True)
class DemoTicket:
    subject: str  # unique within its company: what makes a rerun find it instead of adding it
    customer: str
    channel: str
    priority: str
    category: str
    team: str
    age: timedelta  # created this long before the seed runs
    assignee: str | None = None
    tier: int = Tier.FIRST_LINE
    skill: str | None = None
    description: str = ""
    steps: tuple[Step, ...] = ()


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def note(after, text):
    return Step(after, "note", text)


def reply(after, text):
    return Step(after, "reply", text)


def status(after, to):
    return Step(after, "status", to=to)


def escalate(after, reason, tier, team):
    return Step(after, "escalate", reason, to=tier, team=team)


# Long enough for every target of every policy below to have passed, holidays included.
LONG_AGO = days(21)

BANK = DemoCompany(
    slug="bank",
    name="Volga Bank",
    time_zone="Europe/Moscow",
    country="RU",
    language="ru",
    teams=("Карты", "Кредиты", "Безопасность и споры"),
    skills=("Карты", "Ипотека", "Расследование мошенничества"),
    categories=("Блокировка карты", "Заявка на кредит", "Оспаривание операции", "Интернет-банк"),
    tags=("VIP", "Зарплатный проект", "Жалоба", "Просрочка"),
    custom_fields=(
        FieldSpec("contract_number", "Номер договора", FieldType.TEXT),
        FieldSpec("client_since", "Клиент с", FieldType.DATE),
    ),
    sla=(
        SLA(Priority.URGENT, 15, 240, business_hours=False),
        SLA(Priority.HIGH, 60, 480, business_hours=True),
        SLA(Priority.NORMAL, 240, 1440, business_hours=True),
        SLA(Priority.LOW, 480, 2880, business_hours=True),
    ),
    holidays=(
        (date(2026, 6, 12), "День России"),
        (date(2026, 11, 4), "День народного единства"),
        (date(2027, 1, 1), "Новый год"),
        (date(2027, 1, 7), "Рождество Христово"),
        (date(2027, 2, 23), "День защитника Отечества"),
        (date(2027, 3, 8), "Международный женский день"),
    ),
    weekday_hours=True,
)

SHOP = DemoCompany(
    slug="shop",
    name="Bottega Online",
    time_zone="Europe/Rome",
    country="IT",
    language="it",
    teams=("Ordini", "Resi e rimborsi", "Specialisti"),
    skills=("Resi", "Pagamenti", "Inglese"),
    categories=("Ordine in ritardo", "Reso", "Rimborso", "Pagamento"),
    tags=("Cliente fedele", "Reclamo", "Reso frequente", "B2B"),
    custom_fields=(
        FieldSpec("loyalty_card", "Carta fedeltà", FieldType.TEXT),
        FieldSpec(
            "preferred_courier",
            "Corriere preferito",
            FieldType.CHOICE,
            ("BRT", "GLS", "Poste Italiane", "SDA"),
        ),
    ),
    sla=(
        SLA(Priority.URGENT, 30, 240, business_hours=False),
        SLA(Priority.HIGH, 60, 720, business_hours=False),
        SLA(Priority.NORMAL, 240, 2400, business_hours=True),
        SLA(Priority.LOW, 480, 4800, business_hours=True),
    ),
    holidays=(
        (date(2026, 12, 8), "Immacolata Concezione"),
        (date(2026, 12, 25), "Natale"),
        (date(2026, 12, 26), "Santo Stefano"),
        (date(2027, 1, 1), "Capodanno"),
        (date(2027, 1, 6), "Epifania"),
        (date(2027, 3, 29), "Lunedì dell'Angelo"),
    ),
    weekday_hours=True,
)

# An internet provider's support never closes: every target counts calendar hours.
ISP = DemoCompany(
    slug="isp",
    name="Lakeside Fiber",
    time_zone="America/New_York",
    country="US",
    language="en",
    teams=("Tier 1 support", "Network operations", "Business accounts"),
    skills=("Fiber", "Routers", "Spanish"),
    categories=("No internet", "Slow speed", "Billing", "Installation"),
    tags=("Fiber", "Business", "Outage affected", "Churn risk"),
    custom_fields=(
        FieldSpec("account_number", "Account number", FieldType.TEXT),
        FieldSpec("plan", "Plan", FieldType.CHOICE, ("Fiber 300", "Fiber 1000", "Business 1G")),
    ),
    sla=(
        SLA(Priority.URGENT, 15, 120, business_hours=False),
        SLA(Priority.HIGH, 30, 480, business_hours=False),
        SLA(Priority.NORMAL, 120, 1440, business_hours=False),
        SLA(Priority.LOW, 480, 4320, business_hours=False),
    ),
)

COMPANIES = (BANK, SHOP, ISP)
DEMO_SLUGS = tuple(c.slug for c in COMPANIES)

USERS = (
    DemoUser(
        "admin",
        "Ada",
        "Admin",
        (("bank", Role.ADMIN, None), ("shop", Role.ADMIN, None), ("isp", Role.ADMIN, None)),
        is_superuser=True,
    ),
    DemoUser(
        "supervisor",
        "Sam",
        "Supervisor",
        (("bank", Role.SUPERVISOR, "Карты"), ("shop", Role.SUPERVISOR, "Ordini")),
    ),
    DemoUser("bank_agent", "Анна", "Иванова", (("bank", Role.AGENT, "Карты"),), language="ru"),
    DemoUser(
        "bank_agent2", "Дмитрий", "Соколов", (("bank", Role.AGENT, "Кредиты"),), language="ru"
    ),
    DemoUser("shop_agent", "Giulia", "Conti", (("shop", Role.AGENT, "Ordini"),), language="it"),
    DemoUser("isp_agent", "Jake", "Miller", (("isp", Role.AGENT, "Tier 1 support"),)),
    DemoUser("isp_admin", "Priya", "Shah", (("isp", Role.ADMIN, None),)),
    DemoUser(
        "bank_manager", "Ольга", "Кузнецова", (("bank", Role.CLIENT_MANAGER, None),), language="ru"
    ),
    DemoUser(
        "multi_manager",
        "Chiara",
        "Ferri",
        (("shop", Role.CLIENT_MANAGER, None), ("isp", Role.CLIENT_MANAGER, None)),
        language="it",
    ),
)

# Who writes on a company's tickets that have no assignee.
LEADS = {"bank": "supervisor", "shop": "supervisor", "isp": "isp_admin"}


def _person(first, last, middle="", **extra):
    return {"first_name": first, "middle_name": middle, "last_name": last, **extra}


def _org(name, **extra):
    return {"kind": ORG, "organisation_name": name, **extra}


CUSTOMERS = {
    "bank": (
        DemoCustomer(
            "demo-01",
            _person("Иван", "Петров", "Сергеевич", city="Москва", marketing_consent=True),
            phones=("8 (916) 123-45-67", PhoneInput("8 (495) 621-17-45", HOME)),
            emails=("ivan.petrov@example.com",),
            tags=("VIP",),
            custom={"contract_number": "40817-810-0001", "client_since": "2015-03-12"},
            owner="bank_agent",
        ),
        # Ivan's wife: the same home line, typed the international way.
        DemoCustomer(
            "demo-02",
            _person("Мария", "Петрова", "Ивановна", city="Москва"),
            phones=("8 916 765 43 21", PhoneInput("+7 495 621-17-45", HOME)),
            emails=("maria.petrova@example.com",),
            custom={"contract_number": "40817-810-0002"},
        ),
        DemoCustomer(
            "demo-03",
            _person("Алексей", "Смирнов", "Николаевич", do_not_call=True),
            phones=("+7 (903) 555-12-34",),
            tags=("Просрочка",),
        ),
        DemoCustomer(
            "demo-04",
            _person("Елена", "Кузнецова", "Викторовна", city="Казань"),
            phones=("89261234567",),
            emails=("elena.kuznetsova@example.org",),
            tags=("Жалоба",),
        ),
        DemoCustomer(
            "demo-05",
            _person("Дмитрий", "Волков", "Андреевич"),
            phones=("8-985-222-33-44",),
            emails=("d.volkov@example.net",),
            custom={"contract_number": "40817-810-0005", "client_since": "2021-09-01"},
        ),
        DemoCustomer(
            "demo-06",
            _person("Ольга", "Морозова", "Павловна", marketing_consent=True),
            phones=("+79057778899",),
        ),
        DemoCustomer(
            "demo-07",
            _org("ООО «Ромашка»", city="Москва"),
            phones=(PhoneInput("8 (495) 987-65-43", WORK),),
            emails=("info@romashka.example.com",),
            tags=("Зарплатный проект",),
            custom={"contract_number": "ЮЛ-2019-042"},
        ),
        DemoCustomer(
            "demo-08",
            _org("АО «Северные технологии»", city="Санкт-Петербург"),
            phones=(PhoneInput("8 (812) 300-40-50", WORK),),
            emails=("office@sevtech.example.com",),
        ),
        # The company's director calls from the office switchboard too.
        DemoCustomer(
            "demo-09",
            _person("Сергей", "Лебедев", "Олегович", city="Санкт-Петербург"),
            phones=("8 (921) 444-55-66", PhoneInput("8 812 300 40 50", WORK)),
            tags=("VIP",),
        ),
        DemoCustomer(
            "demo-10",
            _person("Наталья", "Соколова", "Сергеевна", do_not_call=True),
            phones=("8 (917) 111-22-33",),
        ),
    ),
    "shop": (
        DemoCustomer(
            "demo-01",
            _person("Giulia", "Rossi", city="Milano", marketing_consent=True),
            phones=("347 123 4567",),
            emails=("giulia.rossi@example.com",),
            tags=("Cliente fedele",),
            custom={"loyalty_card": "BO-000123", "preferred_courier": "BRT"},
            owner="shop_agent",
        ),
        DemoCustomer(
            "demo-02",
            _person("Luca", "Bianchi", city="Torino"),
            phones=("+39 333 987 6543",),
            emails=("luca.bianchi@example.net",),
        ),
        DemoCustomer(
            "demo-03",
            _person("Francesca", "Russo", city="Napoli", do_not_call=True),
            phones=("0039 340 111 2233",),
            emails=("francesca.russo@example.org",),
            tags=("Reclamo",),
        ),
        DemoCustomer(
            "demo-04",
            _person("Alessandro", "Ferrari", city="Milano"),
            phones=("320 555 7788", PhoneInput("02 8734 5566", HOME)),
            emails=("alessandro.ferrari@example.com",),
        ),
        # Alessandro's partner: only the shared home line.
        DemoCustomer(
            "demo-05",
            _person("Chiara", "Esposito", city="Milano"),
            phones=(PhoneInput("+39 02 87345566", HOME),),
            emails=("chiara.esposito@example.com",),
        ),
        DemoCustomer(
            "demo-06",
            _person("Giorgio", "Romano", city="Roma"),
            phones=(PhoneInput("06 4567 8901", HOME),),
        ),
        DemoCustomer(
            "demo-07",
            _person("Sofia", "Colombo", city="Bologna"),
            phones=("349 876 5432",),
            emails=("sofia.colombo@example.com",),
            tags=("Reso frequente",),
        ),
        DemoCustomer(
            "demo-08",
            _org("Moda Milano S.r.l.", city="Milano"),
            phones=(PhoneInput("02 7600 1234", WORK),),
            emails=("ordini@modamilano.example.com",),
            tags=("B2B",),
            custom={"preferred_courier": "GLS"},
        ),
        DemoCustomer(
            "demo-09",
            _org("Enoteca Toscana S.n.c.", city="Firenze"),
            phones=(PhoneInput("055 234 5678", WORK),),
            emails=("info@enotecatoscana.example.com",),
            tags=("B2B",),
        ),
        DemoCustomer(
            "demo-10",
            _person("Paolo", "Ricci", city="Verona", marketing_consent=True),
            phones=("338 222 3344",),
            emails=("paolo.ricci@example.com",),
        ),
    ),
    "isp": (
        DemoCustomer(
            "demo-01",
            _person("John", "Smith", city="New York", marketing_consent=True),
            phones=("(212) 555-0142",),
            emails=("john.smith@example.com",),
            tags=("Fiber",),
            custom={"account_number": "LF-100001", "plan": "Fiber 300"},
        ),
        DemoCustomer(
            "demo-02",
            _person("Emily", "Johnson", city="Brooklyn"),
            phones=("(917) 555-0188", PhoneInput("(718) 555-0123", HOME)),
            emails=("emily.johnson@example.com",),
            custom={"plan": "Fiber 1000"},
        ),
        # Emily's husband: the same home line, typed with dots.
        DemoCustomer(
            "demo-03",
            _person("Michael", "Johnson", city="Brooklyn"),
            phones=("+1 917 555 0166", PhoneInput("718.555.0123", HOME)),
            emails=("michael.j@example.net",),
            tags=("Churn risk",),
        ),
        DemoCustomer(
            "demo-04",
            _person("Sarah", "Williams", do_not_call=True),
            phones=("646.555.0134",),
            emails=("sarah.williams@example.org",),
        ),
        DemoCustomer(
            "demo-05",
            _person("David", "Brown", city="Queens"),
            phones=("+1 (347) 555-0199",),
            emails=("david.brown@example.com",),
            tags=("Outage affected",),
        ),
        DemoCustomer(
            "demo-06",
            _person("Jessica", "Davis"),
            phones=("1-212-555-0111",),
            emails=("jessica.davis@example.com",),
        ),
        DemoCustomer(
            "demo-07",
            _org("Hudson Dental LLC", city="New York"),
            phones=(PhoneInput("(212) 555-0100", WORK),),
            emails=("frontdesk@hudsondental.example.com",),
            tags=("Business",),
            custom={"account_number": "LF-200017", "plan": "Business 1G"},
            owner="isp_agent",
        ),
        DemoCustomer(
            "demo-08",
            _org("Brooklyn Coffee Co.", city="Brooklyn"),
            phones=(PhoneInput("(718) 555-0177", WORK),),
            emails=("hello@brooklyncoffee.example.com",),
            tags=("Business",),
        ),
        DemoCustomer(
            "demo-09",
            _person("Robert", "Garcia", marketing_consent=True),
            phones=("(917) 555-0155",),
        ),
        DemoCustomer(
            "demo-10",
            _person("Linda", "Martinez", city="New York"),
            phones=("(646) 555-0102",),
            emails=("linda.martinez@example.com",),
            tags=("Outage affected",),
        ),
    ),
}

# Ages and targets are chosen so that exactly three tickets per company are overdue whenever the
# seed runs: the overdue ones are three weeks old, the others fresh or already answered.
TICKETS = {
    "bank": (
        DemoTicket(
            "Карта заблокирована после поездки за границу",
            "demo-01",
            Channel.PHONE,
            Priority.HIGH,
            "Блокировка карты",
            "Карты",
            hours(3),
            assignee="bank_agent",
            skill="Карты",
            description="Клиент вернулся из Турции, карта не проходит в магазинах.",
            steps=(
                note(minutes(5), "Сработал антифрод на операции в Анталье, проверяю."),
                reply(minutes(20), "Иван Сергеевич, блокировка снята, карта снова работает."),
            ),
        ),
        DemoTicket(
            "Не проходит платёж в интернет-банке",
            "demo-04",
            Channel.CHAT,
            Priority.NORMAL,
            "Интернет-банк",
            "Карты",
            LONG_AGO,
            description="Оплата ЖКХ завершается ошибкой «Операция отклонена».",
        ),
        DemoTicket(
            "Оспаривание операции на 12 500 ₽",
            "demo-05",
            Channel.PHONE,
            Priority.URGENT,
            "Оспаривание операции",
            "Карты",
            LONG_AGO,
            assignee="bank_agent",
            skill="Расследование мошенничества",
            description="Клиент не узнаёт списание в интернет-магазине.",
            steps=(
                note(minutes(10), "Карта заблокирована по просьбе клиента."),
                escalate(
                    minutes(30),
                    "Признаки мошенничества: нужна проверка службы безопасности.",
                    Tier.SPECIALIST,
                    "Безопасность и споры",
                ),
            ),
        ),
        DemoTicket(
            "Заявка на ипотеку",
            "demo-02",
            Channel.EMAIL,
            Priority.LOW,
            "Заявка на кредит",
            "Кредиты",
            hours(2),
            assignee="bank_agent2",
            tier=Tier.SECOND_LINE,
            skill="Ипотека",
            steps=(
                reply(minutes(30), "Мария Ивановна, пришлите, пожалуйста, справку о доходах."),
                status(minutes(31), Status.PENDING),
            ),
        ),
        DemoTicket(
            "Жалоба на списание комиссии",
            "demo-04",
            Channel.MESSENGER,
            Priority.NORMAL,
            "Интернет-банк",
            "Карты",
            LONG_AGO,
            assignee="bank_agent",
            steps=(
                reply(hours(2), "Комиссия возвращена на ваш счёт."),
                status(days(1), Status.RESOLVED),
                status(days(4), Status.CLOSED),
            ),
        ),
        DemoTicket(
            "Перевыпуск карты",
            "demo-06",
            Channel.WEB,
            Priority.NORMAL,
            "Блокировка карты",
            "Карты",
            minutes(20),
        ),
        DemoTicket(
            "Подключение сотрудников к зарплатному проекту",
            "demo-07",
            Channel.EMAIL,
            Priority.HIGH,
            "Интернет-банк",
            "Кредиты",
            LONG_AGO,
            assignee="bank_agent2",
            tier=Tier.SECOND_LINE,
            steps=(
                reply(hours(1), "Реестр сотрудников загружен, карты будут готовы через 5 дней."),
                status(days(2), Status.RESOLVED),
            ),
        ),
        DemoTicket(
            "Звонок по просроченному платежу",
            "demo-03",
            Channel.PHONE,
            Priority.HIGH,
            "Заявка на кредит",
            "Кредиты",
            LONG_AGO,
            assignee="bank_agent2",
            steps=(note(minutes(15), "Клиент обещал оплатить до пятницы."),),
        ),
    ),
    "shop": (
        DemoTicket(
            "Ordine in ritardo di una settimana",
            "demo-01",
            Channel.EMAIL,
            Priority.NORMAL,
            "Ordine in ritardo",
            "Ordini",
            hours(4),
            assignee="shop_agent",
            steps=(reply(minutes(30), "Il pacco è in consegna domani con BRT."),),
        ),
        DemoTicket(
            "Richiesta di reso",
            "demo-07",
            Channel.WEB,
            Priority.LOW,
            "Reso",
            "Resi e rimborsi",
            LONG_AGO,
            skill="Resi",
        ),
        DemoTicket(
            "Rimborso non ricevuto",
            "demo-03",
            Channel.PHONE,
            Priority.HIGH,
            "Rimborso",
            "Resi e rimborsi",
            LONG_AGO,
            assignee="shop_agent",
            skill="Pagamenti",
            steps=(
                reply(minutes(40), "Verifichiamo con la banca e la ricontattiamo."),
                escalate(
                    days(1),
                    "Rimborso bloccato dal gateway di pagamento.",
                    Tier.SECOND_LINE,
                    "Specialisti",
                ),
            ),
        ),
        DemoTicket(
            "Taglia sbagliata",
            "demo-04",
            Channel.CHAT,
            Priority.NORMAL,
            "Reso",
            "Resi e rimborsi",
            LONG_AGO,
            assignee="shop_agent",
            steps=(
                reply(minutes(10), "Le inviamo l'etichetta per il reso gratuito."),
                status(days(1), Status.RESOLVED),
                status(days(3), Status.CLOSED),
            ),
        ),
        DemoTicket(
            "Pagamento addebitato due volte",
            "demo-10",
            Channel.PHONE,
            Priority.URGENT,
            "Pagamento",
            "Ordini",
            LONG_AGO,
            assignee="shop_agent",
            steps=(
                reply(minutes(5), "Il secondo addebito è stato stornato."),
                status(hours(2), Status.RESOLVED),
            ),
        ),
        DemoTicket(
            "Fattura per ordine aziendale",
            "demo-08",
            Channel.EMAIL,
            Priority.NORMAL,
            "Pagamento",
            "Ordini",
            minutes(25),
        ),
        DemoTicket(
            "Pacco danneggiato",
            "demo-09",
            Channel.MESSENGER,
            Priority.HIGH,
            "Ordine in ritardo",
            "Ordini",
            hours(5),
            assignee="shop_agent",
            steps=(
                reply(minutes(20), "Può inviarci una foto del pacco?"),
                status(minutes(25), Status.PENDING),
            ),
        ),
        DemoTicket(
            "Dov'è il mio ordine?",
            "demo-05",
            Channel.PHONE,
            Priority.LOW,
            "Ordine in ritardo",
            "Ordini",
            LONG_AGO,
            assignee="shop_agent",
            steps=(note(hours(1), "Il corriere non risponde, richiamare domani."),),
        ),
    ),
    "isp": (
        DemoTicket(
            "No internet since this morning",
            "demo-01",
            Channel.PHONE,
            Priority.URGENT,
            "No internet",
            "Tier 1 support",
            LONG_AGO,
            assignee="isp_agent",
            skill="Fiber",
            steps=(
                reply(minutes(5), "We see your line is down and are looking into it."),
                escalate(
                    minutes(20),
                    "Line down at the street cabinet; needs a field technician.",
                    Tier.SECOND_LINE,
                    "Network operations",
                ),
            ),
        ),
        DemoTicket(
            "Slow speed in the evening",
            "demo-05",
            Channel.CHAT,
            Priority.NORMAL,
            "Slow speed",
            "Tier 1 support",
            hours(2),
            assignee="isp_agent",
            steps=(reply(minutes(15), "Please run a speed test with the cable plugged in."),),
        ),
        DemoTicket(
            "Charged twice this month",
            "demo-06",
            Channel.EMAIL,
            Priority.NORMAL,
            "Billing",
            "Tier 1 support",
            LONG_AGO,
            assignee="isp_agent",
            steps=(
                reply(hours(3), "The duplicate charge has been refunded."),
                status(days(1), Status.RESOLVED),
                status(days(5), Status.CLOSED),
            ),
        ),
        DemoTicket(
            "Installation appointment",
            "demo-09",
            Channel.WEB,
            Priority.LOW,
            "Installation",
            "Tier 1 support",
            minutes(15),
        ),
        DemoTicket(
            "Office connection down",
            "demo-07",
            Channel.PHONE,
            Priority.URGENT,
            "No internet",
            "Business accounts",
            LONG_AGO,
            assignee="isp_agent",
            tier=Tier.SECOND_LINE,
            steps=(
                reply(minutes(10), "A technician is on the way."),
                status(hours(1), Status.RESOLVED),
            ),
        ),
        DemoTicket(
            "Router keeps rebooting",
            "demo-03",
            Channel.MESSENGER,
            Priority.HIGH,
            "Slow speed",
            "Tier 1 support",
            LONG_AGO,
            assignee="isp_agent",
            skill="Routers",
            steps=(
                note(minutes(30), "Firmware is outdated; waiting for the customer's photos."),
                status(minutes(31), Status.PENDING),
            ),
        ),
        DemoTicket(
            "Cancel my service",
            "demo-04",
            Channel.EMAIL,
            Priority.NORMAL,
            "Billing",
            "Tier 1 support",
            LONG_AGO,
        ),
        DemoTicket(
            "Upgrade to the business plan",
            "demo-08",
            Channel.WEB,
            Priority.NORMAL,
            "Billing",
            "Business accounts",
            hours(1),
            assignee="isp_agent",
            steps=(reply(minutes(10), "Your upgrade is scheduled for Monday."),),
        ),
    ),
}

# Subjects of generated (bulk) tickets, a few per company.
BULK_SUBJECTS = {
    "bank": ("Блокировка карты", "Вопрос по кредиту", "Не прошёл перевод", "Смена тарифа"),
    "shop": ("Ordine in ritardo", "Richiesta di reso", "Problema di pagamento", "Fattura"),
    "isp": ("No internet", "Slow connection", "Billing question", "Move my service"),
}
