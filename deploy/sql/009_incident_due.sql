-- Migration 009: deadlines are data. The last row of each append carries the incident's next due time after it (and
-- the deadline shard the incident belongs to); a row's due time counts only while no later row of the incident exists.
-- Each shard's sweeper reads the due rows of a time window through the partial index below and wakes those incidents,
-- so no incident registers a reminder of its own. Rows written before this migration have no due time: their incidents
-- keep the reminders they registered, which record the due time here on their next firing.

ALTER TABLE incident_events ADD COLUMN IF NOT EXISTS due_at timestamptz;
ALTER TABLE incident_events ADD COLUMN IF NOT EXISTS due_shard smallint;

CREATE INDEX IF NOT EXISTS incident_events_due ON incident_events (due_shard, due_at) WHERE due_at IS NOT NULL;
