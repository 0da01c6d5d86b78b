"""Shared fixtures: two client companies, a user of every role in the first, and an outsider
who belongs only to the second and must see nothing of the first."""

import os

import pytest
from django.contrib.auth import get_user_model

from contactcenter.tenancy.models import Company, Membership, Role, Team
from crm.services.customers import customer_create
from crm.services.tickets import ticket_create

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fast_and_unbundled(settings):
    """Cheap password hashing, and static files without a collectstatic manifest."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _default_language():
    """A request may leave its user's language active in the thread: start each test in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


def pytest_configure(config):
    """Under pytest-xdist, each worker's cache keys apart from the others' (see `_empty_cache`)."""
    from django.conf import settings

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and settings.configured:
        default = settings.CACHES["default"]
        default["KEY_PREFIX"] = f"{default.get('KEY_PREFIX', '')}-{worker}"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters and cached values must not leak from one test into the next.

    On Redis only this worker's keys are deleted: `cache.clear()` empties the whole database,
    the cache of the tests other xdist workers are running too (a throttle's history gone in
    the middle of its test)."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]  # the backend itself: `django.core.cache.cache` is a proxy
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
    yield


@pytest.fixture
def company(db):
    return Company.objects.create(
        name="Bank", slug="bank", time_zone="Europe/Moscow", default_country="RU"
    )


@pytest.fixture
def other_company(db):
    return Company.objects.create(
        name="Shop", slug="shop", time_zone="Europe/Rome", default_country="IT"
    )


@pytest.fixture
def team(company):
    return Team.objects.create(company=company, name="Cards")


def make_user(username: str, company: Company, role: str, team: Team | None = None, **extra):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    Membership.objects.create(user=user, company=company, role=role, team=team)
    return user


def generic_plan(sql: str, types: str = "", arguments: str = "") -> str:
    """PostgreSQL's plan for `sql` as a prepared statement's generic plan, the one a statement
    run often ends up with, as EXPLAIN prints it; `types` and `arguments` in parentheses when
    `sql` has $n parameters. Inside the test's transaction (SET LOCAL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE generic_plan{types} AS {sql}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE generic_plan{arguments}")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE generic_plan")


@pytest.fixture
def agent(company, team):
    return make_user("agent", company, Role.AGENT, team, first_name="Anna")


@pytest.fixture
def supervisor(company, team):
    return make_user("supervisor", company, Role.SUPERVISOR, team)


@pytest.fixture
def client_manager(company):
    return make_user("manager", company, Role.CLIENT_MANAGER)


@pytest.fixture
def admin_user(company):
    return make_user("admin", company, Role.ADMIN, is_staff=True)


@pytest.fixture
def outsider(other_company):
    """A supervisor of another client company: must get 404 for everything of `company`."""
    return make_user("outsider", other_company, Role.SUPERVISOR)


@pytest.fixture
def customer(company):
    return customer_create(
        company=company,
        first_name="Ivan",
        last_name="Petrov",
        phones=["8 (916) 123-45-67"],
        emails=["ivan.petrov@example.com"],
    )


@pytest.fixture
def ticket(company, customer, team):
    return ticket_create(company=company, customer=customer, subject="Card blocked", team=team)
