-- Jurisdiction modes and map layers (SQLite). Keep in step with ../postgres/0002_layers_and_mode.sql.

-- The operating mode of each jurisdiction: peacetime, heightened (a warning in force) or emergency (a plan active).
ALTER TABLE jurisdictions ADD COLUMN mode TEXT NOT NULL DEFAULT 'peacetime';

-- Map layers: named sets of features (points, lines, polygons) owned by an organization, with a classification.
CREATE TABLE layers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    title_zh TEXT NOT NULL,
    title_en TEXT,
    geometry_kind TEXT NOT NULL,
    classification TEXT NOT NULL,
    organization_id INTEGER REFERENCES organizations(id),
    path TEXT,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT layers_name_key UNIQUE (name)
);

-- The features of a layer. Points keep their position in lon/lat for fast box queries; every feature keeps its
-- bounding box; geometry is GeoJSON text; properties are a JSON object.
CREATE TABLE features (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    layer_id INTEGER NOT NULL REFERENCES layers(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    name TEXT,
    geometry TEXT NOT NULL,
    lon REAL,
    lat REAL,
    min_lon REAL NOT NULL,
    min_lat REAL NOT NULL,
    max_lon REAL NOT NULL,
    max_lat REAL NOT NULL,
    properties TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT features_layer_external_key UNIQUE (layer_id, external_id)
);
CREATE INDEX features_layer_lon_lat ON features (layer_id, lon, lat);
CREATE INDEX features_layer_bbox ON features (layer_id, min_lon, max_lon);
