-- Migration 006: the append-only audit log of commands sent to the API: who (subject, role, the region of their token),
-- what (method and route, target), where it applied (region code), when, from which address, and the result (HTTP
-- status). Administrators query it per region (prefix of the code) and per person.

CREATE TABLE IF NOT EXISTS audit_log
(
    id        bigserial    PRIMARY KEY,
    at        timestamptz  NOT NULL,
    actor     varchar(128) NOT NULL,
    role      varchar(32)  NOT NULL,
    scope     varchar(64)  NOT NULL,
    region    varchar(64)  NOT NULL,
    action    varchar(128) NOT NULL,
    target    varchar(256) NOT NULL,
    address   varchar(64)  NOT NULL,
    status    integer      NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_log_region ON audit_log (region text_pattern_ops, at);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, at);

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

DROP TRIGGER IF EXISTS audit_log_no_rewrite ON audit_log;
CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
