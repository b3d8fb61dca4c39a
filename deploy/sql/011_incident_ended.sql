-- Migration 011: the rows that end an incident (Closed, Cancelled), so the open-incidents query of a grid's rebuild
-- (migration 010) tests "has this incident ended?" with one index probe instead of reading all of its rows.

CREATE INDEX IF NOT EXISTS incident_events_ended ON incident_events (incident_id) WHERE to_state IN ('Closed', 'Cancelled');
