-- Migration 002: grain state for Microsoft.Orleans.Persistence.AdoNet.
-- One row per grain and service; "version" is the ETag: every successful write bumps it, and a write that brings a
-- stale version changes nothing and returns the stale version, which the provider reports as a conflict.

CREATE TABLE IF NOT EXISTS gd_grain_state
(
    service_id       varchar(150) NOT NULL,
    grain_type_hash  integer      NOT NULL,
    grain_type       varchar(512) NOT NULL,
    grain_id_hash    integer      NOT NULL,
    grain_id_n0      bigint       NOT NULL,
    grain_id_n1      bigint       NOT NULL,
    grain_key_ext    varchar(512) NULL,
    payload          bytea        NULL,
    version          integer      NOT NULL,
    modified_at      timestamptz  NOT NULL DEFAULT now()
);

-- The identity of a grain's row; the extension string may be null, so it is folded to '' for uniqueness.
CREATE UNIQUE INDEX IF NOT EXISTS gd_grain_state_identity
    ON gd_grain_state (service_id, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, grain_type, COALESCE(grain_key_ext, ''));

CREATE OR REPLACE FUNCTION gd_write_grain_state(
    p_grain_id_hash integer, p_grain_id_n0 bigint, p_grain_id_n1 bigint, p_grain_type_hash integer,
    p_grain_type varchar, p_grain_key_ext varchar, p_service_id varchar, p_expected_version integer, p_payload bytea)
RETURNS TABLE (NewGrainStateVersion integer)
LANGUAGE plpgsql AS $$
DECLARE
    written integer;
BEGIN
    IF p_expected_version IS NULL THEN
        -- First write: only if no row exists yet.
        INSERT INTO gd_grain_state (service_id, grain_type_hash, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_key_ext, payload, version)
        VALUES (p_service_id, p_grain_type_hash, p_grain_type, p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_key_ext, p_payload, 1)
        ON CONFLICT DO NOTHING
        RETURNING version INTO written;
    ELSE
        UPDATE gd_grain_state s
           SET payload = p_payload, version = s.version + 1, modified_at = now()
         WHERE s.service_id = p_service_id AND s.grain_type_hash = p_grain_type_hash AND s.grain_id_hash = p_grain_id_hash
           AND s.grain_id_n0 = p_grain_id_n0 AND s.grain_id_n1 = p_grain_id_n1 AND s.grain_type = p_grain_type
           AND COALESCE(s.grain_key_ext, '') = COALESCE(p_grain_key_ext, '')
           AND s.version = p_expected_version
        RETURNING s.version INTO written;
    END IF;

    -- On a lost race the caller's own version comes back, and the provider raises an inconsistent-state error.
    RETURN QUERY SELECT COALESCE(written, p_expected_version);
END
$$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('WriteToStorageKey',
 'SELECT NewGrainStateVersion FROM gd_write_grain_state(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary);'),
('ReadFromStorageKey',
 'SELECT payload AS PayloadBinary, modified_at AS ModifiedOn, version AS Version
    FROM gd_grain_state
   WHERE service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
     AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
     AND COALESCE(grain_key_ext, '''') = COALESCE(@GrainIdExtensionString, '''');'),
('ClearStorageKey',
 'UPDATE gd_grain_state
     SET payload = NULL, version = version + 1, modified_at = now()
   WHERE service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
     AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
     AND COALESCE(grain_key_ext, '''') = COALESCE(@GrainIdExtensionString, '''')
     AND version = @GrainStateVersion
  RETURNING version AS NewGrainStateVersion;'),
('DeleteStorageKey',
 'DELETE FROM gd_grain_state
   WHERE service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
     AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
     AND COALESCE(grain_key_ext, '''') = COALESCE(@GrainIdExtensionString, '''')
     AND version = @GrainStateVersion
  RETURNING version + 1 AS NewGrainStateVersion;')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
