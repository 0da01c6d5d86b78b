"""manage.py seed_demo: the demo data set, and bulk data for benchmarks.

The demo users share one published password, and `admin` is a superuser. So the command refuses
to touch a database that holds anything but demo data (a user or client company it did not
create) unless given --force, and it always ends with a warning.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contactcenter.demo import (
    DEMO_PASSWORD,
    DEMO_SLUGS,
    USERS,
    BulkSeedError,
    seed_bulk,
    seed_demo,
)
from contactcenter.demo.calls_bulk import USERNAME_PREFIX as BULK_AGENT_PREFIX
from contactcenter.demo.telephony import PHONE_AGENT_USERNAMES, connection_key
from contactcenter.tenancy.models import Company, Role


def foreign_data() -> list[str]:
    """What in the database is not demo data: a reason to refuse."""
    found = []
    users = (
        get_user_model()
        .objects.exclude(username__in=[u.username for u in USERS] + list(PHONE_AGENT_USERNAMES))
        # The bulk call generator's agents (manage.py seed_calls) are demo data too.
        .exclude(username__startswith=BULK_AGENT_PREFIX)
        .order_by("username")
        .values_list("username", flat=True)[:5]
    )
    if users:
        found.append("users " + ", ".join(users))
    companies = (
        Company.objects.exclude(slug__in=DEMO_SLUGS)
        .order_by("slug")
        .values_list("slug", flat=True)[:5]
    )
    if companies:
        found.append("client companies " + ", ".join(companies))
    return found


def roles_text(spec) -> str:
    roles = ", ".join(f"{slug}: {Role(role).label}" for slug, role, _team in spec.memberships)
    return f"superuser; {roles}" if spec.is_superuser else roles


class Command(BaseCommand):
    help = (
        "Load the demo client companies (bank, shop, isp), users, customers and tickets. "
        "Idempotent: a rerun adds only what is missing. --customers N and --tickets M "
        "make the generated bulk set hold N customers and M tickets, for benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers",
            type=int,
            default=0,
            metavar="N",
            help="Bulk customers bulk-00000001..N spread over the three companies (default 0).",
        )
        parser.add_argument(
            "--tickets",
            type=int,
            default=0,
            metavar="M",
            help="Bulk tickets on the bulk customers (default 0); needs --customers 3 or more.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though the database holds users or companies that are not demo data.",
        )

    def handle(self, *args, customers, tickets, force, verbosity, **options):
        self.verbosity = verbosity
        if customers < 0 or tickets < 0:
            raise CommandError("--customers and --tickets must be zero or more.")
        found = foreign_data()
        if found and not force:
            raise CommandError(
                "This database holds data that is not the demo's ("
                + "; ".join(found)
                + "). seed_demo creates users with a published password, among them a "
                "superuser, and resets the passwords of users with the demo usernames. "
                "Pass --force if this really is a demo or benchmark database."
            )
        summary = seed_demo()
        if summary.created:
            made = ", ".join(f"{n} {what}" for what, n in summary.created.items())
            self.stdout.write(f"Demo data: created {made}.")
        else:
            self.stdout.write("Demo data: already complete, nothing created.")
        if customers or tickets:
            try:
                result = seed_bulk(customers=customers, tickets=tickets, progress=self._progress)
            except BulkSeedError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(
                f"Bulk data: added {result.customers_added:,} customers in "
                f"{result.customers_seconds:.1f} s and {result.tickets_added:,} tickets in "
                f"{result.tickets_seconds:.1f} s."
            )
        self._user_table()

    def _progress(self, message: str) -> None:
        if self.verbosity >= 2:
            self.stdout.write(f"  {message}")

    def _user_table(self) -> None:
        width = max(len(u.username) for u in USERS)
        self.stdout.write("")
        self.stdout.write(f"{'username':<{width}}  {'password':<{len(DEMO_PASSWORD)}}  roles")
        for spec in USERS:
            self.stdout.write(f"{spec.username:<{width}}  {DEMO_PASSWORD}  {roles_text(spec)}")
        by_company: dict[str, list[str]] = {}
        for username in PHONE_AGENT_USERNAMES:
            by_company.setdefault(username.split("_")[0], []).append(username)
        ranges = ", ".join(f"{names[0]}..{names[-1]}" for names in by_company.values())
        self.stdout.write(
            f"and {len(PHONE_AGENT_USERNAMES)} phone agents for the PBX simulator ({ranges}), "
            f"same password; PBX connection keys "
            f"{', '.join(connection_key(slug) for slug in DEMO_SLUGS)}."
        )
        self.stdout.write("")
        self.stdout.write(
            self.style.WARNING(
                "WARNING: every demo user has the published password above and 'admin' is a "
                "superuser. Never load the demo data into a database reachable by others."
            )
        )
