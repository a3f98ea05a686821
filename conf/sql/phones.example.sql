-- The phones of conf/allowlist.example, for the database allowlist.
INSERT INTO phones (mac, label, ext, sip_server, vendor) VALUES
    ('0004f2000001', 'reception',      '201', 'pbx.example.com', 'polycom'),
    ('0004f2000002', 'warehouse-desk', '202', 'pbx.example.com', 'polycom');
INSERT INTO phones (mac, label, ext) VALUES
    ('0004f2000006', 'meeting-room-3', '203');
INSERT INTO phones (mac, label) VALUES
    ('0004f2abcdef', 'lobby');
-- a phone without a factory certificate, pinned by its built-in
-- certificate's SHA-256 fingerprint (see DevprovEnrol to collect them)
INSERT INTO phones (mac, label, pin) VALUES
    ('0004f2000099', 'lab-phone',
     'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
