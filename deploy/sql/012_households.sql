-- Migration 012: the household register (issue 13). One row per household, keyed by an id derived from its grid,
-- building and unit (so a re-import finds it). A household's id starts with its grid's code ("{grid}-h..."), so a
-- grid's households are a range of the primary key and need no index of their own. The columns are what the register
-- is queried by; "state" holds the whole row as JSON text (not jsonb: converting it was half the database's time of
-- an import, and nothing queries inside it). Keys and codes compare byte-wise (COLLATE "C"): they are ASCII, and
-- buildings and units sort the same on every server whatever its locale.
-- The people of a household, its personal data, live in household_people, blanked on erasure and never copied into
-- the row, the log or an incident. household_log keeps who changed what and why, numbered by the row's version; a
-- household keeps its latest 200 lines, and its registration is in its row. due_at / due_shard work as in
-- incident_events (migration 009): the deadline sweepers wake the households whose due time has come, so no household
-- registers a reminder.

CREATE TABLE IF NOT EXISTS households
(
    id           varchar(32)  COLLATE "C" PRIMARY KEY,
    grid         varchar(15)  COLLATE "C" NOT NULL,
    building     varchar(100) COLLATE "C" NOT NULL,
    unit         varchar(20)  COLLATE "C" NOT NULL DEFAULT '',
    size         smallint     NOT NULL,
    tags         text[]       NOT NULL DEFAULT '{}',
    colour       smallint     NOT NULL DEFAULT 0,
    warning_open boolean      NOT NULL DEFAULT false,
    revisit_due  timestamptz,
    due_at       timestamptz,
    due_shard    smallint     NOT NULL,
    version      integer      NOT NULL,
    updated_at   timestamptz  NOT NULL,
    state        text         NOT NULL
);

CREATE INDEX IF NOT EXISTS households_due ON households (due_shard, due_at) WHERE due_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS household_people
(
    household_id varchar(32)  COLLATE "C" NOT NULL,
    position     smallint     NOT NULL,
    name         varchar(200),
    phone        varchar(200),
    id_number    varchar(200),
    erased_at    timestamptz,
    erased_by    varchar(128),
    PRIMARY KEY (household_id, position)
);

CREATE TABLE IF NOT EXISTS household_log
(
    household_id varchar(32)  COLLATE "C" NOT NULL,
    seq          integer      NOT NULL,
    at           timestamptz  NOT NULL,
    actor        varchar(128) NOT NULL,
    kind         varchar(32)  NOT NULL,
    what         text         NOT NULL,
    PRIMARY KEY (household_id, seq)
);

CREATE TABLE IF NOT EXISTS household_buildings
(
    grid     varchar(15)  COLLATE "C" NOT NULL,
    name     varchar(100) COLLATE "C" NOT NULL,
    address  varchar(200),
    floors   smallint,
    PRIMARY KEY (grid, name)
);
