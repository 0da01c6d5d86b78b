"""What every benchmark shares: a dedicated PostgreSQL database, Django set up, timing statistics.

Benchmarks are scripts, not tests: they run against their own database (never the test database,
never one with real data), create it and migrate it when it is missing, and print each figure next
to a baseline measured in the same run on the same data.
"""

import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SUGGESTED_URL = "postgres://postgres@127.0.0.1:5432/cc_bench"


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(2)


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        fail(f"Set DATABASE_URL to a PostgreSQL database for benchmarks, e.g.\n  {SUGGESTED_URL}")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        fail(
            f"DATABASE_URL={url!r} is not PostgreSQL: benchmarks measure the production database "
            f"only (SQLite figures would mislead). Use e.g. {SUGGESTED_URL}"
        )
    name = parts.path.lstrip("/")
    if not name:
        fail(f"DATABASE_URL={url!r} names no database.")
    if name.startswith("test_"):
        fail(f"{name} is a test database (pytest drops it): use a dedicated one such as cc_bench.")
    return url


def _create_database_if_missing(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}.")


def setup_django() -> None:
    """Check DATABASE_URL, create the database if needed, set Django up and migrate."""
    url = _database_url()
    _create_database_if_missing(url)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (p in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def median(sorted_values: list[float]) -> float:
    n = len(sorted_values)
    if n == 0:
        return math.nan
    middle = n // 2
    if n % 2:
        return sorted_values[middle]
    return (sorted_values[middle - 1] + sorted_values[middle]) / 2


def clock(call: Callable, *args) -> tuple[float, object]:
    """(seconds the call took, what it returned)."""
    started = time.perf_counter()
    result = call(*args)
    return time.perf_counter() - started, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"
