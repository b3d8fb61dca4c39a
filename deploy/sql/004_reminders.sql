-- Migration 004: reminders for Microsoft.Orleans.Reminders.AdoNet. Deadlines of incidents live here, so they fire
-- after any restart. "version" is the reminder's ETag; grain_hash places it in the ring for range reads.

CREATE TABLE IF NOT EXISTS gd_reminder
(
    service_id    varchar(150) NOT NULL,
    grain_id      varchar(150) NOT NULL,
    reminder_name varchar(150) NOT NULL,
    start_time    timestamptz  NOT NULL,
    period_ms     bigint       NOT NULL,
    grain_hash    integer      NOT NULL,
    version       integer      NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX IF NOT EXISTS gd_reminder_ring ON gd_reminder (service_id, grain_hash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('UpsertReminderRowKey',
 'INSERT INTO gd_reminder (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, version)
  VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
  ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
     SET start_time = EXCLUDED.start_time, period_ms = EXCLUDED.period_ms, grain_hash = EXCLUDED.grain_hash,
         version = gd_reminder.version + 1
  RETURNING version AS Version;'),
('ReadReminderRowsKey',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period, version AS Version
    FROM gd_reminder WHERE service_id = @ServiceId AND grain_id = @GrainId;'),
('ReadReminderRowKey',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period, version AS Version
    FROM gd_reminder WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;'),
-- The ring range (begin, end]; when it wraps (begin >= end) it is (begin, max] and [min, end].
('ReadRangeRows1Key',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period, version AS Version
    FROM gd_reminder WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;'),
('ReadRangeRows2Key',
 'SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime, period_ms AS Period, version AS Version
    FROM gd_reminder WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);'),
('DeleteReminderRowKey',
 'WITH deleted AS (DELETE FROM gd_reminder
                    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version
                    RETURNING 1)
  SELECT count(*)::integer FROM deleted;'),
('DeleteReminderRowsKey',
 'DELETE FROM gd_reminder WHERE service_id = @ServiceId;')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
