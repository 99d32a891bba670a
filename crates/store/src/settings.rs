//! Installation-wide settings and secrets shared by every node, such as the key that signs acknowledgement links.

use crate::db::Conn;
use crate::{StoreError, params};

/// The value of `key`, creating it with `initial` if it is not set yet (the first node to ask wins; every node
/// then reads the same value).
pub async fn get_or_insert(conn: &mut Conn<'_>, key: &str, initial: &str, at_ms: i64) -> Result<String, StoreError> {
    conn.execute(
        "INSERT INTO settings (key, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        params![key, initial, at_ms],
    )
    .await?;
    conn.fetch_one("SELECT value FROM settings WHERE key = $1", params![key]).await?.get("value")
}

/// The value of `key`, if set.
pub async fn get(conn: &mut Conn<'_>, key: &str) -> Result<Option<String>, StoreError> {
    conn.fetch_optional("SELECT value FROM settings WHERE key = $1", params![key]).await?.map(|row| row.get("value")).transpose()
}
