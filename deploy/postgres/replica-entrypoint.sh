#!/bin/sh
# The streaming replica: on first start, copy the primary with pg_basebackup (-R writes
# standby.signal and primary_conninfo; -C -S creates a replication slot, so the primary keeps the
# WAL the replica has not received yet), then run PostgreSQL as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres -p 5432 -q; do sleep 1; done
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h postgres -p 5432 -U replicator -D "$PGDATA" \
    -R -X stream -C -S tdplan_replica --checkpoint=fast
  chmod 0700 "$PGDATA"
fi
# hot_standby_feedback: long reads (a whatIf snapshot) are not cancelled by replay conflicts.
exec postgres -c hot_standby=on -c hot_standby_feedback=on
