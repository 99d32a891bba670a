-- Report intake at the rate of a city in a storm.
-- Candidates for de-duplication are found in the index alone: open, in a latitude band, then filtered on longitude
-- and time without reading the rows.
DROP INDEX incidents_open;
CREATE INDEX incidents_open ON incidents (status, lat, lon, last_seen_at, known_at);
-- The change feed of the in-memory index of open incidents.
CREATE INDEX incidents_updated ON incidents (updated_at, id);
