"""What a long-running server process does once Django is set up, before it serves.

Python's cyclic garbage collector walks every tracked object in a full collection, and in a
server process nearly all of them are the modules, classes and functions loaded at startup,
which live as long as the process. The applier's batches promote enough objects to set off a
full collection every few thousand events: under ingest load each took 48 ms, with the batch
(and its cards) waiting; with startup frozen, 10 ms (bench/README.md, tenth session). The web
processes promote far less, but each such walk would hold a request or every websocket of the
process just as long. `gc.freeze()` moves what exists at startup out of the collector's sight;
what requests and batches make is still collected as before.
"""

import gc


def freeze_loaded() -> int:
    """Free startup's garbage, then freeze what is left. Returns the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def load_views_and_freeze() -> int:
    """For a web server: import every view the URLconf names first, as Django would on the
    first request, so that they are frozen too."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    return freeze_loaded()
