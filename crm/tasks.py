from celery import shared_task

from crm.services.sla import sla_mark_breaches


@shared_task(name="crm.tasks.mark_sla_breaches")
def mark_sla_breaches() -> int:
    return sla_mark_breaches()
