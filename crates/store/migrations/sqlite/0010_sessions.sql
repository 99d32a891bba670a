-- Sessions a person can see and end: a public id (never the token or its hash), where and with what they were
-- opened. Keep in step with ../postgres/0010_sessions.sql.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN client_address TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET public_id = substr(token_hash, 1, 16) WHERE public_id IS NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
