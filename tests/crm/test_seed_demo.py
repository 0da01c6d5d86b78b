"""seed_demo: the documented demo data set, idempotent; bulk customers and tickets for benchmarks.

Runs on whichever database the environment selects: COPY on PostgreSQL, bulk_create on SQLite.
"""

from datetime import time
from io import StringIO

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from contactcenter.demo.telephony import PHONE_AGENT_USERNAMES
from contactcenter.tenancy.models import Company, Membership, Skill, Team, UserPreference
from crm.models import (
    BusinessHours,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomFieldDefinition,
    Holiday,
    SLAPolicy,
    Tag,
    Ticket,
    TicketCategory,
    TicketComment,
    TicketEscalation,
)
from crm.selectors import customers_by_phone
from crm.services.tickets import ticket_create

DEMO_PASSWORD = "demo-pass-2026"
MODELS = (
    Company,
    get_user_model(),
    Membership,
    UserPreference,
    Team,
    Skill,
    TicketCategory,
    Tag,
    CustomFieldDefinition,
    SLAPolicy,
    BusinessHours,
    Holiday,
    Customer,
    Customer.tags.through,
    CustomerPhone,
    CustomerEmail,
    Ticket,
    TicketComment,
    TicketEscalation,
    Customer.history.model,
    CustomerPhone.history.model,
    Ticket.history.model,
)


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in MODELS}


def test_seed_demo_creates_the_documented_companies(db):
    seed()
    assert set(Company.objects.values_list("slug", "name", "time_zone", "default_country")) == {
        ("bank", "Volga Bank", "Europe/Moscow", "RU"),
        ("shop", "Bottega Online", "Europe/Rome", "IT"),
        ("isp", "Lakeside Fiber", "America/New_York", "US"),
    }


def test_seed_demo_creates_the_documented_users_and_roles(db):
    seed()
    # The phone agents for the PBX simulator: tests/telephony/test_demo_telephony.py.
    users = (
        get_user_model().objects.exclude(username__in=PHONE_AGENT_USERNAMES).order_by("username")
    )
    assert [(u.username, u.is_superuser, u.is_staff) for u in users] == [
        ("admin", True, True),
        ("bank_agent", False, False),
        ("bank_agent2", False, False),
        ("bank_manager", False, False),
        ("isp_admin", False, False),
        ("isp_agent", False, False),
        ("multi_manager", False, False),
        ("shop_agent", False, False),
        ("supervisor", False, False),
    ]
    memberships = set(
        Membership.objects.exclude(user__username__in=PHONE_AGENT_USERNAMES).values_list(
            "user__username", "company__slug", "role", "team__name"
        )
    )
    assert memberships == {
        ("admin", "bank", "admin", None),
        ("admin", "shop", "admin", None),
        ("admin", "isp", "admin", None),
        ("supervisor", "bank", "supervisor", "Карты"),
        ("supervisor", "shop", "supervisor", "Ordini"),
        ("bank_agent", "bank", "agent", "Карты"),
        ("bank_agent2", "bank", "agent", "Кредиты"),
        ("shop_agent", "shop", "agent", "Ordini"),
        ("isp_agent", "isp", "agent", "Tier 1 support"),
        ("isp_admin", "isp", "admin", None),
        ("bank_manager", "bank", "client_manager", None),
        ("multi_manager", "shop", "client_manager", None),
        ("multi_manager", "isp", "client_manager", None),
    }


def test_seed_demo_creates_the_documented_data_set(db):
    seed()
    assert counts() == {
        "tenancy.Company": 3,
        # 9 documented users and 18 phone agents
        "auth.User": 27,
        "tenancy.Membership": 31,
        "tenancy.UserPreference": 27,
        "tenancy.Team": 9,
        "tenancy.Skill": 9,
        "crm.TicketCategory": 12,
        "crm.Tag": 12,
        "crm.CustomFieldDefinition": 6,
        "crm.SLAPolicy": 12,
        "crm.BusinessHours": 10,
        "crm.Holiday": 12,
        "crm.Customer": 30,
        "crm.Customer_tags": 16,
        "crm.CustomerPhone": 36,
        "crm.CustomerEmail": 24,
        "crm.Ticket": 24,
        "crm.TicketComment": 19,
        "crm.TicketEscalation": 3,
        # 30 creations and 16 tag assignments (m2m changes are history rows too)
        "crm.HistoricalCustomer": 46,
        "crm.HistoricalCustomerPhone": 36,
        # 24 creations, 12 status changes, 14 first replies, 3 escalations
        "crm.HistoricalTicket": 53,
    }
    assert TicketComment.objects.filter(is_internal=True).count() == 5
    assert Ticket.objects.overdue().count() == 9
    assert sorted(Company.objects.values_list("slug", "last_ticket_number")) == [
        ("bank", 8),
        ("isp", 8),
        ("shop", 8),
    ]


def test_sla_policies_cover_every_priority_in_business_or_calendar_hours(db):
    seed()
    policies = set(
        SLAPolicy.objects.values_list(
            "company__slug",
            "priority",
            "first_response_minutes",
            "resolution_minutes",
            "business_hours",
        )
    )
    assert policies == {
        ("bank", "urgent", 15, 240, False),
        ("bank", "high", 60, 480, True),
        ("bank", "normal", 240, 1440, True),
        ("bank", "low", 480, 2880, True),
        ("shop", "urgent", 30, 240, False),
        ("shop", "high", 60, 720, False),
        ("shop", "normal", 240, 2400, True),
        ("shop", "low", 480, 4800, True),
        ("isp", "urgent", 15, 120, False),
        ("isp", "high", 30, 480, False),
        ("isp", "normal", 120, 1440, False),
        ("isp", "low", 480, 4320, False),
    }
    bank_hours = BusinessHours.objects.filter(company__slug="bank")
    assert sorted(bank_hours.values_list("weekday", "opens", "closes")) == [
        (day, time(9), time(18)) for day in range(5)
    ]


def test_running_seed_demo_twice_changes_nothing(db):
    seed()
    before = counts()
    numbers = dict(Company.objects.values_list("slug", "last_ticket_number"))
    output = seed()
    assert counts() == before
    assert dict(Company.objects.values_list("slug", "last_ticket_number")) == numbers
    assert "Demo data: already complete, nothing created." in output


def test_every_demo_user_can_log_in_with_the_documented_password(db, client):
    seed()
    for username in (
        "admin",
        "supervisor",
        "bank_agent",
        "bank_agent2",
        "shop_agent",
        "isp_agent",
        "isp_admin",
        "bank_manager",
        "multi_manager",
    ):
        assert client.login(username=username, password=DEMO_PASSWORD), username
        client.logout()


def test_the_command_prints_every_user_with_password_and_roles(db):
    output = seed()
    assert (
        "admin          demo-pass-2026  superuser; bank: Administrator, shop: Administrator, "
        "isp: Administrator"
    ) in output
    assert "bank_agent     demo-pass-2026  bank: Agent\n" in output
    assert "multi_manager  demo-pass-2026  shop: Client manager, isp: Client manager\n" in output
    assert "WARNING: every demo user has the published password" in output


def test_a_rerun_puts_back_a_changed_password_and_role(db, client):
    seed()
    agent = get_user_model().objects.get(username="bank_agent")
    agent.set_password("something-else")
    agent.save()
    Membership.objects.filter(user=agent).update(role="client_manager", team=None)
    seed()
    assert client.login(username="bank_agent", password=DEMO_PASSWORD)
    assert list(Membership.objects.filter(user=agent).values_list("role", "team__name")) == [
        ("agent", "Карты")
    ]


def test_seed_demo_refuses_a_database_with_other_data_unless_forced(db):
    get_user_model().objects.create_user(username="alice", password="x")
    with pytest.raises(CommandError) as error:
        seed()
    assert "not the demo's (users alice)" in str(error.value)
    assert "--force" in str(error.value)
    assert Company.objects.count() == 0
    assert get_user_model().objects.count() == 1
    seed("--force")
    assert Company.objects.count() == 3


def test_a_number_shared_by_two_demo_customers_finds_both(db):
    seed()
    bank = Company.objects.get(slug="bank")
    found = customers_by_phone(bank, "+7 (495) 621-17-45")
    assert [c.display_name for c in found] == ["Иван Сергеевич Петров", "Мария Ивановна Петрова"]


def test_negative_counts_are_refused(db):
    with pytest.raises(CommandError, match="must be zero or more"):
        seed("--customers", "-1")
    assert Company.objects.count() == 0


# --- Bulk -------------------------------------------------------------------------------------


def bulk_customers():
    return Customer.objects.filter(external_id__startswith="bulk-")


def test_bulk_creates_exactly_n_customers_spread_over_the_companies(db):
    seed("--customers", "90")
    assert bulk_customers().count() == 90
    per_company = {
        slug: bulk_customers().filter(company__slug=slug).count()
        for slug in ("bank", "shop", "isp")
    }
    assert per_company == {"bank": 30, "shop": 30, "isp": 30}
    # Every customer has a mobile, one in three also a home line: 90 + 30.
    assert CustomerPhone.objects.filter(customer__in=bulk_customers()).count() == 120
    assert CustomerEmail.objects.filter(customer__in=bulk_customers()).count() == 90


def test_bulk_customers_have_names_and_the_numbers_the_generator_promises(db):
    seed("--customers", "6")
    first = Customer.objects.get(external_id="bulk-00000001")
    assert first.company.slug == "bank"
    assert first.display_name == " ".join(
        p for p in (first.first_name, first.middle_name, first.last_name) if p
    )
    assert first.display_name
    # Position 0 in each company: (0 * 7919 + 1234567) mod 10**7 = 1234567.
    assert list(first.phones.values_list("raw", "e164", "is_primary")) == [
        ("8 (916) 123-45-67", "+79161234567", True)
    ]
    second = Customer.objects.get(external_id="bulk-00000002")
    assert list(second.phones.values_list("raw", "e164")) == [("347 123 4567", "+393471234567")]
    third = Customer.objects.get(external_id="bulk-00000003")
    assert list(third.phones.values_list("raw", "e164")) == [("(212) 323-4567", "+12123234567")]


def test_every_bulk_phone_is_valid_e164_and_finds_its_customer(db):
    seed("--customers", "90")
    phones = CustomerPhone.objects.filter(customer__in=bulk_customers()).select_related(
        "company", "customer"
    )
    assert len(phones) == 120
    for phone in phones:
        parsed = phonenumbers.parse(phone.raw, phone.company.default_country)
        assert phonenumbers.is_valid_number(parsed), phone.raw
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        assert e164 == phone.e164
        assert phone.customer in customers_by_phone(phone.company, phone.raw)
        assert phone.customer in customers_by_phone(phone.company, phone.e164)
    for customer in bulk_customers():
        assert customer.display_name == Customer.compose_display_name(
            customer.kind,
            customer.first_name,
            customer.middle_name,
            customer.last_name,
            customer.organisation_name,
        )
        assert customer.display_name != ""


def test_a_bulk_household_shares_its_home_line(db):
    # Positions 26 and 29 of the bank are bulk customers 3 * 26 + 1 = 79 and 3 * 29 + 1 = 88.
    seed("--customers", "90")
    household = Customer.objects.get(external_id="bulk-00000079")
    home = household.phones.get(kind="home")
    found = customers_by_phone(household.company, home.raw)
    assert sorted(c.external_id for c in found) == ["bulk-00000079", "bulk-00000088"]


def test_bulk_seeding_again_adds_only_the_missing_customers(db):
    seed("--customers", "90")
    seed("--customers", "90")
    assert bulk_customers().count() == 90
    seed("--customers", "93")
    assert bulk_customers().count() == 93
    assert list(
        bulk_customers().order_by("-external_id").values_list("external_id", flat=True)[:4]
    ) == ["bulk-00000093", "bulk-00000092", "bulk-00000091", "bulk-00000090"]
    seed("--customers", "10")
    assert bulk_customers().count() == 93


def test_bulk_tickets_get_unique_numbers_and_advance_the_last_ticket_number(db):
    seed("--customers", "9", "--tickets", "30")
    for slug in ("bank", "shop", "isp"):
        company = Company.objects.get(slug=slug)
        numbers = sorted(Ticket.objects.filter(company=company).values_list("number", flat=True))
        # 8 demo tickets and 10 bulk tickets per company.
        assert numbers == list(range(1, 19))
        assert company.last_ticket_number == 18
    bank = Company.objects.get(slug="bank")
    customer = bulk_customers().filter(company=bank).first()
    assert ticket_create(company=bank, customer=customer, subject="After bulk").number == 19


def test_bulk_tickets_carry_the_sla_policy_of_their_priority(db):
    seed("--customers", "9", "--tickets", "30")
    tickets = Ticket.objects.filter(customer__in=bulk_customers()).select_related("sla_policy")
    assert len(tickets) == 30
    for ticket in tickets:
        assert ticket.sla_policy.company_id == ticket.company_id
        assert ticket.sla_policy.priority == ticket.priority
        assert ticket.first_response_due > ticket.created_at
        assert ticket.resolution_due >= ticket.first_response_due


def test_bulk_tickets_again_add_nothing(db):
    seed("--customers", "9", "--tickets", "30")
    before = counts()
    seed("--customers", "9", "--tickets", "30")
    assert counts() == before
    assert sorted(Company.objects.values_list("slug", "last_ticket_number")) == [
        ("bank", 18),
        ("isp", 18),
        ("shop", 18),
    ]


def test_bulk_tickets_without_bulk_customers_are_refused_and_add_nothing(db):
    seed()
    before = counts()
    with pytest.raises(CommandError) as error:
        seed("--tickets", "5")
    assert str(error.value) == (
        "bank has no bulk customers to give tickets to: "
        "pass --customers with at least 3 (one per company)."
    )
    assert counts() == before
