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

-- DevprovFleetSQL: what the servers saw of each phone, one row per phone,
-- shared by every Apache server that writes it (one fleet view for N
-- servers).  Each server writes a phone at most once per interval= (default
-- 300 s) per Apache process, so last_seen is at most that old and "writes"
-- counts those writes, not requests.  A write that fails is dropped and
-- logged; it never changes what the phone is answered.
CREATE TABLE phone_seen (
    mac           CHAR(12) PRIMARY KEY,    -- as DEVICE_MAC
    first_seen    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_seen     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    server        VARCHAR(255),            -- the ServerName that saw it last
    client        VARCHAR(64),             -- its address (mod_remoteip's)
    user_agent    VARCHAR(255),
    vendor        VARCHAR(32),             -- DEVICE_VENDOR
    identified_by VARCHAR(16),             -- certificate, pin or password
    not_after     VARCHAR(20),             -- its certificate's, ISO 8601 UTC
    validity      VARCHAR(16),             -- valid, expired, not-yet-valid
    last_refused  VARCHAR(32),             -- reason= of the last refusal
                                           -- written (NULL: never refused)
    last_status   INTEGER,                 -- HTTP status of the last write
    writes        INTEGER NOT NULL DEFAULT 1
);

-- The statement for DevprovFleetSQL (one line in the configuration; the
-- test suite reads it from here).  Its ten %s are always, in this order:
-- mac, server, client, user_agent, vendor, identified_by, not_after,
-- validity, refused (reason= or empty), status.  SQLite 3.24 or later.
-- BEGIN DevprovFleetSQL
-- INSERT INTO phone_seen (mac, server, client, user_agent, vendor,
--     identified_by, not_after, validity, last_refused, last_status)
-- VALUES (%s, %s, %s, NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''),
--     NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, ''), CAST(%s AS INTEGER))
-- ON CONFLICT (mac) DO UPDATE SET last_seen = CURRENT_TIMESTAMP,
--     server = excluded.server, client = excluded.client,
--     user_agent = excluded.user_agent, vendor = excluded.vendor,
--     identified_by = excluded.identified_by,
--     not_after = excluded.not_after, validity = excluded.validity,
--     last_refused = COALESCE(excluded.last_refused,
--                             phone_seen.last_refused),
--     last_status = excluded.last_status, writes = phone_seen.writes + 1
-- END DevprovFleetSQL
--
-- PostgreSQL: the role needs to write this table only, e.g.
--     GRANT SELECT, INSERT, UPDATE ON phone_seen TO devprov;
