"""A real server on loopback: uvicorn in a thread, the shipped text pipeline, a fresh database."""
from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass

import httpx
import pytest

from affectlab.serve.app import create_app
from affectlab.serve.database import make_engine, migrate
from affectlab.serve.keys import create_key
from affectlab.serve.settings import ServeSettings
from tests.waiting import wait_until_up

POSTGRES_URL = os.environ.get("AFFECTLAB_TEST_POSTGRES_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    url: str
    settings: ServeSettings
    engine: object

    def key(self, tenant: str, admin: bool = False) -> str:
        return create_key(self.engine, tenant, admin)[1]

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key} if key else {}, timeout=30)


def start_server(settings: ServeSettings):
    import uvicorn

    engine = make_engine(settings.database_url)
    migrate(engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/ready", 60)
    return server, thread, Running(url, settings, engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Every audit test runs on SQLite and on PostgreSQL (.ci/run starts one; skipped without)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL: set AFFECTLAB_TEST_POSTGRES_URL (.ci/run starts one)")
    import sqlalchemy as sa

    from affectlab.serve.tables import metadata

    engine = make_engine(POSTGRES_URL)
    names = ", ".join([*metadata.tables, "alembic_version"])
    with engine.begin() as connection:  # a clean schema per test
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {names} CASCADE"))
    engine.dispose()
    return POSTGRES_URL


@pytest.fixture
def server(database_url):
    settings = ServeSettings(database_url=database_url, key_cache_s=0, burst=1000, rate_per_minute=100000)
    uv, thread, running = start_server(settings)
    yield running
    uv.should_exit = True
    thread.join(10)
    running.engine.dispose()
