"""Periodic jobs for the embedded set-up (`make run`), where no Celery beat or worker runs.

Runs every job of CELERY_BEAT_SCHEDULE in this process at its interval. In production run
`celery -A contactcenter beat` and a worker instead.
"""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contactcenter.celery import app

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic jobs of CELERY_BEAT_SCHEDULE in-process (embedded set-up only)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once and stop.")

    def handle(self, *args, once: bool = False, **options):
        app.loader.import_default_modules()  # autodiscovery is lazy outside a worker
        jobs = []
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            interval = entry["schedule"]
            if not isinstance(interval, int | float):
                raise CommandError(f"{name}: only intervals in seconds are supported here")
            jobs.append((name, entry["task"], float(interval)))
        due = dict.fromkeys((name for name, _, _ in jobs), 0.0)
        while True:
            now = time.monotonic()
            for name, task, interval in jobs:
                if due[name] <= now:
                    due[name] = now + interval
                    try:
                        result = app.tasks[task].apply().get()
                    except Exception:
                        log.exception("periodic job %s failed", name)
                    else:
                        if result:  # a job that found nothing to do stays quiet
                            self.stdout.write(f"{name}: {result}")
            if once:
                return
            time.sleep(max(0.5, min(due.values()) - time.monotonic()))
