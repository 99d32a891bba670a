-- Audit anchors: signed statements that the audit chain held exactly these records (see domain::audit). Signed
-- with a key kept outside the database, so that whoever controls the database can neither re-hash the chain
-- unnoticed nor forge an anchor. Keep in step with ../sqlite/0009_audit_anchors.sql.
CREATE TABLE audit_anchors (
    first_seq BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    -- The hashes of the records first_seq..last_seq, 32 raw bytes each, in order.
    hashes BYTEA NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
FOR EACH ROW EXECUTE FUNCTION gridline_append_only();
