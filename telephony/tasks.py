from celery import shared_task

from telephony.presence import wrap_ups_expire


@shared_task(name="telephony.tasks.end_expired_wrap_ups")
def end_expired_wrap_ups() -> int:
    return wrap_ups_expire()
