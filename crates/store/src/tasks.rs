//! Tasks with an owner and a deadline: door-knocks for households a warning did not reach, and the actions of
//! activated plans. Every task has a `dedupe_key`, so a worker that runs twice (or two nodes that run at once) never
//! creates the same task twice.

use domain::registry::JurisdictionPath;

use crate::db::{Conn, Row, Value};
use crate::list::{ListQuery, Page, TableSpec};
use crate::registry::Versioned;
use crate::{StoreError, params};

/// A task to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// `door_knock`, `plan_action`, …
    pub kind: String,
    /// What it is about: `warning`, `incident`, …
    pub subject_type: String,
    /// Its id.
    pub subject_id: i64,
    /// Unique per task: the same key never makes a second task.
    pub dedupe_key: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: String,
    /// Details as JSON text (for a door-knock: the household and its needs).
    pub detail: String,
    /// Where the task is.
    pub jurisdiction_id: i64,
    /// Its path.
    pub path: JurisdictionPath,
    /// The member who owns it.
    pub owner_member_id: Option<i64>,
    /// Or the organization that owns it.
    pub owner_organization_id: Option<i64>,
    /// Who it escalates to when overdue.
    pub escalate_to_member_id: Option<i64>,
    /// Deadline, Unix ms.
    pub due_at: i64,
    /// The plan function it serves (`drainage`, `evacuation`, …), for plan tasks.
    pub function: Option<String>,
    /// Supporting parties, JSON array, for plan tasks.
    pub support: Option<String>,
    /// Dedupe keys of the tasks that must be done first, JSON array.
    pub depends_on: Option<String>,
    /// When it escalates if still not done (default: at its deadline), Unix ms.
    pub escalate_at: Option<i64>,
    /// The jurisdiction it escalates to when no person is named (the next level up).
    pub escalate_to_jurisdiction_id: Option<i64>,
}

impl NewTask {
    /// A task with no plan details.
    #[allow(clippy::too_many_arguments)]
    pub fn simple(
        kind: &str,
        subject_type: &str,
        subject_id: i64,
        dedupe_key: String,
        title_zh: String,
        title_en: String,
        detail: String,
        jurisdiction_id: i64,
        path: JurisdictionPath,
        due_at: i64,
    ) -> NewTask {
        NewTask {
            kind: kind.into(),
            subject_type: subject_type.into(),
            subject_id,
            dedupe_key,
            title_zh,
            title_en,
            detail,
            jurisdiction_id,
            path,
            owner_member_id: None,
            owner_organization_id: None,
            escalate_to_member_id: None,
            due_at,
            function: None,
            support: None,
            depends_on: None,
            escalate_at: None,
            escalate_to_jurisdiction_id: None,
        }
    }
}

/// A stored task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    /// Id.
    pub id: i64,
    /// The fields it was created with.
    pub task: NewTask,
    /// `open`, `acknowledged`, `in_progress`, `done`, `unable` (could not be done: nobody home, road blocked…),
    /// `declined` (not ours, with a reason) or `cancelled`.
    pub status: String,
    /// When it was escalated, Unix ms.
    pub escalated_at: Option<i64>,
    /// When the owner acknowledged it.
    pub acknowledged_at: Option<i64>,
    /// When work started.
    pub started_at: Option<i64>,
    /// When it was closed (done, unable, declined, cancelled).
    pub closed_at: Option<i64>,
    /// Reassignments, JSON array of `{at, by, from, to, reason}`.
    pub reassignments: Option<String>,
    /// What the owner reported when closing it.
    pub evidence: Option<String>,
    /// Version.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Updated, Unix ms.
    pub updated_at: i64,
}

const COLUMNS: &str = "id, kind, subject_type, subject_id, dedupe_key, title_zh, title_en, detail, jurisdiction_id, path, owner_member_id,
    owner_organization_id, escalate_to_member_id, status, due_at, escalated_at, evidence, version, created_at, updated_at, function, support,
    depends_on, escalate_at, escalate_to_jurisdiction_id, acknowledged_at, started_at, closed_at, reassignments";

/// Statuses of a task still to be done.
pub const OPEN_STATUSES: &str = "('open', 'acknowledged', 'in_progress')";

fn decode(row: &Row) -> Result<TaskRow, StoreError> {
    let path: String = row.get("path")?;
    Ok(TaskRow {
        id: row.get("id")?,
        task: NewTask {
            kind: row.get("kind")?,
            subject_type: row.get("subject_type")?,
            subject_id: row.get("subject_id")?,
            dedupe_key: row.get("dedupe_key")?,
            title_zh: row.get("title_zh")?,
            title_en: row.get("title_en")?,
            detail: row.get("detail")?,
            jurisdiction_id: row.get("jurisdiction_id")?,
            path: JurisdictionPath::parse(&path).ok_or_else(|| StoreError::Corrupt(format!("tasks.path {path}")))?,
            owner_member_id: row.get("owner_member_id")?,
            owner_organization_id: row.get("owner_organization_id")?,
            escalate_to_member_id: row.get("escalate_to_member_id")?,
            due_at: row.get("due_at")?,
            function: row.get("function")?,
            support: row.get("support")?,
            depends_on: row.get("depends_on")?,
            escalate_at: row.get("escalate_at")?,
            escalate_to_jurisdiction_id: row.get("escalate_to_jurisdiction_id")?,
        },
        status: row.get("status")?,
        escalated_at: row.get("escalated_at")?,
        acknowledged_at: row.get("acknowledged_at")?,
        started_at: row.get("started_at")?,
        closed_at: row.get("closed_at")?,
        reassignments: row.get("reassignments")?,
        evidence: row.get("evidence")?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// Creates the task unless one with its `dedupe_key` exists; returns the new task, or `None` if it existed.
pub async fn insert_if_absent(conn: &mut Conn<'_>, task: &NewTask, at_ms: i64) -> Result<Option<TaskRow>, StoreError> {
    let values = vec![
        Value::from(task.kind.as_str()),
        Value::from(task.subject_type.as_str()),
        Value::from(task.subject_id),
        Value::from(task.dedupe_key.as_str()),
        Value::from(task.title_zh.as_str()),
        Value::from(task.title_en.as_str()),
        Value::from(task.detail.as_str()),
        Value::from(task.jurisdiction_id),
        Value::from(task.path.as_str()),
        Value::from(task.owner_member_id),
        Value::from(task.owner_organization_id),
        Value::from(task.escalate_to_member_id),
        Value::from(task.due_at),
        Value::from(at_ms),
        Value::from(task.function.clone()),
        Value::from(task.support.clone()),
        Value::from(task.depends_on.clone()),
        Value::from(task.escalate_at),
        Value::from(task.escalate_to_jurisdiction_id),
    ];
    conn.fetch_optional(
        format!(
            "INSERT INTO tasks (kind, subject_type, subject_id, dedupe_key, title_zh, title_en, detail, jurisdiction_id, path, owner_member_id,
                 owner_organization_id, escalate_to_member_id, due_at, status, version, created_at, updated_at, function, support, depends_on,
                 escalate_at, escalate_to_jurisdiction_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open', 1, $14, $14, $15, $16, $17, $18, $19)
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING {COLUMNS}"
        ),
        &values,
    )
    .await?
    .as_ref()
    .map(decode)
    .transpose()
}

/// The task with `id`.
pub async fn get_task(conn: &mut Conn<'_>, id: i64) -> Result<Option<TaskRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {COLUMNS} FROM tasks WHERE id = $1"), params![id]).await?.as_ref().map(decode).transpose()
}

/// Closes or reopens a task if it is still at `expected_version`.
pub async fn set_status(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    status: &str,
    evidence: Option<&str>,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let changed = conn
        .execute(
            "UPDATE tasks SET status = $1, evidence = COALESCE($2, evidence), version = version + 1, updated_at = $3,
                 acknowledged_at = CASE WHEN $1 = 'acknowledged' THEN $3 ELSE acknowledged_at END,
                 started_at = CASE WHEN $1 = 'in_progress' THEN $3 ELSE started_at END,
                 closed_at = CASE WHEN $1 IN ('done', 'unable', 'declined', 'cancelled') THEN $3 ELSE NULL END
             WHERE id = $4 AND version = $5",
            params![status, evidence, at_ms, id, expected_version],
        )
        .await?;
    if changed == 1 {
        return Ok(Versioned::Done(expected_version + 1));
    }
    Ok(match conn.fetch_optional("SELECT version FROM tasks WHERE id = $1", params![id]).await? {
        Some(row) => Versioned::Conflict(row.get("version")?),
        None => Versioned::Missing,
    })
}

/// Cancels the open tasks about a subject (a cancelled warning, a closed incident); returns how many.
pub async fn cancel_open(conn: &mut Conn<'_>, subject_type: &str, subject_id: i64, at_ms: i64) -> Result<Vec<TaskRow>, StoreError> {
    conn.fetch_all(
        format!(
            "UPDATE tasks SET status = 'cancelled', version = version + 1, updated_at = $1, closed_at = $1
             WHERE subject_type = $2 AND subject_id = $3 AND status IN {OPEN_STATUSES} RETURNING {COLUMNS}"
        ),
        params![at_ms, subject_type, subject_id],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// Open tasks past their deadline that have not been escalated yet.
pub async fn overdue_unescalated(conn: &mut Conn<'_>, now_ms: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
    conn.fetch_all(
        format!(
            "SELECT {COLUMNS} FROM tasks WHERE status IN {OPEN_STATUSES} AND COALESCE(escalate_at, due_at) <= $1 AND escalated_at IS NULL
             ORDER BY due_at, id LIMIT $2"
        ),
        params![now_ms, limit],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// Marks a task escalated (once: returns false if it already was, or is no longer open).
pub async fn mark_escalated(conn: &mut Conn<'_>, id: i64, at_ms: i64) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            format!(
                "UPDATE tasks SET escalated_at = $1, version = version + 1, updated_at = $1 WHERE id = $2 AND escalated_at IS NULL AND status IN {OPEN_STATUSES}"
            ),
            params![at_ms, id],
        )
        .await?
        == 1)
}

/// The listing spec of tasks.
pub const TASKS: TableSpec = TableSpec {
    table: "tasks",
    columns: COLUMNS,
    search_columns: &["title_zh", "title_en"],
    sortable: &["due_at", "id", "status", "kind"],
    placed: true,
    owned: false,
};

/// Lists tasks.
pub async fn list_tasks(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<TaskRow>, StoreError> {
    crate::list::run(conn, &TASKS, query, decode).await
}

/// The open tasks of a member: owned, or escalated to them; soonest deadline first.
pub async fn open_tasks_of_member(conn: &mut Conn<'_>, member_id: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
    conn.fetch_all(
        format!(
            "SELECT {COLUMNS} FROM tasks WHERE status IN {OPEN_STATUSES}
               AND (owner_member_id = $1 OR (escalate_to_member_id = $1 AND escalated_at IS NOT NULL))
             ORDER BY due_at, id LIMIT $2"
        ),
        params![member_id, limit],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// Counts of a subject's tasks by status.
pub async fn counts_for_subject(conn: &mut Conn<'_>, subject_type: &str, subject_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
    conn.fetch_all(
        "SELECT status, COUNT(*) AS n FROM tasks WHERE subject_type = $1 AND subject_id = $2 GROUP BY status ORDER BY status",
        params![subject_type, subject_id],
    )
    .await?
    .iter()
    .map(|row| Ok((row.get("status")?, row.get("n")?)))
    .collect()
}

/// The active member holding `role` placed exactly at `jurisdiction_id` (the grid member of a grid), lowest id first.
pub async fn member_with_role_at(conn: &mut Conn<'_>, jurisdiction_id: i64, role: &str) -> Result<Option<i64>, StoreError> {
    conn.fetch_optional(
        "SELECT id FROM members WHERE jurisdiction_id = $1 AND status = 'active' AND roles LIKE $2 ORDER BY id LIMIT 1",
        params![jurisdiction_id, format!("%\"{role}\"%")],
    )
    .await?
    .map(|row| row.get("id"))
    .transpose()
}

/// The active member holding `role` nearest above (or at) `path`: the community cadre of a grid's community.
pub async fn member_with_role_above(conn: &mut Conn<'_>, path: &JurisdictionPath, role: &str) -> Result<Option<i64>, StoreError> {
    for place in path.ancestors_and_self().iter().rev() {
        let found = conn
            .fetch_optional(
                "SELECT id FROM members WHERE path = $1 AND status = 'active' AND roles LIKE $2 ORDER BY id LIMIT 1",
                params![place.as_str(), format!("%\"{role}\"%")],
            )
            .await?;
        if let Some(row) = found {
            return Ok(Some(row.get("id")?));
        }
    }
    Ok(None)
}

/// Gives a task to another owner if it is still at `expected_version`, recording who moved it, from whom and why.
#[allow(clippy::too_many_arguments)]
pub async fn reassign(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    owner_member_id: Option<i64>,
    owner_organization_id: Option<i64>,
    reassignments: &str,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let changed = conn
        .execute(
            "UPDATE tasks SET owner_member_id = $1, owner_organization_id = $2, reassignments = $3, status = 'open', acknowledged_at = NULL,
                 started_at = NULL, escalated_at = NULL, closed_at = NULL, version = version + 1, updated_at = $4
             WHERE id = $5 AND version = $6",
            params![owner_member_id, owner_organization_id, reassignments, at_ms, id, expected_version],
        )
        .await?;
    if changed == 1 {
        return Ok(Versioned::Done(expected_version + 1));
    }
    Ok(match conn.fetch_optional("SELECT version FROM tasks WHERE id = $1", params![id]).await? {
        Some(row) => Versioned::Conflict(row.get("version")?),
        None => Versioned::Missing,
    })
}

/// The tasks about a subject, by due time.
pub async fn tasks_of(conn: &mut Conn<'_>, subject_type: &str, subject_id: i64) -> Result<Vec<TaskRow>, StoreError> {
    conn.fetch_all(
        format!("SELECT {COLUMNS} FROM tasks WHERE subject_type = $1 AND subject_id = $2 ORDER BY due_at, id"),
        params![subject_type, subject_id],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// The open tasks owned by an organization (its inbox).
pub async fn open_tasks_of_organization(conn: &mut Conn<'_>, organization_id: i64, limit: i64) -> Result<Vec<TaskRow>, StoreError> {
    conn.fetch_all(
        format!("SELECT {COLUMNS} FROM tasks WHERE status IN {OPEN_STATUSES} AND owner_organization_id = $1 ORDER BY due_at, id LIMIT $2"),
        params![organization_id, limit],
    )
    .await?
    .iter()
    .map(decode)
    .collect()
}
