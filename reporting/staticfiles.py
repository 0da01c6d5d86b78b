"""plotly.js for the report charts, served from the plotly package as a static file.

No machine of ours may fetch a script from a CDN at run time, and a 4.8 MB copy of a vendored
file in the repository would go stale against the pinned package: this finder hands
`vendor/plotly/plotly.min.js` straight from the installed plotly to `collectstatic` (production)
and to WhiteNoise's finders (development), and nothing else of the package.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "vendor/plotly/plotly.min.js"
_SOURCE = Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=_SOURCE)
        # collectstatic writes each listed file at storage.prefix / path.
        self.storage.prefix = str(Path(PLOTLY_JS).parent)

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_JS:
            return [] if find_all else None
        found = str(_SOURCE / Path(PLOTLY_JS).name)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        yield Path(PLOTLY_JS).name, self.storage
