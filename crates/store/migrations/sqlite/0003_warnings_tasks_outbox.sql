-- Households, the vulnerable-resident register, warnings, the delivery outbox, acknowledgements and tasks (SQLite).
-- Keep in step with ../postgres/0003_warnings_tasks_outbox.sql.

-- Where an organization's own systems receive machine messages (warnings, tasks), and the secret that signs them.
ALTER TABLE organizations ADD COLUMN webhook_url TEXT;
ALTER TABLE organizations ADD COLUMN webhook_secret TEXT;

-- Installation-wide secrets and settings shared by every node (for example the key that signs acknowledgement links).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Registered households: who lives where. Address and phone are personal data.
CREATE TABLE households (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    code TEXT NOT NULL,
    address TEXT,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    residents INTEGER NOT NULL,
    phone TEXT,
    email TEXT,
    language TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT households_code_key UNIQUE (code)
);
CREATE INDEX households_path ON households (path);
CREATE INDEX households_updated ON households (updated_at, id);
CREATE INDEX members_updated ON members (updated_at, id);

-- The vulnerable-resident register (ERL Art. 11): only with consent; needs are confidential.
CREATE TABLE vulnerable_residents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id INTEGER NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    needs TEXT NOT NULL,
    consent_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT vulnerable_residents_household_key UNIQUE (household_id)
);

-- Warnings and their lifecycle. `area` is GeoJSON (a MultiPolygon, or a Point with `radius_m` for circles).
CREATE TABLE warnings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL,
    sender TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    cap_status TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    level TEXT NOT NULL,
    category TEXT NOT NULL,
    event TEXT NOT NULL,
    headline_zh TEXT NOT NULL,
    headline_en TEXT,
    description_zh TEXT NOT NULL,
    description_en TEXT,
    instruction_zh TEXT NOT NULL,
    instruction_en TEXT,
    area_desc TEXT NOT NULL,
    area TEXT NOT NULL,
    path TEXT NOT NULL,
    effective_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    sent_at INTEGER,
    references_text TEXT,
    replaces_id INTEGER REFERENCES warnings(id),
    cap_xml TEXT,
    recipients INTEGER NOT NULL DEFAULT 0,
    enqueued_at INTEGER,
    created_by INTEGER,
    approved_by INTEGER,
    issued_by INTEGER,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT warnings_identity_key UNIQUE (sender, identifier, sent_at)
);
CREATE INDEX warnings_state ON warnings (state, expires_at);
CREATE INDEX warnings_path ON warnings (path);

-- The delivery outbox: one row per warning, recipient and channel; claimed by workers with expiring leases.
-- `warning_id` has no foreign key on purpose: a warning to a million households writes a million rows here, and
-- checking each against `warnings` costs 40% of the enqueue time on PostgreSQL. Rows are only written by
-- `store::warnings` for a warning it has just read or written, and warnings are never deleted.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    warning_id INTEGER NOT NULL,
    recipient_kind TEXT NOT NULL,
    recipient_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    language TEXT NOT NULL,
    grid_id INTEGER,
    vulnerable BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    leased_by TEXT,
    last_error TEXT,
    delivered_at INTEGER,
    CONSTRAINT deliveries_once_key UNIQUE (warning_id, recipient_kind, recipient_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_inbox ON deliveries (target) WHERE channel = 'inapp';

-- Acknowledgements, one per warning and household (or member).
CREATE TABLE acknowledgements (
    warning_id INTEGER NOT NULL REFERENCES warnings(id),
    recipient_kind TEXT NOT NULL,
    recipient_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (warning_id, recipient_kind, recipient_id)
);

-- Tasks with owners and deadlines: door-knocks for unreached households, and the actions of activated plans.
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    dedupe_key TEXT NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT NOT NULL,
    detail TEXT NOT NULL,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    owner_member_id INTEGER REFERENCES members(id),
    owner_organization_id INTEGER REFERENCES organizations(id),
    escalate_to_member_id INTEGER REFERENCES members(id),
    status TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    escalated_at INTEGER,
    evidence TEXT,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT tasks_dedupe_key UNIQUE (dedupe_key)
);
CREATE INDEX tasks_owner ON tasks (owner_member_id, status);
CREATE INDEX tasks_due ON tasks (status, due_at);
CREATE INDEX tasks_subject ON tasks (subject_type, subject_id);
