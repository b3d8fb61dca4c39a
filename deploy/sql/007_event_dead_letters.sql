-- Migration 007: timeline entries PostgreSQL refused for good. A row incident_events can never take (a \u0000 in the
-- payload's jsonb, a value over a column limit) is moved here by the event-log writer with the error, so it cannot
-- hold up the entries queued behind it. Everything is text: the payload is the JSON the writer tried to store (not
-- jsonb, since that is what failed), with NUL written as the visible escape \u0000 and over-long values clipped.
-- An operator fixes a row into incident_events and then deletes it here, so this table is not append-only.

CREATE TABLE IF NOT EXISTS incident_event_dead_letters
(
    id          bigserial   PRIMARY KEY,
    incident_id text        NOT NULL,
    seq         integer     NOT NULL,
    kind        text        NOT NULL,
    actor       text        NOT NULL,
    at          timestamptz NOT NULL,
    from_state  text        NOT NULL,
    to_state    text        NOT NULL,
    payload     text        NOT NULL,
    sql_state   varchar(5)  NULL,       -- null when the client could not even encode the row
    error       text        NOT NULL,
    dead_at     timestamptz NOT NULL DEFAULT now()
);

-- A re-sent timeline (a retried batch, a re-activated grain) sets each bad entry aside once.
CREATE UNIQUE INDEX IF NOT EXISTS incident_event_dead_letters_entry ON incident_event_dead_letters (incident_id, seq);
CREATE INDEX IF NOT EXISTS incident_event_dead_letters_dead_at ON incident_event_dead_letters (dead_at);
