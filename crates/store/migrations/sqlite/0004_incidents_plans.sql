-- Reports from every channel, incidents, merges, emergency plans and their activations; tasks grow the states a
-- plan's task goes through (SQLite). Keep in step with ../postgres/0004_incidents_plans.sql.

-- Everything anyone reported, from any channel, kept as it arrived. `channel_key` is the channel's own message id
-- (an idempotency key, a hotline ticket number, an Open311 token): the same message posted twice is one report.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    channel_key TEXT,
    category TEXT NOT NULL,
    subtype TEXT NOT NULL,
    description TEXT NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    address TEXT,
    observed_at INTEGER NOT NULL,
    reporter_name TEXT,
    reporter_phone TEXT,
    reporter_email TEXT,
    reporter_account_id INTEGER,
    media TEXT NOT NULL,
    figures TEXT NOT NULL,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    incident_id INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT reports_channel_key UNIQUE (channel, channel_key)
);
CREATE INDEX reports_incident ON reports (incident_id);
CREATE INDEX reports_path ON reports (path);

-- Incidents: one per real event, whatever number of reports it came from.
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category TEXT NOT NULL,
    subtype TEXT NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT,
    description TEXT NOT NULL,
    grade TEXT,
    warning_level TEXT,
    response_level TEXT,
    status TEXT NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    affected TEXT NOT NULL,
    figures TEXT NOT NULL,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    command_jurisdiction_id INTEGER,
    known_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    merged_into INTEGER,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX incidents_open ON incidents (status, subtype, lat, lon);
CREATE INDEX incidents_path ON incidents (path);

-- Proposals that two incidents are the same, with the score and the reasons shown to the duty officer.
CREATE TABLE incident_proposals (
    incident_id INTEGER NOT NULL,
    candidate_id INTEGER NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (incident_id, candidate_id)
);
CREATE INDEX incident_proposals_candidate ON incident_proposals (candidate_id);

-- Merges: which incident went into which, with which reports, by whom; undone by a split.
CREATE TABLE incident_merges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id INTEGER NOT NULL,
    source_id INTEGER NOT NULL,
    source_status TEXT NOT NULL,
    report_ids TEXT NOT NULL,
    merged_by TEXT NOT NULL,
    merged_at INTEGER NOT NULL,
    split_by TEXT,
    split_at INTEGER
);
CREATE INDEX incident_merges_target ON incident_merges (target_id);

-- Emergency plans: every saved version of every plan, its document as text and the linter's findings at save.
CREATE TABLE plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    version TEXT NOT NULL,
    revision INTEGER NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT,
    document TEXT NOT NULL,
    state TEXT NOT NULL,
    findings TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT plans_code_revision UNIQUE (code, revision)
);

-- Activations of a plan for an incident: what it set, so that stand-down can undo it.
CREATE TABLE activations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL,
    plan_id INTEGER NOT NULL,
    plan_code TEXT NOT NULL,
    response_level TEXT NOT NULL,
    triggered_level TEXT,
    matched TEXT NOT NULL,
    command_jurisdiction_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    modes_before TEXT NOT NULL,
    findings TEXT NOT NULL,
    activated_by TEXT NOT NULL,
    activated_at INTEGER NOT NULL,
    stood_down_at INTEGER,
    stood_down_by TEXT
);
CREATE INDEX activations_incident ON activations (incident_id);

-- A plan's task is acknowledged, started, done with evidence, or declined with a reason; it may be reassigned.
ALTER TABLE tasks ADD COLUMN function TEXT;
ALTER TABLE tasks ADD COLUMN support TEXT;
ALTER TABLE tasks ADD COLUMN depends_on TEXT;
ALTER TABLE tasks ADD COLUMN escalate_at INTEGER;
ALTER TABLE tasks ADD COLUMN escalate_to_jurisdiction_id INTEGER;
ALTER TABLE tasks ADD COLUMN acknowledged_at INTEGER;
ALTER TABLE tasks ADD COLUMN started_at INTEGER;
ALTER TABLE tasks ADD COLUMN closed_at INTEGER;
ALTER TABLE tasks ADD COLUMN reassignments TEXT;

-- Photos and other media uploaded with reports and task evidence, kept in the database so that every node serves
-- them. The key is random: knowing it is what lets a report or a task show the photo.
CREATE TABLE media (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    size INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT media_key UNIQUE (key)
);
