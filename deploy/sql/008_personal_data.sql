-- Migration 008: reporters' personal data in a table of its own. The timeline (incident_events) keeps only the
-- reporter's id, so a resident's name, phone and address can be erased without rewriting the append-only history.
-- Rows written by earlier versions carried the contact inside the Reported entry's payload: it is moved here and
-- stripped from the payload, the one time the append-only trigger is set aside.

CREATE TABLE IF NOT EXISTS incident_personal_data
(
    incident_id varchar(64)  PRIMARY KEY,
    reporter_id varchar(200),
    name        varchar(200),
    phone       varchar(200),
    address     varchar(200),
    saved_at    timestamptz  NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    erased_by   varchar(128)
);

CREATE INDEX IF NOT EXISTS incident_personal_data_reporter ON incident_personal_data (reporter_id) WHERE reporter_id IS NOT NULL;

INSERT INTO incident_personal_data (incident_id, reporter_id, name, phone, address)
SELECT incident_id,
       payload -> 'report' -> 'reporter' ->> 'id',
       payload -> 'report' -> 'reporter' ->> 'name',
       payload -> 'report' -> 'reporter' ->> 'phone',
       payload -> 'report' -> 'reporter' ->> 'address'
FROM incident_events
WHERE kind = 'Reported'
  AND (payload -> 'report' -> 'reporter') ?| ARRAY['name', 'phone', 'address']
ON CONFLICT (incident_id) DO NOTHING;

ALTER TABLE incident_events DISABLE TRIGGER incident_events_no_rewrite;
UPDATE incident_events
SET payload = payload #- '{report,reporter,name}' #- '{report,reporter,phone}' #- '{report,reporter,address}'
WHERE kind = 'Reported'
  AND (payload -> 'report' -> 'reporter') ?| ARRAY['name', 'phone', 'address'];
ALTER TABLE incident_events ENABLE TRIGGER incident_events_no_rewrite;
