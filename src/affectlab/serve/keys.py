"""API keys: ``al_<key id>_<secret>``, shown once at creation; the database keeps the key id,
the tenant, the scope and the secret's SHA-256 only, compared in constant time."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import AffectLabError
from .tables import api_keys

PREFIX = "al"


class KeyAdminError(AffectLabError):
    """A key operation a user asked for cannot be done (unknown key id, bad tenant name)."""


@dataclass(frozen=True)
class Caller:
    """Who a valid key belongs to."""

    key_id: str
    tenant: str
    admin: bool


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(engine: Engine, tenant: str, admin: bool = False) -> tuple[str, str]:
    """A new key for ``tenant``: returns ``(key id, full key)``; the full key is not stored."""
    tenant = tenant.strip()
    if not tenant or len(tenant) > 200:
        raise KeyAdminError("give a tenant name of 1-200 characters (--tenant NAME)")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(api_keys.insert().values(
            key_id=key_id, tenant=tenant, secret_hash=_digest(secret), admin=admin,
            created_at=datetime.now(timezone.utc), revoked_at=None))
    return key_id, f"{PREFIX}_{key_id}_{secret}"


def revoke_key(engine: Engine, key_id: str) -> None:
    with engine.begin() as connection:
        done = connection.execute(api_keys.update().where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                                  .values(revoked_at=datetime.now(timezone.utc)))
    if done.rowcount == 0:
        raise KeyAdminError(f"no active key {key_id!r} (affectlab keys list shows them)")


def list_keys(engine: Engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(api_keys.c.key_id, api_keys.c.tenant, api_keys.c.admin,
                                            api_keys.c.created_at, api_keys.c.revoked_at)
                                  .order_by(api_keys.c.created_at)).mappings().all()
    return [dict(r) for r in rows]


def _parse(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyStore:
    """Checks keys against the database, remembering verified keys for a few seconds (a revoked
    key stops working within ``ttl_s``; the check itself stays constant-time)."""

    def __init__(self, engine: Engine, ttl_s: float = 2.0) -> None:
        self.engine, self.ttl_s = engine, ttl_s
        self._cache: dict[str, tuple[float, tuple[str, bool, str] | None]] = {}

    def verify(self, key: str | None) -> Caller | None:
        import time

        parsed = _parse(key or "")
        if parsed is None:
            return None
        key_id, secret = parsed
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is None or now - cached[0] > self.ttl_s:
            with self.engine.connect() as connection:
                row = connection.execute(sa.select(api_keys.c.tenant, api_keys.c.admin, api_keys.c.secret_hash)
                                         .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))).first()
            cached = (now, (row.tenant, bool(row.admin), row.secret_hash) if row else None)
            self._cache[key_id] = cached
        record = cached[1]
        expected = record[2] if record else _digest("")  # compare anyway: no timing difference
        if not hmac.compare_digest(_digest(secret), expected) or record is None:
            return None
        return Caller(key_id, record[0], record[1])
