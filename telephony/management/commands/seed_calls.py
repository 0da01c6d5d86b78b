"""manage.py seed_calls: bulk calls for the reporting benchmarks (contactcenter/demo/calls_bulk.py).

Needs the demo companies (`manage.py seed_demo`). Idempotent: `--calls N` makes the bulk calls
bulk-c00000001..N exist, so a rerun adds nothing and a larger N adds the difference.
"""

from argparse import ArgumentTypeError
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from contactcenter.demo.bulk import BulkSeedError
from contactcenter.demo.calls_bulk import seed_calls


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Write bulk calls for the reporting benchmarks over the demo companies, with bulk "
        "queues and agents: COPY on PostgreSQL, about ten million calls in minutes. Writes no "
        "call events and no agent-state intervals. Run seed_demo first. A large load on "
        "PostgreSQL locks the call table until it is done: use a benchmark database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--calls",
            type=int,
            required=True,
            metavar="N",
            help="Bulk calls bulk-c00000001..N (a rerun adds only the missing ones).",
        )
        parser.add_argument(
            "--agents", type=int, default=500, help="Bulk agents over the three companies."
        )
        parser.add_argument(
            "--queues", type=int, default=20, help="Bulk queues over the three companies."
        )
        parser.add_argument(
            "--days", type=int, default=365, help="How many days the calls spread over."
        )
        parser.add_argument(
            "--until",
            type=_day,
            metavar="YYYY-MM-DD",
            help=(
                "The last day of calls, in each company's time zone (default: the last day "
                "that is over in every demo company's zone)."
            ),
        )

    def handle(self, *args, calls, agents, queues, days, until, verbosity, **options):
        self.verbosity = verbosity
        try:
            result = seed_calls(
                calls, agents=agents, queues=queues, days=days, until=until, progress=self._say
            )
        except BulkSeedError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Bulk calls: added {result.added:,} in {result.seconds:.1f} s "
            f"({result.first_day} to {result.last_day}, {agents:,} agents, {queues:,} queues); "
            f"{result.total:,} bulk calls in all."
        )

    def _say(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(f"  {message}")
