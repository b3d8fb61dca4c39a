-- Migration 014: the change feed (GET /api/events?since=). Each row records the transaction that wrote it. The feed
-- reads rows in (tx, incident_id, seq) order, and only rows of transactions older than every transaction still running
-- (pg_snapshot_xmin of the current snapshot): such a transaction has committed or aborted, so no row can appear later
-- before a cursor already handed out. Rows written before this migration read as transaction 0, before all others.
-- The constant default makes ADD COLUMN instant (no rewrite of the append-only table); new rows then take their own
-- transaction's id.

ALTER TABLE incident_events ADD COLUMN IF NOT EXISTS tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE incident_events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();

CREATE INDEX IF NOT EXISTS incident_events_feed ON incident_events (tx, incident_id, seq);
