"""Apply the PBX requests the webhook stored and answered, as they come (PBX_APPLY_IN_WORKER).

Run exactly one beside the web servers in production when PBX_APPLY_IN_WORKER is set; see
telephony/applier.py. Stops cleanly on SIGTERM or Ctrl-C, after the batch it is applying.
"""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from contactcenter.startup import freeze_loaded
from telephony import applier


class Command(BaseCommand):
    help = "Apply the PBX requests the webhook stored (PBX_APPLY_IN_WORKER), as they come."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", type=int, default=applier.BATCH_SIZE, help="requests per transaction"
        )
        parser.add_argument(
            "--pause",
            type=float,
            default=applier.PAUSE_SECONDS,
            help="seconds to let requests gather after a small batch (0: none)",
        )
        parser.add_argument(
            "--once", action="store_true", help="apply what is waiting now, then stop"
        )

    def handle(self, *args, batch: int, pause: float, once: bool, **options):
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        if not once:
            freeze_loaded()
        listening = False
        total = 0
        taken = set()  # since the last wait
        while not self.stopping:
            try:
                if not listening and not once:
                    applier.listen()
                    listening = True
                applied = applier.apply_pending(batch, taken)
            except DatabaseError as error:
                if once:
                    raise
                self.stderr.write(f"database unavailable, retrying in 1 s: {error}")
                connection.close()
                listening = False
                time.sleep(1)
                continue
            total += applied
            if once and not applied:
                break
            if not applied:
                applier.wait(timeout=1.0, applied=taken)
                taken.clear()
            elif not once and (seconds := applier.pause_after(applied, batch, pause)):
                time.sleep(seconds)
        if once:
            self.stdout.write(f"applied {total} requests")

    def _stop(self, *_):
        self.stopping = True
