-- Migration 013: photos (issue 14). A photo is uploaded first, staged (subject NULL: only its uploader may use or see
-- it), and bound for good to the subject of the command that names it: 'incident:{id}', 'task:{id}' or
-- 'household:{id}'. Whoever may read the subject may see the photo. The image is stored re-encoded as JPEG (at most
-- 1600 px on its long side, metadata dropped) with a thumbnail of at most 320 px. Bounds (PhotoLimits): 30 staged
-- photos per uploader, 60 per subject; staged photos older than a day are purged by the API hosts.
CREATE TABLE IF NOT EXISTS photos
(
    id          varchar(40)  COLLATE "C" PRIMARY KEY,
    uploader    varchar(128) COLLATE "C" NOT NULL,
    subject     varchar(140) COLLATE "C",
    size        integer      NOT NULL,
    width       integer      NOT NULL,
    height      integer      NOT NULL,
    uploaded_at timestamptz  NOT NULL,
    image       bytea        NOT NULL,
    thumbnail   bytea        NOT NULL
);

CREATE INDEX IF NOT EXISTS photos_staged ON photos (uploader, uploaded_at) WHERE subject IS NULL;
CREATE INDEX IF NOT EXISTS photos_subject ON photos (subject) WHERE subject IS NOT NULL;
