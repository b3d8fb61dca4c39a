-- Migration 005: the append-only incident event log. Every timeline entry of every incident is one row; the primary
-- key (incident, sequence) makes appends idempotent, so an entry written twice (a retried batch, a re-activated grain
-- re-sending its timeline) is stored once. Reports, KPIs and the audit trail read this table.

CREATE TABLE IF NOT EXISTS incident_events
(
    incident_id varchar(64) NOT NULL,
    seq         integer     NOT NULL,
    kind        varchar(32) NOT NULL,
    actor       varchar(128) NOT NULL,
    at          timestamptz NOT NULL,
    from_state  varchar(16) NOT NULL,
    to_state    varchar(16) NOT NULL,
    payload     jsonb       NOT NULL,
    logged_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, seq)
);

CREATE INDEX IF NOT EXISTS incident_events_at ON incident_events (at);
CREATE INDEX IF NOT EXISTS incident_events_kind_at ON incident_events (kind, at);

-- Intake idempotency, enforced here too: one incident per (source, external id).
CREATE UNIQUE INDEX IF NOT EXISTS incident_events_intake_key
    ON incident_events ((payload -> 'report' ->> 'source'), (payload -> 'report' ->> 'externalId'))
    WHERE kind = 'Reported' AND payload -> 'report' ->> 'externalId' IS NOT NULL;

-- Nothing may rewrite history: updates and deletes are refused.
CREATE OR REPLACE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incident_events is append-only';
END
$$;

DROP TRIGGER IF EXISTS incident_events_no_rewrite ON incident_events;
CREATE TRIGGER incident_events_no_rewrite BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_append_only();
