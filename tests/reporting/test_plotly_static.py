from pathlib import Path

import plotly
from django.contrib.staticfiles import finders
from django.core.management import call_command

from reporting.staticfiles import PLOTLY_JS


def test_plotly_js_is_found_in_the_installed_package():
    found = Path(finders.find(PLOTLY_JS))
    assert found == Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert found.read_bytes().startswith(b"/**\n* plotly.js v")


def test_collectstatic_copies_plotly_js_and_nothing_else_of_the_package(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    assert sorted(p.name for p in (tmp_path / "vendor" / "plotly").iterdir()) == ["plotly.min.js"]
    assert not (tmp_path / "datasets").exists()
