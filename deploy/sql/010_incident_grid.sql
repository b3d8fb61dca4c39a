-- Migration 010: a grid rebuilds its open-work index from the timelines when its write-behind snapshot is stale (its
-- last activation ended in a crash). It finds the incidents reported in it through this partial expression index on
-- the Reported rows (one per incident), and keeps those with no Closed or Cancelled row.

CREATE INDEX IF NOT EXISTS incident_events_grid ON incident_events ((payload->'report'->>'gridCode')) WHERE kind = 'Reported';
