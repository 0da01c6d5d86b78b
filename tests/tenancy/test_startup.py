"""The web servers' entry points load the views and freeze what startup loaded, so that the
garbage collector's full collections no longer walk it while requests wait."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _probe(load: str, settings_module: str | None = None) -> list[str]:
    """In a fresh interpreter, after `load`: whether more than 10,000 objects are frozen, and
    whether the webhook's and the CRM's views are imported."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    if settings_module:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import gc, sys; {load}; print(gc.get_freeze_count() > 10000, "
            "'telephony.webhooks' in sys.modules, 'crm.views' in sys.modules)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("module", ["contactcenter.wsgi", "contactcenter.asgi"])
def test_a_server_entry_point_freezes_startup_with_the_views_loaded(module):
    assert _probe(f"import {module}") == ["True", "True", "True"]


def test_without_the_entry_point_nothing_is_frozen_or_loaded_early():
    """The probe's baseline: Django's setup alone freezes nothing and imports no views."""
    assert _probe("import django; django.setup()", "contactcenter.settings") == [
        "False",
        "False",
        "False",
    ]
