import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
application = get_wsgi_application()

from contactcenter.startup import load_views_and_freeze  # noqa: E402 - needs the app registry loaded

load_views_and_freeze()
