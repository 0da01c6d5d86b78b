"""The real thing in a browser: the ASGI app (pages and websockets) served by uvicorn in a thread
of the test process, and the system's Chromium driven by Playwright.

The server runs in this process so that it sees the test database (PostgreSQL, or SQLite's
shared in-memory database) and the same channel layer; tests use `transactional_db`, since the
server's threads only see committed rows.
"""

import asyncio
import os
import socket
import threading
import time

import pytest
import uvicorn

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AsgiServer:
    """uvicorn on a fixed port in a thread; `restart()` drops every connection, as a deploy or a
    network cut would, and serves again on the same address."""

    def __init__(self, app):
        self.app = self._noting_the_loop(app)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread = None

    def _noting_the_loop(self, app):
        async def noted(scope, receive, send):
            self.loop = asyncio.get_running_loop()
            await app(scope, receive, send)

        return noted

    def run_sync(self, function):
        """Run `function` as the server runs its sync code (in a thread of its event loop, after
        a first request): the in-memory channel layer's pushes reach its consumers only from
        there."""
        from asgiref.sync import sync_to_async

        coroutine = sync_to_async(function)()
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def asgi_server(transactional_db, settings):
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from contactcenter.routing import websocket_urlpatterns

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = AsgiServer(
        ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(get_asgi_application()),
                "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
            }
        )
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def chromium():
    # One browser per test: Playwright's loop must not outlive the test, or the async tests
    # that run after it in the same process find a loop already running.
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test's thread, which makes Django refuse
    # ORM calls from the test itself; the server runs in its own threads, untouched by this.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def new_page(chromium):
    contexts = []

    def open_page():
        context = chromium.new_context(locale="en-US")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_load_state()
