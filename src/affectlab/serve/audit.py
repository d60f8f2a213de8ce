"""The audit log: every prediction recorded before its response is sent, with group commit.

Requests hand their records to one writer thread and wait. The writer takes what has queued up
(up to ``max_group`` records; with ``window_ms`` > 0 it also waits that long after the first),
inserts them in one transaction, commits, and only then wakes every request of the group;
records that arrive during a commit form the next group, so under load one commit serves many
requests and a lone request waits for nothing but its own commit. An acknowledged
prediction is therefore on disk (SQLite WAL / PostgreSQL) even if the process is killed the
next instant, while one commit serves many concurrent requests. A failed commit fails exactly
the requests of its group (the service answers 503), never silently drops them.
"""
from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .tables import conversation_turns, predictions


@dataclass
class AuditRecord:
    tenant: str
    request_id: str
    pipeline: str
    pipeline_version: str
    text: str | bytes  # the input: a text, or an uploaded file's bytes (hashed, never stored)
    outputs: dict[str, Any]
    latency_ms: float
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def row(self, store_text: bool, naive_utc: bool) -> dict[str, Any]:
        return {"tenant": self.tenant, "created_at": db_time(self.created_at, naive_utc), "request_id": self.request_id,
                "pipeline": self.pipeline, "pipeline_version": self.pipeline_version,
                "input_sha256": hashlib.sha256(self.text.encode("utf-8") if isinstance(self.text, str)
                                               else self.text).hexdigest(),
                "input_text": self.text if store_text and isinstance(self.text, str) else None,
                "outputs": json.dumps(self.outputs, ensure_ascii=False, separators=(",", ":")),
                "latency_ms": float(self.latency_ms)}


class AuditWriter:
    """One thread that commits queued records in groups; ``submit`` returns a future that is
    done once the record's transaction has committed."""

    def __init__(self, engine: Engine, store_text: bool = False, window_ms: float = 0.0, max_group: int = 512) -> None:
        self.engine, self.store_text = engine, store_text
        self.window_s, self.max_group = window_ms / 1000.0, max_group
        self._queue: queue.Queue[tuple[list[AuditRecord], list[dict], Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="affectlab-audit-writer", daemon=True)
        self.commits = 0
        self.records = 0
        self._thread.start()

    def submit(self, records: list[AuditRecord], turns: list[dict] | None = None) -> Future:
        """Queue records (and conversation turns, committed with them); the future is done once
        they are committed."""
        future: Future = Future()
        self._queue.put((records, list(turns or []), future))
        return future

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            deadline = time.monotonic() + self.window_s
            while sum(len(r) for r, _, _ in group) < self.max_group:
                remaining = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[tuple[list[AuditRecord], list[dict], Future]]) -> None:
        naive = self.engine.dialect.name == "sqlite"
        rows = [record.row(self.store_text, naive) for records, _, _ in group for record in records]
        turns = [{**turn, "created_at": db_time(turn["created_at"], naive)} for _, ts, _ in group for turn in ts]
        try:
            with self.engine.begin() as connection:
                if rows:
                    connection.execute(predictions.insert(), rows)
                if turns:
                    connection.execute(conversation_turns.insert(), turns)
        except Exception as error:  # the database is down or full: these requests fail, loudly
            for _, _, future in group:
                future.set_exception(error)
            return
        self.commits += 1
        self.records += len(rows)
        for _, _, future in group:
            future.set_result(None)


def db_time(moment: datetime, naive_utc: bool) -> datetime:
    """A time as the database keeps it: UTC, without tzinfo on SQLite (which stores no zone)."""
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.replace(tzinfo=None) if naive_utc else moment


def read_audit(engine: Engine, tenant: str, since: datetime | None = None, until: datetime | None = None,
               after_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """A tenant's own records, oldest first, ``limit`` after record ``after_id`` (pagination)."""
    naive = engine.dialect.name == "sqlite"
    query = sa.select(predictions).where(predictions.c.tenant == tenant)
    if since is not None:
        query = query.where(predictions.c.created_at >= db_time(since, naive))
    if until is not None:
        query = query.where(predictions.c.created_at < db_time(until, naive))
    if after_id is not None:
        query = query.where(predictions.c.id > after_id)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(predictions.c.id).limit(limit)).mappings().all()
    out = []
    for row in rows:
        record = dict(row)
        record["outputs"] = json.loads(record["outputs"])
        created = record["created_at"]
        if created.tzinfo is None:  # SQLite hands back naive datetimes
            created = created.replace(tzinfo=timezone.utc)
        record["created_at"] = created.isoformat()
        out.append(record)
    return out


def conversation_history(engine: Engine, tenant: str, conversation_id: str, turns: int) -> list[dict[str, Any]]:
    """The last ``turns`` turns of a tenant's conversation, oldest first."""
    query = (sa.select(conversation_turns.c.speaker, conversation_turns.c.text)
             .where(conversation_turns.c.tenant == tenant, conversation_turns.c.conversation_id == conversation_id)
             .order_by(conversation_turns.c.id.desc()).limit(turns))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [dict(r) for r in reversed(rows)]
