-- Audit anchors: signed statements that the audit chain held exactly these records (see domain::audit). Signed
-- with a key kept outside the database, so that whoever controls the database can neither re-hash the chain
-- unnoticed nor forge an anchor. Keep in step with ../postgres/0009_audit_anchors.sql.
CREATE TABLE audit_anchors (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    -- The hashes of the records first_seq..last_seq, 32 raw bytes each, in order.
    hashes BLOB NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER audit_anchors_append_only_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TRIGGER audit_anchors_append_only_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
