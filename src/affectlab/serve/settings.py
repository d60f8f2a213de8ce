"""What a deployment chooses: where pipelines and the database are, and the limits."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipelines: str | None = Field(None, description="a folder of pipeline directories (each served by its "
                                  "folder name) or one pipeline directory; default: the shipped text pipeline")
    database_url: str = Field("sqlite:///affectlab-audit.db", description="SQLAlchemy URL: SQLite (WAL) or "
                              "postgresql+psycopg://user@host/db")
    store_text: bool = Field(False, description="audit policy: keep each input's text, not only its SHA-256")
    max_text_chars: int = Field(5000, ge=1)
    max_batch: int = Field(64, ge=1, description="texts in one request")
    max_body_bytes: int = Field(1_000_000, ge=1024)
    max_audio_bytes: int = Field(20_000_000, ge=1024, description="an uploaded audio file (POST /v1/audio)")
    max_audio_seconds: float = Field(30.0, gt=0)
    rate_per_minute: int = Field(600, ge=1, description="requests per key per minute (a token bucket)")
    burst: int = Field(60, ge=1, description="requests a key may send at once before the rate applies")
    commit_window_ms: float = Field(0.0, ge=0, description="how long the audit writer waits for more records "
                                    "after the first (0: it commits what has queued; records arriving during "
                                    "a commit form the next group)")
    audit_page_max: int = Field(500, ge=1)
    backend: str = Field("torch", description="torch, onnx or onnx-int8 (pipelines exported with "
                         "affectlab export-onnx)")
    micro_batching: bool = Field(True, description="concurrent requests share one forward pass")
    batch_max: int = Field(32, ge=1, description="micro-batching: texts per forward pass at most")
    batch_wait_ms: float = Field(2.0, ge=0, description="micro-batching: how long a batch waits for company")
    key_cache_s: float = Field(2.0, ge=0, description="a verified key is trusted this long (a revoked key "
                               "stops working within it)")
