-- Gridline core schema (SQLite). Keep in step with ../postgres/0001_core.sql: same tables, columns and meaning.
-- Times are Unix milliseconds UTC; ids are 64-bit integers; structured values are JSON text; paths are
-- jurisdiction paths such as '/1/4/9/', compared as bytes.

-- The heads of the two append-only sequences: the last event number, and the last audit record with its hash.
CREATE TABLE chain_heads (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    event_seq INTEGER NOT NULL,
    audit_seq INTEGER NOT NULL,
    audit_hash TEXT NOT NULL
);
INSERT INTO chain_heads (id, event_seq, audit_seq, audit_hash)
VALUES (1, 0, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE jurisdictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES jurisdictions(id),
    level TEXT NOT NULL,
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT,
    path TEXT NOT NULL,
    timezone TEXT NOT NULL,
    boundary TEXT,
    min_lon REAL,
    min_lat REAL,
    max_lon REAL,
    max_lat REAL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT jurisdictions_code_key UNIQUE (code)
);
CREATE INDEX jurisdictions_path ON jurisdictions (path);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_id);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    sector TEXT,
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    parent_id INTEGER REFERENCES organizations(id),
    contact_phone TEXT,
    contact_email TEXT,
    address TEXT,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT organizations_code_key UNIQUE (code)
);
CREATE INDEX organizations_path ON organizations (path);
CREATE INDEX organizations_jurisdiction ON organizations (jurisdiction_id);

CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    roles TEXT NOT NULL,
    skills TEXT NOT NULL,
    credentials TEXT NOT NULL,
    next_credential_expiry TEXT,
    home_lon REAL,
    home_lat REAL,
    base_lon REAL,
    base_lat REAL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX members_path ON members (path);
CREATE INDEX members_organization ON members (organization_id);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    tier TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    leader_member_id INTEGER REFERENCES members(id),
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX teams_path ON teams (path);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id),
    PRIMARY KEY (team_id, member_id)
);
CREATE INDEX team_members_member ON team_members (member_id);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    locale TEXT NOT NULL,
    member_id INTEGER REFERENCES members(id),
    disabled INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT accounts_username_key UNIQUE (username)
);

CREATE TABLE account_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    jurisdiction_id INTEGER REFERENCES jurisdictions(id),
    organization_id INTEGER REFERENCES organizations(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX account_grants_account ON account_grants (account_id);

-- Sign-in sessions: only the SHA-256 of the cookie's token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- API tokens for machines: only the SHA-256 of the token is stored; `prefix` identifies it to its owner.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    CONSTRAINT api_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- Failed sign-ins per key (a username, or a client address), for rate limiting across nodes.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);

-- The event stream: every state change, in commit order.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT,
    actor_account_id INTEGER,
    path TEXT,
    organization_id INTEGER,
    classification TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject_type, subject_id, seq);

-- The audit log: who did or saw what; hash-chained (see domain::audit).
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_account_id INTEGER,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    purpose TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log (actor_account_id);

-- Events and audit records are append-only: the database itself refuses changes, and the audit chain detects
-- changes made by someone who bypasses this (for example by dropping the trigger).
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
