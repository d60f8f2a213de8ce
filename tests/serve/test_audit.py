"""The audit writer: a record's future resolves only after its commit; concurrent records share
commits; a failed commit fails exactly its requests."""
import threading

import sqlalchemy as sa

from affectlab.serve.audit import AuditRecord, AuditWriter, read_audit
from affectlab.serve.database import make_engine, migrate


def _record(i: int, tenant: str = "acme") -> AuditRecord:
    return AuditRecord(tenant, f"r{i}", "default", "v1", f"text {i}", {"label": "joy"}, 1.0)


def test_resolved_records_are_committed_and_concurrent_ones_share_commits(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    writer = AuditWriter(engine, store_text=True)
    futures = []
    start = threading.Barrier(16)

    def submit(i):
        start.wait()
        futures.append(writer.submit([_record(i)]))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for future in futures:
        future.result(timeout=10)
    with engine.connect() as connection:  # resolved means committed: a fresh connection sees every one
        assert connection.execute(sa.text("SELECT COUNT(*) FROM predictions")).scalar() == 16
    assert writer.records == 16 and writer.commits <= 16
    rows = read_audit(engine, "acme", limit=100)
    assert sorted(r["input_text"] for r in rows) == sorted(f"text {i}" for i in range(16))  # store_text policy
    writer.close()
    engine.dispose()


def test_a_failed_commit_fails_its_requests(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")  # never migrated: the insert fails
    writer = AuditWriter(engine)
    import pytest

    with pytest.raises(Exception, match="predictions"):
        writer.submit([_record(1)]).result(timeout=10)
    writer.close()
