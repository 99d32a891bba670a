-- Report intake at the rate of a city in a storm. Candidates for de-duplication come from an in-memory index of
-- the open incidents (app::dedupe), which follows this change feed: the index that served the old query goes.
DROP INDEX incidents_open;
CREATE INDEX incidents_updated ON incidents (updated_at, id);
