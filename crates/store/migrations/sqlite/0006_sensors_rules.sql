-- Monitoring: sensors, their readings, what ingest refused, rules and their episodes.

-- A sensor: what it measures, where, for whom, how often it should report, and the values it can possibly give.
CREATE TABLE sensors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    quantity TEXT NOT NULL,
    unit TEXT NOT NULL,
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    jurisdiction_id INTEGER NOT NULL REFERENCES jurisdictions(id),
    path TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    interval_seconds INTEGER NOT NULL,
    min_value REAL,
    max_value REAL,
    last_reading_at INTEGER,
    last_value REAL,
    stale_since INTEGER,
    rejected_count INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT sensors_code_key UNIQUE (code)
);
CREATE INDEX sensors_path ON sensors (path);

-- Readings: one per sensor and instant; a reading delivered twice (an MQTT redelivery, a retried batch) is stored once.
CREATE TABLE readings (
    sensor_id INTEGER NOT NULL REFERENCES sensors(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (sensor_id, at)
);

-- What ingest refused, with the reason, for the sensor's owner to see (the newest are kept).
CREATE TABLE ingest_rejections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sensor_id INTEGER REFERENCES sensors(id) ON DELETE CASCADE,
    sensor_code TEXT,
    channel TEXT NOT NULL,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    excerpt TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX ingest_rejections_sensor ON ingest_rejections (sensor_id, id);

-- Rules: every saved revision is kept; the newest enabled revision of a code is the one in force.
CREATE TABLE rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    revision INTEGER NOT NULL,
    definition TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT rules_code_revision_key UNIQUE (code, revision)
);

-- An episode: a rule's condition holding for one scope (a sensor, or a grid) from when it started until it clears.
-- A rule fires at most once per episode: the unique key is the rule, the scope and the start.
CREATE TABLE rule_episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_code TEXT NOT NULL,
    scope TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    fired_at INTEGER,
    cleared_at INTEGER,
    evidence TEXT,
    warning_id INTEGER,
    incident_id INTEGER,
    CONSTRAINT rule_episodes_key UNIQUE (rule_code, scope, started_at)
);
CREATE INDEX rule_episodes_open ON rule_episodes (rule_code, scope, cleared_at);
