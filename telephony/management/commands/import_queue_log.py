from django.core.management.base import BaseCommand, CommandError

from contactcenter.tenancy.models import Company
from telephony.queue_log_import import queue_log_import


class Command(BaseCommand):
    help = "Import an Asterisk queue_log file into a client company's call log (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the queue_log file")
        parser.add_argument("--company", required=True, help="the client company's slug")

    def handle(self, *args, path: str, company: str, **options):
        try:
            tenant = Company.objects.get(slug=company)
        except Company.DoesNotExist:
            raise CommandError(f"no client company with the slug {company!r}") from None
        try:
            # Bytes that are not UTF-8 (a caller name in a legacy code page) must not stop the
            # import: they only ever appear in caller ids, never in the fields we parse.
            with open(path, encoding="utf-8", errors="replace") as lines:
                report = queue_log_import(company=tenant, lines=lines)
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        for problem in report.problems:
            self.stderr.write(problem)
        self.stdout.write(
            f"{report.stats.lines} lines: {report.applied} call events applied, "
            f"{report.duplicates} already imported, {report.agent_events} agent events, "
            f"{len(report.problems)} unusable lines, {report.stats.open_calls} calls still open"
        )
