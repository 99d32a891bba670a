//! Accounts, their role grants, sign-in sessions, API tokens and the sign-in throttle. Secrets are never stored:
//! sessions and tokens by SHA-256 hash, passwords by Argon2id hash (computed by the application).

use crate::db::{Conn, Row};
use crate::list::{ListQuery, Page, TableSpec};
use crate::registry::Versioned;
use crate::{StoreError, params};

/// A stored account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Preferred locale tag.
    pub locale: String,
    /// The member record of the person, if linked.
    pub member_id: Option<i64>,
    /// Whether sign-in is refused.
    pub disabled: bool,
    /// Version.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Updated, Unix ms.
    pub updated_at: i64,
}

/// A stored role grant with the scope resolved to paths.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRow {
    /// Id.
    pub id: i64,
    /// The account.
    pub account_id: i64,
    /// Role code.
    pub role: String,
    /// Scope jurisdiction.
    pub jurisdiction_id: Option<i64>,
    /// Scope jurisdiction's path.
    pub jurisdiction_path: Option<String>,
    /// Organization.
    pub organization_id: Option<i64>,
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, password_hash, locale, member_id, disabled, version, created_at, updated_at";

fn decode_account(row: &Row) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: row.get("id")?,
        username: row.get("username")?,
        display_name: row.get("display_name")?,
        password_hash: row.get("password_hash")?,
        locale: row.get("locale")?,
        member_id: row.get("member_id")?,
        disabled: row.get("disabled")?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login name (already normalised).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Locale tag.
    pub locale: String,
    /// Linked member.
    pub member_id: Option<i64>,
}

/// Inserts an account.
pub async fn insert_account(conn: &mut Conn<'_>, account: &NewAccount, at_ms: i64) -> Result<AccountRow, StoreError> {
    let id: i64 = conn
        .fetch_one(
            "INSERT INTO accounts (username, display_name, password_hash, locale, member_id, disabled, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) RETURNING id",
            params![
                account.username.as_str(),
                account.display_name.as_str(),
                account.password_hash.as_str(),
                account.locale.as_str(),
                account.member_id,
                false,
                at_ms
            ],
        )
        .await?
        .get("id")?;
    get_account(conn, id).await?.ok_or(StoreError::NoRow)
}

/// The account with `id`.
pub async fn get_account(conn: &mut Conn<'_>, id: i64) -> Result<Option<AccountRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(decode_account)
        .transpose()
}

/// The account with `username`.
pub async fn get_account_by_username(conn: &mut Conn<'_>, username: &str) -> Result<Option<AccountRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1"), params![username])
        .await?
        .as_ref()
        .map(decode_account)
        .transpose()
}

/// How many accounts exist.
pub async fn count_accounts(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    conn.fetch_one("SELECT COUNT(*) AS n FROM accounts", &[]).await?.get("n")
}

/// The writable fields of an account.
#[derive(Debug, Clone)]
pub struct AccountFields {
    /// Display name.
    pub display_name: String,
    /// Locale tag.
    pub locale: String,
    /// Linked member.
    pub member_id: Option<i64>,
    /// Whether sign-in is refused.
    pub disabled: bool,
}

/// Rewrites an account's fields if it is still at `expected_version`.
pub async fn update_account(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    fields: &AccountFields,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let changed = conn
        .execute(
            "UPDATE accounts SET display_name = $1, locale = $2, member_id = $3, disabled = $4, version = version + 1, updated_at = $5
             WHERE id = $6 AND version = $7",
            params![fields.display_name.as_str(), fields.locale.as_str(), fields.member_id, fields.disabled, at_ms, id, expected_version],
        )
        .await?;
    if changed == 1 {
        return Ok(Versioned::Done(expected_version + 1));
    }
    Ok(match get_account(conn, id).await? {
        Some(account) => Versioned::Conflict(account.version),
        None => Versioned::Missing,
    })
}

/// Sets an account's password hash (and ends its sessions: a new password signs out everywhere).
pub async fn set_password(conn: &mut Conn<'_>, id: i64, password_hash: &str, at_ms: i64) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE accounts SET password_hash = $1, version = version + 1, updated_at = $2 WHERE id = $3",
            params![password_hash, at_ms, id],
        )
        .await?;
    conn.execute("DELETE FROM sessions WHERE account_id = $1", params![id]).await?;
    Ok(changed == 1)
}

/// The listing spec of accounts.
pub const ACCOUNTS: TableSpec = TableSpec {
    table: "accounts",
    columns: ACCOUNT_COLUMNS,
    search_columns: &["username", "display_name"],
    sortable: &["username", "display_name", "created_at", "updated_at"],
    placed: false,
    owned: false,
};

/// Lists accounts.
pub async fn list_accounts(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<AccountRow>, StoreError> {
    crate::list::run(conn, &ACCOUNTS, query, decode_account).await
}

/// The grants of an account, with scope paths.
pub async fn grants_of(conn: &mut Conn<'_>, account_id: i64) -> Result<Vec<GrantRow>, StoreError> {
    conn.fetch_all(
        "SELECT g.id, g.account_id, g.role, g.jurisdiction_id, j.path AS jurisdiction_path, g.organization_id
         FROM account_grants g LEFT JOIN jurisdictions j ON j.id = g.jurisdiction_id
         WHERE g.account_id = $1 ORDER BY g.id",
        params![account_id],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(GrantRow {
            id: row.get("id")?,
            account_id: row.get("account_id")?,
            role: row.get("role")?,
            jurisdiction_id: row.get("jurisdiction_id")?,
            jurisdiction_path: row.get("jurisdiction_path")?,
            organization_id: row.get("organization_id")?,
        })
    })
    .collect()
}

/// Adds a grant.
pub async fn insert_grant(
    conn: &mut Conn<'_>,
    account_id: i64,
    role: &str,
    jurisdiction_id: Option<i64>,
    organization_id: Option<i64>,
    at_ms: i64,
) -> Result<i64, StoreError> {
    conn.fetch_one(
        "INSERT INTO account_grants (account_id, role, jurisdiction_id, organization_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params![account_id, role, jurisdiction_id, organization_id, at_ms],
    )
    .await?
    .get("id")
}

/// Removes a grant of an account; returns whether it existed.
pub async fn delete_grant(conn: &mut Conn<'_>, account_id: i64, grant_id: i64) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM account_grants WHERE id = $1 AND account_id = $2", params![grant_id, account_id]).await? == 1)
}

// ---------------------------------------------------------------------------------------------------------
// Sessions.

/// A new session: the hash of its token, and what its owner sees of it.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// A random id shown to the owner (never the token or its hash).
    pub public_id: String,
    /// The account.
    pub account_id: i64,
    /// Opened, Unix ms.
    pub at_ms: i64,
    /// Expires, Unix ms.
    pub expires_at_ms: i64,
    /// The address it was opened from.
    pub client_address: Option<String>,
    /// The browser or client it was opened with (`User-Agent`, shortened).
    pub user_agent: Option<String>,
}

/// Stores a session by the hash of its token.
pub async fn insert_session(conn: &mut Conn<'_>, session: &NewSession) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sessions (token_hash, public_id, account_id, created_at, expires_at, client_address, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            session.token_hash.as_str(),
            session.public_id.as_str(),
            session.account_id,
            session.at_ms,
            session.expires_at_ms,
            session.client_address.clone(),
            session.user_agent.clone()
        ],
    )
    .await?;
    Ok(())
}

/// A session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The public id.
    pub public_id: String,
    /// SHA-256 of its token (to recognise the caller's own session; never shown).
    pub token_hash: String,
    /// Opened, Unix ms.
    pub created_at: i64,
    /// Expires, Unix ms.
    pub expires_at: i64,
    /// Opened from.
    pub client_address: Option<String>,
    /// Opened with.
    pub user_agent: Option<String>,
}

/// The unexpired sessions of an account, newest first.
pub async fn sessions_of(conn: &mut Conn<'_>, account_id: i64, now_ms: i64) -> Result<Vec<SessionRow>, StoreError> {
    let rows = conn
        .fetch_all(
            "SELECT public_id, token_hash, created_at, expires_at, client_address, user_agent FROM sessions
             WHERE account_id = $1 AND expires_at > $2 ORDER BY created_at DESC",
            params![account_id, now_ms],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SessionRow {
                public_id: row.get::<Option<String>>("public_id")?.unwrap_or_default(),
                token_hash: row.get("token_hash")?,
                created_at: row.get("created_at")?,
                expires_at: row.get("expires_at")?,
                client_address: row.get("client_address")?,
                user_agent: row.get("user_agent")?,
            })
        })
        .collect()
}

/// Ends one of an account's sessions by its public id; returns whether it existed.
pub async fn delete_session_of(conn: &mut Conn<'_>, account_id: i64, public_id: &str) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM sessions WHERE account_id = $1 AND public_id = $2", params![account_id, public_id]).await? == 1)
}

/// Ends every session of an account but the one with `keep_token_hash`; returns how many.
pub async fn delete_other_sessions(conn: &mut Conn<'_>, account_id: i64, keep_token_hash: &str) -> Result<u64, StoreError> {
    conn.execute("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2", params![account_id, keep_token_hash]).await
}

/// The account of the unexpired session with this token hash.
pub async fn session_account(conn: &mut Conn<'_>, token_hash: &str, now_ms: i64) -> Result<Option<i64>, StoreError> {
    conn.fetch_optional("SELECT account_id FROM sessions WHERE token_hash = $1 AND expires_at > $2", params![token_hash, now_ms])
        .await?
        .map(|row| row.get("account_id"))
        .transpose()
}

/// Ends a session.
pub async fn delete_session(conn: &mut Conn<'_>, token_hash: &str) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM sessions WHERE token_hash = $1", params![token_hash]).await? == 1)
}

/// Removes expired sessions; returns how many.
pub async fn delete_expired_sessions(conn: &mut Conn<'_>, now_ms: i64) -> Result<u64, StoreError> {
    conn.execute("DELETE FROM sessions WHERE expires_at <= $1", params![now_ms]).await
}

// ---------------------------------------------------------------------------------------------------------
// API tokens.

/// A stored API token (never the token itself).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenRow {
    /// Id.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// A name its owner chose.
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Expiry, Unix ms.
    pub expires_at: Option<i64>,
    /// Revocation time, Unix ms.
    pub revoked_at: Option<i64>,
}

fn decode_token(row: &Row) -> Result<ApiTokenRow, StoreError> {
    Ok(ApiTokenRow {
        id: row.get("id")?,
        account_id: row.get("account_id")?,
        name: row.get("name")?,
        prefix: row.get("prefix")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

/// Stores a token by its hash.
pub async fn insert_api_token(
    conn: &mut Conn<'_>,
    account_id: i64,
    name: &str,
    token_hash: &str,
    prefix: &str,
    at_ms: i64,
    expires_at_ms: Option<i64>,
) -> Result<ApiTokenRow, StoreError> {
    let id: i64 = conn
        .fetch_one(
            "INSERT INTO api_tokens (account_id, name, token_hash, prefix, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            params![account_id, name, token_hash, prefix, at_ms, expires_at_ms],
        )
        .await?
        .get("id")?;
    get_api_token(conn, id).await?.ok_or(StoreError::NoRow)
}

/// The token with `id`.
pub async fn get_api_token(conn: &mut Conn<'_>, id: i64) -> Result<Option<ApiTokenRow>, StoreError> {
    conn.fetch_optional(
        "SELECT id, account_id, name, prefix, created_at, expires_at, revoked_at FROM api_tokens WHERE id = $1",
        params![id],
    )
    .await?
    .as_ref()
    .map(decode_token)
    .transpose()
}

/// The account and token id of a live (unrevoked, unexpired) token with this hash.
pub async fn api_token_account(conn: &mut Conn<'_>, token_hash: &str, now_ms: i64) -> Result<Option<(i64, i64)>, StoreError> {
    conn.fetch_optional(
        "SELECT id, account_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        params![token_hash, now_ms],
    )
    .await?
    .map(|row| Ok((row.get("account_id")?, row.get("id")?)))
    .transpose()
}

/// Who a credential belongs to, with every grant, in one query: the unexpired session or unrevoked API token with
/// this hash (`api_token` says which), its account, and the account's grants with their scope paths. `None` if no
/// such credential. The token's id is in the second field (API tokens only).
pub async fn credential_owner(
    conn: &mut Conn<'_>,
    token_hash: &str,
    now_ms: i64,
    api_token: bool,
) -> Result<Option<(AccountRow, Option<i64>, Vec<GrantRow>)>, StoreError> {
    let credential = if api_token {
        "SELECT t.account_id, t.id AS token_id FROM api_tokens t
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)"
    } else {
        "SELECT s.account_id, NULL AS token_id FROM sessions s WHERE s.token_hash = $1 AND s.expires_at > $2"
    };
    let rows = conn
        .fetch_all(
            format!(
                "SELECT a.id, a.username, a.display_name, a.password_hash, a.locale, a.member_id, a.disabled, a.version, a.created_at,
                        a.updated_at, c.token_id, g.id AS grant_id, g.role, g.jurisdiction_id, j.path AS jurisdiction_path, g.organization_id
                 FROM ({credential}) c JOIN accounts a ON a.id = c.account_id
                 LEFT JOIN account_grants g ON g.account_id = a.id LEFT JOIN jurisdictions j ON j.id = g.jurisdiction_id
                 ORDER BY g.id"
            ),
            params![token_hash, now_ms],
        )
        .await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let account = decode_account(first)?;
    let token_id: Option<i64> = first.get("token_id")?;
    let mut grants = Vec::new();
    for row in &rows {
        if let Some(id) = row.get::<Option<i64>>("grant_id")? {
            grants.push(GrantRow {
                id,
                account_id: account.id,
                role: row.get("role")?,
                jurisdiction_id: row.get("jurisdiction_id")?,
                jurisdiction_path: row.get("jurisdiction_path")?,
                organization_id: row.get("organization_id")?,
            });
        }
    }
    Ok(Some((account, token_id, grants)))
}

/// Every token of an account, newest first.
pub async fn api_tokens_of(conn: &mut Conn<'_>, account_id: i64) -> Result<Vec<ApiTokenRow>, StoreError> {
    conn.fetch_all(
        "SELECT id, account_id, name, prefix, created_at, expires_at, revoked_at FROM api_tokens WHERE account_id = $1 ORDER BY id DESC",
        params![account_id],
    )
    .await?
    .iter()
    .map(decode_token)
    .collect()
}

/// Revokes a token; returns whether a live token was revoked.
pub async fn revoke_api_token(conn: &mut Conn<'_>, id: i64, at_ms: i64) -> Result<bool, StoreError> {
    Ok(conn.execute("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", params![at_ms, id]).await? == 1)
}

// ---------------------------------------------------------------------------------------------------------
// Sign-in throttle.

/// The throttle state of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    /// Failures since the count was last reset.
    pub failures: i64,
    /// When the latest failure happened, Unix ms (the count resets a while after it).
    pub window_start: i64,
    /// Sign-in refused until then, Unix ms.
    pub locked_until: i64,
}

/// The throttle state of `key`.
pub async fn throttle(conn: &mut Conn<'_>, key: &str) -> Result<Throttle, StoreError> {
    Ok(match conn.fetch_optional("SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1", params![key]).await? {
        Some(row) => {
            Throttle { failures: row.get("failures")?, window_start: row.get("window_start")?, locked_until: row.get("locked_until")? }
        }
        None => Throttle::default(),
    })
}

/// Stores the throttle state of `key`.
pub async fn set_throttle(conn: &mut Conn<'_>, key: &str, state: Throttle) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, locked_until = excluded.locked_until",
        params![key, state.failures, state.window_start, state.locked_until],
    )
    .await?;
    Ok(())
}

/// Forgets throttle states whose latest failure is older than `before_ms` and that hold no delay any more;
/// returns how many.
pub async fn delete_stale_throttles(conn: &mut Conn<'_>, before_ms: i64) -> Result<u64, StoreError> {
    conn.execute("DELETE FROM login_throttle WHERE window_start < $1 AND locked_until < $1", params![before_ms]).await
}

/// Forgets the throttle state of `key` (after a successful sign-in).
pub async fn clear_throttle(conn: &mut Conn<'_>, key: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM login_throttle WHERE key = $1", params![key]).await?;
    Ok(())
}
