"""An acknowledged prediction is never lost: kill -9 the server under load, then every request
that got a 200 has its audit record in the database."""
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from affectlab.serve.database import make_engine, migrate
from affectlab.serve.keys import create_key
from tests.serve.conftest import free_port
from tests.waiting import wait_until_up

pytestmark = pytest.mark.integration


def test_kill_9_under_load_loses_no_acknowledged_record(database_url, tmp_path):
    engine = make_engine(database_url)
    migrate(engine)
    key = create_key(engine, "acme")[1]
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "affectlab.cli", "serve", "--port", str(port),
                               "--database-url", database_url], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/ready", 90, server, log=lambda: server.stderr.read().decode()[-2000:])
        acknowledged: list[str] = []
        stop = threading.Event()

        def client() -> None:
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10) as http:
                while not stop.is_set():
                    try:
                        answer = http.post("/v1/predict", json={"text": "Oh great, another Monday."})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if answer.status_code == 200:
                        acknowledged.append(answer.json()["request_id"])

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 90
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(server.pid, signal.SIGKILL)  # mid-stream: requests are in flight
        stop.set()
        for thread in threads:
            thread.join(15)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    with engine.connect() as connection:
        stored = {row[0] for row in connection.execute(sa.text("SELECT request_id FROM predictions"))}
    engine.dispose()
    assert len(acknowledged) >= 40
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged predictions were lost"


def test_two_server_processes_share_one_database(database_url):
    """`affectlab serve --workers 2`: two processes, one audit log, one key table."""
    engine = make_engine(database_url)
    migrate(engine)
    key = create_key(engine, "acme")[1]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "affectlab.cli", "serve", "--port", str(port), "--workers", "2",
                               "--database-url", database_url], env={**os.environ, "OMP_NUM_THREADS": "1"},
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/ready", 120, server, log=lambda: server.stderr.read().decode()[-2000:])
        ids = set()
        for i in range(20):  # new connections: the kernel spreads them over both processes
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
                answer = http.post("/v1/predict", json={"text": f"message {i}"})
                assert answer.status_code == 200, answer.text
                ids.add(answer.json()["request_id"])
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
            audited = {r["request_id"] for r in http.get("/v1/audit", params={"limit": 100}).json()["records"]}
        assert audited == ids
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    engine.dispose()
