#!/usr/bin/env bash
# Start a throw-away PostgreSQL (Debian's postgresql package; installed if missing) on a local
# port for the audit-log tests, and print the URL the tests read (AFFECTLAB_TEST_POSTGRES_URL).
# Usage: eval "$(.ci/postgres.sh start)"   ...   .ci/postgres.sh stop
set -euo pipefail
PORT=${AFFECTLAB_PG_PORT:-54329}
DATA=${AFFECTLAB_PG_DATA:-/tmp/affectlab-pg}
bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    if [ -z "$(bin_dir)" ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    fi
    BIN=$(bin_dir)
    if [ ! -f "$DATA/PG_VERSION" ]; then
      mkdir -p "$DATA"; [ "$(id -u)" = 0 ] && chown postgres "$DATA"
      as_postgres "$BIN/initdb" -D "$DATA" -U affectlab --auth=trust -E UTF8 >/dev/null
    fi
    if ! as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      as_postgres "$BIN/pg_ctl" -D "$DATA" -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" \
        -l "$DATA/server.log" -w start >/dev/null
    fi
    as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U affectlab affectlab_test 2>/dev/null || true
    echo "export AFFECTLAB_TEST_POSTGRES_URL=postgresql+psycopg://affectlab@127.0.0.1:$PORT/affectlab_test"
    ;;
  stop)
    BIN=$(bin_dir)
    as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    ;;
esac
