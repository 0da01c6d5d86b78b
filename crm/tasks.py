from celery import shared_task

from crm.imports import customer_import_run
from crm.services.sla import sla_mark_breaches


@shared_task(name="crm.tasks.mark_sla_breaches")
def mark_sla_breaches() -> int:
    return sla_mark_breaches()


@shared_task(name="crm.tasks.import_customers")
def import_customers(import_id: int, language: str = "") -> str:
    """Apply a large customer file in the background. Safe to deliver twice: a finished import,
    or one another worker is running, is left alone. A failure is recorded on the import (and
    nothing written), not raised, so that the broker does not retry a file that cannot succeed."""
    return customer_import_run(import_id=import_id, language=language or None).state
