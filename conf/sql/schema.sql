-- devprov: the allowlist in a database, for DevprovAllowlistSQL.
-- Runs unchanged on PostgreSQL and SQLite:
--     psql -d provisioning -f schema.sql        sqlite3 phones.db < schema.sql
--
-- The query devprov runs (conf/sites/provisioning.conf) reads the columns by
-- name: "allowed" (must be true), "label" (DEVICE_LABEL), "pin" and "vendor"
-- (enforced by devprov as on an allowlist line) and any other column as the
-- attribute DEVICE_ATTR_<NAME>.  NULL means "not set".  Values follow the
-- allowlist file's rules: 1-128 characters of A-Z a-z 0-9 . _ : @ / + -.

CREATE TABLE phones (
    mac        CHAR(12) PRIMARY KEY        -- 12 lower-case hex digits, as DEVICE_MAC
               CHECK (length(mac) = 12 AND mac = lower(mac)),
    label      VARCHAR(128),
    pin        VARCHAR(71),                -- sha256:<64 hex digits> for a pinned phone
    vendor     VARCHAR(32),                -- only this vendor's certificates match
    ext        VARCHAR(128),
    sip_server VARCHAR(128),
    username   VARCHAR(128) UNIQUE,        -- a password phone's user name
                                           -- (DevprovUserIdentity, users=)
    allowed    BOOLEAN NOT NULL DEFAULT TRUE  -- false: kept on record, shut out
);

-- PostgreSQL: give Apache a role that can only read this table, e.g.
--     CREATE ROLE devprov LOGIN PASSWORD '...';
--     GRANT SELECT ON phones TO devprov;
