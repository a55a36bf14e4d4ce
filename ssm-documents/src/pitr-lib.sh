# ---- pitr-lib begin: in acgs-wal-archiving and acgs-pitr-restore (ssm-documents/src/pitr-lib.sh) ----
# What a point-in-time restore is checked against: the canary the control plane writes into the application's
# database, and the application's tables with their exact row counts. One definition, so the snapshot a base backup
# takes and the inventory a drill takes of the restored cluster count the same tables in the same way.

# The canary table, in the application's database: one row per canary, written_at stamped by the server.
CANARY_TABLE='public.acgs_ops_canary'
CANARY_DDL="CREATE TABLE IF NOT EXISTS $CANARY_TABLE (id bigserial PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now())"

# One JSON object from one statement (one snapshot): "at" (the statement time, UTC) and "rowCounts" ("schema.table": n)
# for every ordinary or partitioned table (a partition is counted in its parent) of every schema but the system
# ones, the canary excepted (it is pruned, and the drill reads it on its own).
INVENTORY_SQL="SELECT jsonb_build_object('at', to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'rowCounts', coalesce(jsonb_object_agg(n.nspname || '.' || c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint), '{}'::jsonb))::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' AND (n.nspname || '.' || c.relname) <> '$CANARY_TABLE'"

# The canary table's presence (t or f), then, when present, its newest row as JSON: {"newestAt": <UTC time>, "rows": n}.
CANARY_EXISTS_SQL="SELECT to_regclass('$CANARY_TABLE') IS NOT NULL"
CANARY_NEWEST_SQL="SELECT jsonb_build_object('newestAt', to_char(max(written_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'rows', count(*))::text FROM $CANARY_TABLE"
# ---- pitr-lib end ----
