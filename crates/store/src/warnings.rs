//! Warnings, their delivery outbox and acknowledgements.
//!
//! The outbox holds one row per warning, recipient and channel (a unique key, so enqueuing twice never delivers
//! twice). Workers on any node claim due rows with expiring leases (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite
//! the single writer serialises claims), deliver them, and record the outcome; a lease that expires because its
//! worker died makes the row due again.

use domain::registry::JurisdictionPath;

use crate::db::{Conn, Row, Value};
use crate::list::{ListQuery, Page, TableSpec};
use crate::registry::Versioned;
use crate::{Backend, StoreError, params};

/// The fields of a warning.
#[derive(Debug, Clone, PartialEq)]
pub struct WarningFields {
    /// CAP identifier (GB/T 35965 form for our own warnings).
    pub identifier: String,
    /// CAP sender.
    pub sender: String,
    /// `console`, `api`, `feed:<name>`.
    pub source: String,
    /// Lifecycle state code.
    pub state: String,
    /// CAP status: Actual, Exercise, System, Test, Draft.
    pub cap_status: String,
    /// CAP msgType: Alert, Update, Cancel.
    pub msg_type: String,
    /// Warning level code: red, orange, yellow, blue.
    pub level: String,
    /// CAP category code.
    pub category: String,
    /// What the warning is about (CAP event), for example 暴雨.
    pub event: String,
    /// Headline in Chinese.
    pub headline_zh: String,
    /// Headline in English.
    pub headline_en: Option<String>,
    /// Description in Chinese.
    pub description_zh: String,
    /// Description in English.
    pub description_en: Option<String>,
    /// Instruction in Chinese.
    pub instruction_zh: String,
    /// Instruction in English.
    pub instruction_en: Option<String>,
    /// Area description.
    pub area_desc: String,
    /// Area as GeoJSON text.
    pub area: String,
    /// Effective from, Unix ms.
    pub effective_at: i64,
    /// Expires at, Unix ms.
    pub expires_at: i64,
    /// When it was sent (issued), Unix ms.
    pub sent_at: Option<i64>,
    /// CAP references text (for updates and cancellations).
    pub references_text: Option<String>,
    /// The warning this one updates or cancels.
    pub replaces_id: Option<i64>,
    /// The emitted CAP document, once issued.
    pub cap_xml: Option<String>,
    /// How many recipients were targeted.
    pub recipients: i64,
    /// Who drafted it.
    pub created_by: Option<i64>,
    /// Who approved it (two-person rule).
    pub approved_by: Option<i64>,
    /// Who issued it.
    pub issued_by: Option<i64>,
}

/// A stored warning.
#[derive(Debug, Clone, PartialEq)]
pub struct WarningRow {
    /// Id.
    pub id: i64,
    /// Fields.
    pub fields: WarningFields,
    /// Where it belongs: the narrowest jurisdiction containing its area (for access and events).
    pub path: JurisdictionPath,
    /// Version.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Updated, Unix ms.
    pub updated_at: i64,
}

const COLUMNS: &str = "id, identifier, sender, source, state, cap_status, msg_type, level, category, event, headline_zh, headline_en, description_zh, description_en,
    instruction_zh, instruction_en, area_desc, area, path, effective_at, expires_at, sent_at, references_text, replaces_id, cap_xml, recipients,
    created_by, approved_by, issued_by, version, created_at, updated_at";

fn decode(row: &Row) -> Result<WarningRow, StoreError> {
    let path: String = row.get("path")?;
    Ok(WarningRow {
        id: row.get("id")?,
        fields: WarningFields {
            identifier: row.get("identifier")?,
            sender: row.get("sender")?,
            source: row.get("source")?,
            state: row.get("state")?,
            cap_status: row.get("cap_status")?,
            msg_type: row.get("msg_type")?,
            level: row.get("level")?,
            category: row.get("category")?,
            event: row.get("event")?,
            headline_zh: row.get("headline_zh")?,
            headline_en: row.get("headline_en")?,
            description_zh: row.get("description_zh")?,
            description_en: row.get("description_en")?,
            instruction_zh: row.get("instruction_zh")?,
            instruction_en: row.get("instruction_en")?,
            area_desc: row.get("area_desc")?,
            area: row.get("area")?,
            effective_at: row.get("effective_at")?,
            expires_at: row.get("expires_at")?,
            sent_at: row.get("sent_at")?,
            references_text: row.get("references_text")?,
            replaces_id: row.get("replaces_id")?,
            cap_xml: row.get("cap_xml")?,
            recipients: row.get("recipients")?,
            created_by: row.get("created_by")?,
            approved_by: row.get("approved_by")?,
            issued_by: row.get("issued_by")?,
        },
        path: JurisdictionPath::parse(&path).ok_or_else(|| StoreError::Corrupt(format!("warnings.path {path}")))?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn field_values(f: &WarningFields, path: &JurisdictionPath) -> Vec<Value> {
    vec![
        Value::from(f.identifier.as_str()),
        Value::from(f.sender.as_str()),
        Value::from(f.source.as_str()),
        Value::from(f.state.as_str()),
        Value::from(f.cap_status.as_str()),
        Value::from(f.msg_type.as_str()),
        Value::from(f.level.as_str()),
        Value::from(f.category.as_str()),
        Value::from(f.event.as_str()),
        Value::from(f.headline_zh.as_str()),
        Value::from(f.headline_en.clone()),
        Value::from(f.description_zh.as_str()),
        Value::from(f.description_en.clone()),
        Value::from(f.instruction_zh.as_str()),
        Value::from(f.instruction_en.clone()),
        Value::from(f.area_desc.as_str()),
        Value::from(f.area.as_str()),
        Value::from(path.as_str()),
        Value::from(f.effective_at),
        Value::from(f.expires_at),
        Value::from(f.sent_at),
        Value::from(f.references_text.clone()),
        Value::from(f.replaces_id),
        Value::from(f.cap_xml.clone()),
        Value::from(f.recipients),
        Value::from(f.created_by),
        Value::from(f.approved_by),
        Value::from(f.issued_by),
    ]
}

/// Inserts a warning at version 1.
pub async fn insert_warning(
    conn: &mut Conn<'_>,
    fields: &WarningFields,
    path: &JurisdictionPath,
    at_ms: i64,
) -> Result<WarningRow, StoreError> {
    let mut values = field_values(fields, path);
    values.push(Value::from(at_ms));
    let placeholders: Vec<String> = (1..=28).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO warnings (identifier, sender, source, state, cap_status, msg_type, level, category, event, headline_zh, headline_en,
             description_zh, description_en, instruction_zh, instruction_en, area_desc, area, path, effective_at, expires_at, sent_at,
             references_text, replaces_id, cap_xml, recipients, created_by, approved_by, issued_by, version, created_at, updated_at)
         VALUES ({}, 1, $29, $29) RETURNING {COLUMNS}",
        placeholders.join(", ")
    );
    decode(&conn.fetch_one(sql, &values).await?)
}

/// Rewrites a warning if it is still at `expected_version`.
pub async fn update_warning(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    fields: &WarningFields,
    path: &JurisdictionPath,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let mut values = field_values(fields, path);
    values.extend([Value::from(at_ms), Value::from(id), Value::from(expected_version)]);
    let changed = conn
        .execute(
            "UPDATE warnings SET identifier = $1, sender = $2, source = $3, state = $4, cap_status = $5, msg_type = $6, level = $7, category = $8,
                 event = $9, headline_zh = $10, headline_en = $11, description_zh = $12, description_en = $13, instruction_zh = $14,
                 instruction_en = $15, area_desc = $16, area = $17, path = $18, effective_at = $19, expires_at = $20, sent_at = $21,
                 references_text = $22, replaces_id = $23, cap_xml = $24, recipients = $25, created_by = $26, approved_by = $27,
                 issued_by = $28, version = version + 1, updated_at = $29
             WHERE id = $30 AND version = $31",
            &values,
        )
        .await?;
    if changed == 1 {
        return Ok(Versioned::Done(expected_version + 1));
    }
    Ok(match conn.fetch_optional("SELECT version FROM warnings WHERE id = $1", params![id]).await? {
        Some(row) => Versioned::Conflict(row.get("version")?),
        None => Versioned::Missing,
    })
}

/// The warning with `id`.
pub async fn get_warning(conn: &mut Conn<'_>, id: i64) -> Result<Option<WarningRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {COLUMNS} FROM warnings WHERE id = $1"), params![id]).await?.as_ref().map(decode).transpose()
}

/// The sent cancellation of a warning (the `Cancel` message that replaced it), if any.
pub async fn cancellation_of(conn: &mut Conn<'_>, id: i64) -> Result<Option<WarningRow>, StoreError> {
    conn.fetch_optional(
        format!(
            "SELECT {COLUMNS} FROM warnings WHERE replaces_id = $1 AND msg_type = 'Cancel' AND state = 'issued' ORDER BY id DESC LIMIT 1"
        ),
        params![id],
    )
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// The warning a sender already sent under this identifier at this time (for idempotent ingest).
pub async fn find_sent(conn: &mut Conn<'_>, sender: &str, identifier: &str, sent_at: i64) -> Result<Option<WarningRow>, StoreError> {
    conn.fetch_optional(
        format!("SELECT {COLUMNS} FROM warnings WHERE sender = $1 AND identifier = $2 AND sent_at = $3"),
        params![sender, identifier, sent_at],
    )
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// The warning with this sender and identifier, most recent first (to resolve CAP references).
pub async fn find_by_identifier(conn: &mut Conn<'_>, sender: &str, identifier: &str) -> Result<Option<WarningRow>, StoreError> {
    conn.fetch_optional(
        format!("SELECT {COLUMNS} FROM warnings WHERE sender = $1 AND identifier = $2 ORDER BY id DESC LIMIT 1"),
        params![sender, identifier],
    )
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// Issued warnings whose expiry has passed.
pub async fn expired_warnings(conn: &mut Conn<'_>, now_ms: i64) -> Result<Vec<WarningRow>, StoreError> {
    conn.fetch_all(
        format!("SELECT {COLUMNS} FROM warnings WHERE state IN ('issued', 'updated') AND expires_at <= $1 ORDER BY id"),
        params![now_ms],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// Warnings in force (issued or updated, not expired), for door-knock escalation.
pub async fn warnings_in_force(conn: &mut Conn<'_>, now_ms: i64) -> Result<Vec<WarningRow>, StoreError> {
    conn.fetch_all(
        format!("SELECT {COLUMNS} FROM warnings WHERE state IN ('issued', 'updated') AND expires_at > $1 ORDER BY id"),
        params![now_ms],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// The listing spec of warnings.
pub const WARNINGS: TableSpec = TableSpec {
    table: "warnings",
    columns: COLUMNS,
    search_columns: &["headline_zh", "headline_en", "event", "identifier"],
    sortable: &["id", "sent_at", "effective_at", "expires_at", "level", "state"],
    placed: true,
    owned: false,
};

/// Lists warnings.
pub async fn list_warnings(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<WarningRow>, StoreError> {
    crate::list::run(conn, &WARNINGS, query, decode).await
}

// ------------------------------------------------------------------------------------------------- the outbox

/// A delivery to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// `household`, `member` or `organization`.
    pub recipient_kind: &'static str,
    /// Its id.
    pub recipient_id: i64,
    /// `sms`, `email`, `webhook` or `inapp`.
    pub channel: &'static str,
    /// Phone, address, URL or account id.
    pub target: String,
    /// Language tag of the message.
    pub language: String,
    /// The recipient's grid (for reach by grid).
    pub grid_id: Option<i64>,
    /// On the vulnerable-resident register.
    pub vulnerable: bool,
}

/// Rows per multi-row enqueue statement (7 parameters each, under both backends' parameter limits).
const ENQUEUE_CHUNK: usize = 4000;

/// Enqueues deliveries; rows already queued (same warning, recipient and channel) are left alone. Returns how many
/// rows were added.
pub async fn enqueue(conn: &mut Conn<'_>, warning_id: i64, deliveries: &[NewDelivery], now_ms: i64) -> Result<u64, StoreError> {
    let mut added = 0;
    for chunk in deliveries.chunks(ENQUEUE_CHUNK) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7 + 2);
        values.push(Value::from(warning_id));
        values.push(Value::from(now_ms));
        let mut sql = String::with_capacity(300 + chunk.len() * 64);
        sql.push_str(
            "INSERT INTO deliveries (warning_id, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, status, attempts, next_attempt_at) VALUES ",
        );
        for (index, delivery) in chunk.iter().enumerate() {
            let base = 2 + index * 7;
            if index > 0 {
                sql.push_str(", ");
            }
            use std::fmt::Write as _;
            let _ = write!(
                sql,
                "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 'pending', 0, $2)",
                base + 1,
                base + 2,
                base + 3,
                base + 4,
                base + 5,
                base + 6,
                base + 7
            );
            values.extend([
                Value::from(delivery.recipient_kind),
                Value::from(delivery.recipient_id),
                Value::from(delivery.channel),
                Value::from(delivery.target.as_str()),
                Value::from(delivery.language.as_str()),
                Value::from(delivery.grid_id),
                Value::from(delivery.vulnerable),
            ]);
        }
        sql.push_str(" ON CONFLICT (warning_id, recipient_kind, recipient_id, channel) DO NOTHING");
        added += conn.execute(sql, &values).await?;
    }
    Ok(added)
}

/// The condition "`column` is one of the ids bound as `$n`" (bind [`id_list`] of the same backend): a JSON array read
/// by `json_each` on SQLite, an array literal on PostgreSQL (`= ANY`, the fastest way to pass ten thousand ids).
pub(crate) fn ids_from_json(backend: Backend, placeholder: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT value FROM json_each({placeholder})"),
        Backend::Postgres => format!("SELECT unnest(CAST({placeholder} AS BIGINT[]))"),
    }
}

/// Ids as the text [`ids_from_json`] reads: `[1,2,3]` for SQLite, `{1,2,3}` for PostgreSQL.
pub(crate) fn id_list(backend: Backend, ids: &[i64]) -> String {
    use std::fmt::Write as _;
    let (open, close) = if backend == Backend::Postgres { ('{', '}') } else { ('[', ']') };
    let mut text = String::with_capacity(ids.len() * 8 + 2);
    text.push(open);
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        let _ = write!(text, "{id}");
    }
    text.push(close);
    text
}

/// Enqueues one delivery per channel (text message to the phone, e-mail to the address) for each household in
/// `ids`, in the household's language, straight from the household table in one statement; rows already queued are
/// left alone. A household with neither gets a `none` row, already failed. Returns how many rows were added.
pub async fn enqueue_households(conn: &mut Conn<'_>, warning_id: i64, ids: &[i64], now_ms: i64) -> Result<u64, StoreError> {
    let backend = conn.backend();
    let ids_sql = ids_from_json(backend, "$3");
    let select = |channel: &str, target: &str, status: &str, condition: &str| {
        format!(
            "SELECT id AS recipient_id, '{channel}' AS channel, {target} AS target, language, grid_id, vulnerable, '{status}' AS status
             FROM targeted WHERE {condition}"
        )
    };
    // The households are read once (the CTE); each channel is then a pass over those rows in memory.
    let sql = format!(
        "WITH targeted AS MATERIALIZED (
             SELECT h.id, h.phone, h.email, h.language, h.jurisdiction_id AS grid_id, v.household_id IS NOT NULL AS vulnerable
             FROM households h LEFT JOIN vulnerable_residents v ON v.household_id = h.id WHERE h.id IN ({ids_sql}))
         INSERT INTO deliveries (warning_id, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, status, attempts, next_attempt_at, last_error)
         SELECT $1, 'household', recipient_id, channel, target, language, grid_id, vulnerable, status, 0, $2,
                CASE WHEN channel = 'none' THEN 'no phone or e-mail on record' ELSE NULL END
         FROM ({} UNION ALL {} UNION ALL {}) AS rows WHERE true
         ON CONFLICT (warning_id, recipient_kind, recipient_id, channel) DO NOTHING",
        select("sms", "phone", "pending", "phone IS NOT NULL AND phone <> ''"),
        select("email", "email", "pending", "email IS NOT NULL AND email <> ''"),
        // A household nobody can message is still targeted: it counts as unreached, and if it is vulnerable it
        // becomes a door-knock at the deadline.
        select("none", "''", "failed", "(phone IS NULL OR phone = '') AND (email IS NULL OR email = '')"),
    );
    conn.execute(sql, params![warning_id, now_ms, id_list(backend, ids)]).await
}

/// Enqueues deliveries to the members in `ids`: in-app for members with an account (in the account's language),
/// a text message and an e-mail where they have a phone or an address. Returns how many rows were added.
pub async fn enqueue_members(conn: &mut Conn<'_>, warning_id: i64, ids: &[i64], now_ms: i64) -> Result<u64, StoreError> {
    let backend = conn.backend();
    let ids_sql = ids_from_json(backend, "$3");
    let language = "COALESCE((SELECT a.locale FROM accounts a WHERE a.member_id = m.id ORDER BY a.id LIMIT 1), 'zh-CN')";
    let select = |channel: &str, target: &str, condition: &str| {
        format!(
            "SELECT $1 AS warning_id, 'member' AS recipient_kind, m.id AS recipient_id, '{channel}' AS channel, {target} AS target,
                    {language} AS language, m.jurisdiction_id AS grid_id, {false_value} AS vulnerable
             FROM members m WHERE m.id IN ({ids_sql}) AND {condition}",
            false_value = if backend == Backend::Postgres { "false" } else { "0" },
        )
    };
    let account = "(SELECT CAST(a.id AS TEXT) FROM accounts a WHERE a.member_id = m.id AND NOT a.disabled ORDER BY a.id LIMIT 1)";
    let sql = format!(
        "INSERT INTO deliveries (warning_id, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, status, attempts, next_attempt_at)
         SELECT warning_id, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, 'pending', 0, $2
         FROM ({} UNION ALL {} UNION ALL {}) AS rows WHERE true
         ON CONFLICT (warning_id, recipient_kind, recipient_id, channel) DO NOTHING",
        select("inapp", account, &format!("{account} IS NOT NULL")),
        select("sms", "m.phone", "m.phone IS NOT NULL AND m.phone <> ''"),
        select("email", "m.email", "m.email IS NOT NULL AND m.email <> ''"),
    );
    conn.execute(sql, params![warning_id, now_ms, id_list(backend, ids)]).await
}

/// Enqueues a webhook delivery to every organization with a webhook whose jurisdiction lies on the warning's
/// branch of the tree (above it: the departments responsible for the area; below it: communities, enterprises and
/// facilities inside). Returns how many rows were added.
pub async fn enqueue_organizations(conn: &mut Conn<'_>, warning_id: i64, path: &JurisdictionPath, now_ms: i64) -> Result<u64, StoreError> {
    let (start, end) = crate::subtree_range(path);
    let ancestors: Vec<String> = path.ancestors_and_self().iter().map(|p| p.as_str().to_string()).collect();
    let mut values = vec![Value::from(warning_id), Value::from(now_ms), Value::from(start), Value::from(end)];
    let placeholders: Vec<String> = ancestors.iter().enumerate().map(|(i, _)| format!("${}", i + 5)).collect();
    values.extend(ancestors.into_iter().map(Value::from));
    let false_value = if conn.backend() == Backend::Postgres { "false" } else { "0" };
    let sql = format!(
        "INSERT INTO deliveries (warning_id, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, status, attempts, next_attempt_at)
         SELECT $1, 'organization', o.id, 'webhook', o.webhook_url, 'zh-CN', o.jurisdiction_id, {false_value}, 'pending', 0, $2
         FROM organizations o
         WHERE o.webhook_url IS NOT NULL AND o.webhook_url <> '' AND ((o.path >= $3 AND o.path < $4) OR o.path IN ({}))
         ON CONFLICT (warning_id, recipient_kind, recipient_id, channel) DO NOTHING",
        placeholders.join(", ")
    );
    conn.execute(sql, &values).await
}

/// Queues, for warning `to`, a copy of every delivery of warning `from` that was delivered (an update or a
/// cancellation goes to everyone the original reached). Returns how many rows were added.
pub async fn enqueue_copies(conn: &mut Conn<'_>, from: i64, to: i64, now_ms: i64) -> Result<u64, StoreError> {
    conn.execute(
        "INSERT INTO deliveries (warning_id, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, status, attempts, next_attempt_at)
         SELECT $1, recipient_kind, recipient_id, channel, target, language, grid_id, vulnerable, 'pending', 0, $2
         FROM deliveries WHERE warning_id = $3 AND status = 'delivered'
         ON CONFLICT (warning_id, recipient_kind, recipient_id, channel) DO NOTHING",
        params![to, now_ms, from],
    )
    .await
}

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Id (also its idempotency key towards receivers: `gridline-delivery-<id>`).
    pub id: i64,
    /// The warning.
    pub warning_id: i64,
    /// Recipient kind.
    pub recipient_kind: String,
    /// Recipient id.
    pub recipient_id: i64,
    /// Channel.
    pub channel: String,
    /// Where to.
    pub target: String,
    /// Language tag.
    pub language: String,
    /// Attempts so far (before this one).
    pub attempts: i64,
}

/// Claims up to `limit` due deliveries for `worker` until `lease_until_ms`. Rows whose lease expired (their worker
/// died) are due again.
pub async fn claim(conn: &mut Conn<'_>, worker: &str, now_ms: i64, lease_until_ms: i64, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    let lock = match conn.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'delivering', lease_until = $1, leased_by = $2
         WHERE id IN (
             SELECT id FROM deliveries
             WHERE (status = 'pending' AND next_attempt_at <= $3) OR (status = 'delivering' AND lease_until < $3)
             ORDER BY next_attempt_at, id LIMIT $4 {lock})
         RETURNING id, warning_id, recipient_kind, recipient_id, channel, target, language, attempts"
    );
    conn.fetch_all(sql, params![lease_until_ms, worker, now_ms, limit])
        .await?
        .iter()
        .map(|row| {
            Ok(Delivery {
                id: row.get("id")?,
                warning_id: row.get("warning_id")?,
                recipient_kind: row.get("recipient_kind")?,
                recipient_id: row.get("recipient_id")?,
                channel: row.get("channel")?,
                target: row.get("target")?,
                language: row.get("language")?,
                attempts: row.get("attempts")?,
            })
        })
        .collect()
}

/// Extends the lease of deliveries `worker` still holds and has not finished (a worker that keeps working keeps its
/// claim; one that died stops renewing, and its rows are due again when the lease runs out). Returns the ids it
/// renewed: a row missing from them is no longer this worker's (another took it over, or it was cancelled).
pub async fn renew_leases(conn: &mut Conn<'_>, worker: &str, ids: &[i64], lease_until_ms: i64) -> Result<Vec<i64>, StoreError> {
    let mut renewed = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut params = crate::db::Params::default();
        let lease = params.push(lease_until_ms);
        let by = params.push(worker.to_string());
        let list: Vec<String> = chunk.iter().map(|id| params.push(*id)).collect();
        let rows = conn
            .fetch_all(
                format!(
                    "UPDATE deliveries SET lease_until = {lease} WHERE leased_by = {by} AND status = 'delivering' AND id IN ({}) RETURNING id",
                    list.join(", ")
                ),
                params.values(),
            )
            .await?;
        for row in rows {
            renewed.push(row.get("id")?);
        }
    }
    Ok(renewed)
}

/// The outcome of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Delivered at this time.
    Delivered(i64),
    /// Failed; try again at this time.
    Retry {
        /// Why.
        error: String,
        /// When to try again, Unix ms.
        at_ms: i64,
    },
    /// Failed for good.
    GiveUp {
        /// Why.
        error: String,
    },
}

/// Records the outcome of attempts, if the row is still leased by `worker` (a worker whose lease expired must not
/// overwrite the outcome of the worker that took the row over).
pub async fn record(conn: &mut Conn<'_>, worker: &str, outcomes: &[(i64, Attempt)]) -> Result<(), StoreError> {
    for (id, outcome) in outcomes {
        match outcome {
            Attempt::Delivered(at) => {
                conn.execute(
                    "UPDATE deliveries SET status = 'delivered', delivered_at = $1, attempts = attempts + 1, lease_until = NULL, last_error = NULL
                     WHERE id = $2 AND leased_by = $3 AND status = 'delivering'",
                    params![*at, *id, worker],
                )
                .await?;
            }
            Attempt::Retry { error, at_ms } => {
                conn.execute(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, attempts = attempts + 1, lease_until = NULL, last_error = $2
                     WHERE id = $3 AND leased_by = $4 AND status = 'delivering'",
                    params![*at_ms, error.as_str(), *id, worker],
                )
                .await?;
            }
            Attempt::GiveUp { error } => {
                conn.execute(
                    "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, lease_until = NULL, last_error = $1
                     WHERE id = $2 AND leased_by = $3 AND status = 'delivering'",
                    params![error.as_str(), *id, worker],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Cancels the undelivered deliveries of a warning (after a cancellation), those a worker holds too: its lease is
/// not renewed any more and it sends nothing it has not started.
pub async fn cancel_pending(conn: &mut Conn<'_>, warning_id: i64) -> Result<u64, StoreError> {
    conn.execute(
        "UPDATE deliveries SET status = 'cancelled', lease_until = NULL WHERE warning_id = $1 AND status IN ('pending', 'delivering')",
        params![warning_id],
    )
    .await
}

/// Records an acknowledgement; returns whether it is new.
pub async fn acknowledge(
    conn: &mut Conn<'_>,
    warning_id: i64,
    recipient_kind: &str,
    recipient_id: i64,
    at_ms: i64,
    via: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            "INSERT INTO acknowledgements (warning_id, recipient_kind, recipient_id, at, via) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (warning_id, recipient_kind, recipient_id) DO NOTHING",
            params![warning_id, recipient_kind, recipient_id, at_ms, via],
        )
        .await?
        == 1)
}

/// Vulnerable households of a warning that have not acknowledged it, with their grid.
pub async fn unacknowledged_vulnerable(conn: &mut Conn<'_>, warning_id: i64) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    conn.fetch_all(
        "SELECT DISTINCT d.recipient_id, d.grid_id FROM deliveries d
         WHERE d.warning_id = $1 AND d.recipient_kind = 'household' AND d.vulnerable
           AND NOT EXISTS (SELECT 1 FROM acknowledgements a WHERE a.warning_id = d.warning_id AND a.recipient_kind = 'household' AND a.recipient_id = d.recipient_id)
         ORDER BY d.recipient_id",
        params![warning_id],
    )
    .await?
    .iter()
    .map(|row| Ok((row.get("recipient_id")?, row.get("grid_id")?)))
    .collect()
}

/// Reach of a warning in one grid (or with no grid).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GridReach {
    /// The grid.
    pub grid_id: Option<i64>,
    /// Distinct recipients targeted.
    pub targeted: i64,
    /// Recipients with at least one delivered message.
    pub delivered: i64,
    /// Recipients who acknowledged.
    pub acknowledged: i64,
    /// Households a door-knock task was created for.
    pub door_knock_tasks: i64,
    /// Households whose door-knock task was done.
    pub door_knocked: i64,
}

/// Reach of a warning by grid.
pub async fn reach_by_grid(conn: &mut Conn<'_>, warning_id: i64) -> Result<Vec<GridReach>, StoreError> {
    conn.fetch_all(
        "SELECT r.grid_id,
                COUNT(*) AS targeted,
                SUM(CASE WHEN r.delivered > 0 THEN 1 ELSE 0 END) AS delivered,
                SUM(CASE WHEN a.recipient_id IS NULL THEN 0 ELSE 1 END) AS acknowledged,
                SUM(CASE WHEN t.id IS NULL THEN 0 ELSE 1 END) AS door_knock_tasks,
                SUM(CASE WHEN t.status = 'done' THEN 1 ELSE 0 END) AS door_knocked
         FROM (SELECT recipient_kind, recipient_id, MAX(grid_id) AS grid_id,
                      SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS delivered
               FROM deliveries WHERE warning_id = $1 GROUP BY recipient_kind, recipient_id) r
         LEFT JOIN acknowledgements a ON a.warning_id = $1 AND a.recipient_kind = r.recipient_kind AND a.recipient_id = r.recipient_id
         LEFT JOIN tasks t ON r.recipient_kind = 'household' AND t.subject_type = 'warning' AND t.subject_id = $1 AND t.kind = 'door_knock'
              AND t.dedupe_key = 'door_knock:' || CAST($1 AS TEXT) || ':' || CAST(r.recipient_id AS TEXT)
         GROUP BY r.grid_id ORDER BY r.grid_id",
        params![warning_id],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(GridReach {
            grid_id: row.get("grid_id")?,
            targeted: row.get("targeted")?,
            delivered: row.get::<Option<i64>>("delivered")?.unwrap_or(0),
            acknowledged: row.get::<Option<i64>>("acknowledged")?.unwrap_or(0),
            door_knock_tasks: row.get::<Option<i64>>("door_knock_tasks")?.unwrap_or(0),
            door_knocked: row.get::<Option<i64>>("door_knocked")?.unwrap_or(0),
        })
    })
    .collect()
}

/// Counts of a warning's deliveries by status.
pub async fn delivery_counts(conn: &mut Conn<'_>, warning_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
    conn.fetch_all(
        "SELECT status, COUNT(*) AS n FROM deliveries WHERE warning_id = $1 GROUP BY status ORDER BY status",
        params![warning_id],
    )
    .await?
    .iter()
    .map(|row| Ok((row.get("status")?, row.get("n")?)))
    .collect()
}

/// Sets (or clears) where an organization's systems receive warnings, and the secret that signs them.
pub async fn set_organization_webhook(
    conn: &mut Conn<'_>,
    organization_id: i64,
    url: Option<&str>,
    secret: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(conn
        .execute("UPDATE organizations SET webhook_url = $1, webhook_secret = $2 WHERE id = $3", params![url, secret, organization_id])
        .await?
        == 1)
}

/// The secret an organization's webhook deliveries are signed with.
pub async fn organization_webhook_secret(conn: &mut Conn<'_>, organization_id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .fetch_optional("SELECT webhook_secret FROM organizations WHERE id = $1", params![organization_id])
        .await?
        .map(|row| row.get::<Option<String>>("webhook_secret"))
        .transpose()?
        .flatten())
}

/// Records that every delivery of a warning has been enqueued.
pub async fn mark_enqueued(conn: &mut Conn<'_>, id: i64, recipients: i64, at_ms: i64) -> Result<(), StoreError> {
    conn.execute("UPDATE warnings SET enqueued_at = $1, recipients = $2 WHERE id = $3", params![at_ms, recipients, id]).await?;
    Ok(())
}

/// Issued warnings whose enqueuing did not finish (the process stopped in the middle): enqueuing is idempotent,
/// so it is simply run again.
pub async fn issued_not_enqueued(conn: &mut Conn<'_>) -> Result<Vec<WarningRow>, StoreError> {
    conn.fetch_all(format!("SELECT {COLUMNS} FROM warnings WHERE sent_at IS NOT NULL AND enqueued_at IS NULL AND state <> 'draft' AND state <> 'approved' ORDER BY id"), &[])
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// The in-app deliveries to an account (its inbox), newest first.
pub async fn inbox(conn: &mut Conn<'_>, account_id: i64, limit: i64) -> Result<Vec<(i64, i64, String)>, StoreError> {
    conn.fetch_all(
        "SELECT d.id, d.warning_id, d.status FROM deliveries d WHERE d.channel = 'inapp' AND d.target = $1 ORDER BY d.id DESC LIMIT $2",
        params![account_id.to_string(), limit],
    )
    .await?
    .iter()
    .map(|row| Ok((row.get("id")?, row.get("warning_id")?, row.get("status")?)))
    .collect()
}

/// Whether a recipient was targeted by a warning (has at least one delivery).
pub async fn was_targeted(conn: &mut Conn<'_>, warning_id: i64, recipient_kind: &str, recipient_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .fetch_optional(
            "SELECT 1 AS one FROM deliveries WHERE warning_id = $1 AND recipient_kind = $2 AND recipient_id = $3 LIMIT 1",
            params![warning_id, recipient_kind, recipient_id],
        )
        .await?
        .is_some())
}

/// Whether a recipient acknowledged a warning.
pub async fn is_acknowledged(conn: &mut Conn<'_>, warning_id: i64, recipient_kind: &str, recipient_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .fetch_optional(
            "SELECT 1 AS one FROM acknowledgements WHERE warning_id = $1 AND recipient_kind = $2 AND recipient_id = $3",
            params![warning_id, recipient_kind, recipient_id],
        )
        .await?
        .is_some())
}
