-- GridDispatch schema, migration 001: the table of named queries the Orleans ADO.NET providers read at start-up.
-- Written for GridDispatch against the providers' contract (query keys, parameter names, result columns);
-- the migrations that follow fill it.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL PRIMARY KEY,
    QueryText varchar(8000) NOT NULL
);
