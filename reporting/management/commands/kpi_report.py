"""The KPI reports from the command line, with the same figures as the pages and the API:

    python manage.py kpi_report queues|agents|intervals|tickets --company SLUG \\
        --from YYYY-MM-DD --to YYYY-MM-DD [--interval 15|30|60|day|week|month] \\
        [--queue CODE] [--format json|csv]

JSON gives every ratio with its numerator and denominator; CSV is the export of the pages
(reporting/exports.py): UTF-8, headed by the period, time zone, thresholds and service-level
formula, durations in seconds and as h:mm:ss. An operator's tool: it reads any company.

The tickets report prints both of its tables in CSV, by channel then by support tier, one
after the other with a blank line between; --queue does not apply to tickets.
"""

import json
from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError

from contactcenter.tenancy.models import Company
from reporting.exports import csv_text
from reporting.periods import IntervalSize
from reporting.queries import (
    ReportError,
    ReportFilter,
    agent_report,
    interval_report,
    queue_report,
)
from reporting.ticket_queries import ticket_report
from telephony.models import Queue

REPORTS = ("queues", "agents", "intervals", "tickets")


def _date(option: str, value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Print a KPI report (queues, agents, intervals or tickets) of one client company."

    def add_arguments(self, parser):
        parser.add_argument("report", choices=REPORTS)
        parser.add_argument("--company", required=True, help="the client company's slug")
        parser.add_argument("--from", dest="date_from", required=True, help="first local day")
        parser.add_argument("--to", dest="date_to", required=True, help="last local day")
        parser.add_argument(
            "--interval",
            default=IntervalSize.MINUTES_60.value,
            choices=IntervalSize.values,
            help="interval report only (default: 60 minutes)",
        )
        parser.add_argument("--queue", help="one queue, by its PBX name")
        parser.add_argument("--format", default="json", choices=("json", "csv"))

    def handle(self, *args, report, company, date_from, date_to, interval, queue, **options):
        found = Company.objects.filter(slug=company).first()
        if found is None:
            raise CommandError(f"--company: no client company with the slug {company!r}")
        queue_ids = ()
        if queue:
            queue_ids = tuple(
                Queue.objects.filter(company=found, code=queue).values_list("pk", flat=True)
            )
            if not queue_ids:
                raise CommandError(f"--queue: {found.slug} has no queue named {queue!r}")
        try:
            report_filter = ReportFilter(
                companies=(found,),
                date_from=_date("--from", date_from),
                date_to=_date("--to", date_to),
                queue_ids=queue_ids,
            )
            if report == "queues":
                result = queue_report(report_filter)
            elif report == "agents":
                result = agent_report(report_filter)
            elif report == "tickets":
                result = ticket_report(report_filter)
            else:
                result = interval_report(report_filter, interval)
        except ReportError as error:
            raise CommandError(str(error)) from None
        if options["format"] == "csv" and report == "tickets":
            # One file, one byte-order mark: the second table goes without its own.
            channels, tiers = (csv_text(table) for table in result.tables())
            self.stdout.write(channels + "\r\n" + tiers.removeprefix("\ufeff"), ending="")
        elif options["format"] == "csv":
            self.stdout.write(csv_text(result.table()), ending="")
        else:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
