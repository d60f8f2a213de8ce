"""Prometheus metrics of one app: requests by path and status, latency, audit commits."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

#: Paths worth a label of their own; anything else is counted as "other" (no unbounded labels).
KNOWN_PATHS = ("/v1/predict", "/v1/audio", "/v1/audit", "/v1/pipelines", "/v1/admin/reload", "/health", "/ready", "/metrics")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("affectlab_requests_total", "HTTP requests", ["path", "status"], registry=self.registry)
        self.latency = Histogram("affectlab_request_seconds", "HTTP request latency", ["path"], registry=self.registry,
                                 buckets=(0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.commits = Counter("affectlab_audit_commits_total", "audit transactions committed", registry=self.registry)
        self.records = Counter("affectlab_audit_records_total", "audit records committed", registry=self.registry)
        self._seen = (0, 0)

    def observe(self, path: str, status: int, seconds: float) -> None:
        path = path if path in KNOWN_PATHS else "other"
        self.requests.labels(path, str(status)).inc()
        self.latency.labels(path).observe(seconds)

    def render(self, writer) -> bytes:
        if writer is not None:  # the writer counts; the counters catch up here
            commits, records = writer.commits, writer.records
            self.commits.inc(commits - self._seen[0])
            self.records.inc(records - self._seen[1])
            self._seen = (commits, records)
        return generate_latest(self.registry)
