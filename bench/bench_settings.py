"""The production settings plus one bench-only URL (`bench/bare/`): see bench_urls.py.

ingest.py starts gunicorn with DJANGO_SETTINGS_MODULE=bench_settings, so that the bare endpoint
is served by the same server, workers, middleware and connection pool as the PBX webhook.
"""

from contactcenter.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
