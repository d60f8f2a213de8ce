"""One real service for the dashboard's tests (the shipped text pipeline, a fresh SQLite audit
database), started once per session with the serve tests' own helper."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from affectlab.serve.settings import ServeSettings
from tests.serve.conftest import Running, free_port, start_server


@dataclass
class Api:
    running: Running
    key: str

    @property
    def url(self) -> str:
        return self.running.url


@pytest.fixture(scope="session")
def api(tmp_path_factory) -> Api:
    folder = tmp_path_factory.mktemp("dashboard_api")
    settings = ServeSettings(database_url=f"sqlite:///{folder / 'audit.db'}", key_cache_s=0, burst=1000,
                             rate_per_minute=100000)
    server, thread, running = start_server(settings)
    yield Api(running, running.key("dashboard"))
    server.should_exit = True
    thread.join(10)
    running.engine.dispose()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    return f"http://127.0.0.1:{free_port()}"
