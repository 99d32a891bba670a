-- The data commons: datasets (a stored layer with a typed, classified schema, a licence and an expected update
-- interval), every feature change versioned, sharing policies (standing, or bound to an incident's activation),
-- and the log of every read of restricted or confidential data with its purpose. Keep the SQLite and PostgreSQL
-- scripts in step.

CREATE TABLE datasets (
    layer_id BIGINT PRIMARY KEY REFERENCES layers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    schema TEXT NOT NULL,
    licence TEXT,
    description_zh TEXT,
    description_en TEXT,
    update_interval_seconds BIGINT,
    data_updated_at BIGINT,
    stale_since BIGINT,
    updated_at BIGINT NOT NULL
);

-- Every change of a feature: the layer "as of" a time is the newest version of each feature at that time.
CREATE TABLE feature_versions (
    id BIGSERIAL PRIMARY KEY,
    layer_id BIGINT NOT NULL REFERENCES layers(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    op TEXT NOT NULL,
    name TEXT,
    geometry TEXT,
    properties TEXT,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX feature_versions_layer ON feature_versions (layer_id, external_id, changed_at);

-- Who may read a dataset beyond what its classification allows: an organization or a role, the whole dataset or
-- some fields, anywhere or inside an area; or, with an activation condition, the command of an incident of a
-- category at a grade or worse, inside the incident's area, only while the incident's activation lasts.
CREATE TABLE sharing_policies (
    id BIGSERIAL PRIMARY KEY,
    layer_id BIGINT NOT NULL REFERENCES layers(id) ON DELETE CASCADE,
    organization_id BIGINT,
    role TEXT,
    fields TEXT,
    area TEXT,
    activation TEXT,
    note TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_by TEXT,
    revoked_at BIGINT
);
CREATE INDEX sharing_policies_layer ON sharing_policies (layer_id);

-- Every read of restricted or confidential data: who, when, which dataset, how many features, which fields, and
-- why (the owner's own, a standing policy, an incident, an assigned grid).
CREATE TABLE data_access_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    layer_id BIGINT NOT NULL,
    owner_organization_id BIGINT,
    account_id BIGINT,
    actor TEXT NOT NULL,
    purpose TEXT NOT NULL,
    incident_id BIGINT,
    policy_id BIGINT,
    features BIGINT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX data_access_log_layer ON data_access_log (layer_id, at);
CREATE INDEX data_access_log_owner ON data_access_log (owner_organization_id, at);

-- Which residents' records a read included, so that each can see who viewed theirs.
CREATE TABLE data_access_subjects (
    access_id BIGINT NOT NULL,
    household_id BIGINT NOT NULL,
    PRIMARY KEY (access_id, household_id)
);
CREATE INDEX data_access_subjects_household ON data_access_subjects (household_id);

-- One-time codes residents use to see who viewed their record.
CREATE TABLE resident_codes (
    id BIGSERIAL PRIMARY KEY,
    household_id BIGINT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX resident_codes_household ON resident_codes (household_id, created_at);
