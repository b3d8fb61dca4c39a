-- Migration 003: cluster membership for Microsoft.Orleans.Clustering.AdoNet.
-- Every membership change bumps the deployment's version row in the same transaction as the row change, and only if
-- the caller read the version it brings: both happen, or neither does (the function returns 0 and changes nothing).

CREATE TABLE IF NOT EXISTS gd_membership_version
(
    deployment_id varchar(150) NOT NULL PRIMARY KEY,
    version       integer      NOT NULL DEFAULT 0,
    changed_at    timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS gd_membership
(
    deployment_id  varchar(150)  NOT NULL REFERENCES gd_membership_version (deployment_id),
    address        varchar(45)   NOT NULL,
    port           integer       NOT NULL,
    generation     integer       NOT NULL,
    silo_name      varchar(150)  NOT NULL,
    host_name      varchar(150)  NOT NULL,
    status         integer       NOT NULL,
    proxy_port     integer       NULL,
    suspect_times  varchar(8000) NULL,
    start_time     timestamptz   NOT NULL,
    i_am_alive     timestamptz   NOT NULL,
    PRIMARY KEY (deployment_id, address, port, generation)
);

-- Bumps the version if it is still p_version; true when it did.
CREATE OR REPLACE FUNCTION gd_bump_membership_version(p_deployment varchar, p_version integer)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE gd_membership_version SET version = version + 1, changed_at = now()
     WHERE deployment_id = p_deployment AND version = p_version;
    RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION gd_insert_member(
    p_deployment varchar, p_address varchar, p_port integer, p_generation integer, p_silo_name varchar, p_host_name varchar,
    p_status integer, p_proxy_port integer, p_start_time timestamptz, p_i_am_alive timestamptz, p_version integer)
RETURNS TABLE (row_count integer) LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        IF NOT gd_bump_membership_version(p_deployment, p_version) THEN
            RAISE EXCEPTION 'stale membership version' USING ERRCODE = 'GD001';
        END IF;
        INSERT INTO gd_membership (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive)
        VALUES (p_deployment, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port, p_start_time, p_i_am_alive)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'member already present' USING ERRCODE = 'GD001';
        END IF;
        RETURN QUERY SELECT 1;
    EXCEPTION WHEN SQLSTATE 'GD001' THEN
        -- The block's subtransaction is rolled back: the version bump is undone too.
        RETURN QUERY SELECT 0;
    END;
END
$$;

CREATE OR REPLACE FUNCTION gd_update_member(
    p_deployment varchar, p_address varchar, p_port integer, p_generation integer,
    p_status integer, p_suspect_times varchar, p_i_am_alive timestamptz, p_version integer)
RETURNS TABLE (row_count integer) LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        IF NOT gd_bump_membership_version(p_deployment, p_version) THEN
            RAISE EXCEPTION 'stale membership version' USING ERRCODE = 'GD001';
        END IF;
        UPDATE gd_membership
           SET status = p_status, suspect_times = p_suspect_times, i_am_alive = p_i_am_alive
         WHERE deployment_id = p_deployment AND address = p_address AND port = p_port AND generation = p_generation;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no such member' USING ERRCODE = 'GD001';
        END IF;
        RETURN QUERY SELECT 1;
    EXCEPTION WHEN SQLSTATE 'GD001' THEN
        RETURN QUERY SELECT 0;
    END;
END
$$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('InsertMembershipVersionKey',
 'WITH inserted AS (INSERT INTO gd_membership_version (deployment_id) VALUES (@DeploymentId) ON CONFLICT DO NOTHING RETURNING 1)
  SELECT count(*)::integer FROM inserted;'),
('InsertMembershipKey',
 'SELECT row_count FROM gd_insert_member(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);'),
('UpdateMembershipKey',
 'SELECT row_count FROM gd_update_member(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version);'),
('UpdateIAmAlivetimeKey',
 'UPDATE gd_membership SET i_am_alive = @IAmAliveTime
   WHERE deployment_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;'),
('MembershipReadRowKey',
 'SELECT v.deployment_id AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
         m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
         m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive AS IAmAliveTime, v.version AS Version
    FROM gd_membership_version v
    LEFT JOIN gd_membership m ON m.deployment_id = v.deployment_id
         AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
   WHERE v.deployment_id = @DeploymentId;'),
('MembershipReadAllKey',
 'SELECT v.deployment_id AS DeploymentId, m.address AS Address, m.port AS Port, m.generation AS Generation,
         m.silo_name AS SiloName, m.host_name AS HostName, m.status AS Status, m.proxy_port AS ProxyPort,
         m.suspect_times AS SuspectTimes, m.start_time AS StartTime, m.i_am_alive AS IAmAliveTime, v.version AS Version
    FROM gd_membership_version v
    LEFT JOIN gd_membership m ON m.deployment_id = v.deployment_id
   WHERE v.deployment_id = @DeploymentId;'),
('DeleteMembershipTableEntriesKey',
 'DELETE FROM gd_membership WHERE deployment_id = @DeploymentId;
  DELETE FROM gd_membership_version WHERE deployment_id = @DeploymentId;'),
('GatewaysQueryKey',
 'SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
    FROM gd_membership
   WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;'),
-- Dead silos (status 6) whose last heartbeat is older than the cut-off are removed.
('CleanupDefunctSiloEntriesKey',
 'DELETE FROM gd_membership
   WHERE deployment_id = @DeploymentId AND status = 6 AND i_am_alive < @IAmAliveTime AND start_time < @IAmAliveTime;'),
-- One dead silo's row, only if it is still exactly as the caller saw it.
('CleanupDefunctSiloEntryKey',
 'DELETE FROM gd_membership
   WHERE deployment_id = @DeploymentId AND status = 6 AND address = @Address AND port = @Port AND generation = @Generation
     AND i_am_alive = @IAmAliveTime AND start_time = @StartTime
     AND COALESCE(suspect_times, '''') = COALESCE(@SuspectTimes, '''');')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
