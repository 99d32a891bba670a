//! Reports from every channel, incidents, merge proposals and merges, plans and activations.

use domain::registry::JurisdictionPath;

use crate::db::{Conn, Row, Value};
use crate::list::{ListQuery, Page, TableSpec};
use crate::registry::Versioned;
use crate::{StoreError, params};

// ------------------------------------------------------------------------------------------------------- reports

/// A report as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// `console`, `field`, `api`, `hotline`, `open311`.
    pub channel: String,
    /// The channel's own message id (idempotency key), if any.
    pub channel_key: Option<String>,
    /// Incident category code.
    pub category: String,
    /// Sub-type code.
    pub subtype: String,
    /// What was seen.
    pub description: String,
    /// Where.
    pub lon: f64,
    /// Where.
    pub lat: f64,
    /// The address in words.
    pub address: Option<String>,
    /// When it was seen, Unix ms.
    pub observed_at: i64,
    /// Who reported (personal data).
    pub reporter_name: Option<String>,
    /// Their phone (personal data).
    pub reporter_phone: Option<String>,
    /// Their e-mail (personal data).
    pub reporter_email: Option<String>,
    /// The reporting account, if signed in.
    pub reporter_account_id: Option<i64>,
    /// Photos and other media: a JSON array of `{url, type}`.
    pub media: String,
    /// Figures reported (casualties…): a JSON object.
    pub figures: String,
    /// The jurisdiction it falls in.
    pub jurisdiction_id: i64,
    /// Its path.
    pub path: JurisdictionPath,
}

/// A stored report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// Id.
    pub id: i64,
    /// The report.
    pub report: NewReport,
    /// The incident it belongs to.
    pub incident_id: Option<i64>,
    /// Received, Unix ms.
    pub created_at: i64,
}

const REPORT_COLUMNS: &str =
    "id, channel, channel_key, category, subtype, description, lon, lat, address, observed_at, reporter_name, reporter_phone,
    reporter_email, reporter_account_id, media, figures, jurisdiction_id, path, incident_id, created_at";

fn path_of(row: &Row, table: &str) -> Result<JurisdictionPath, StoreError> {
    let path: String = row.get("path")?;
    JurisdictionPath::parse(&path).ok_or_else(|| StoreError::Corrupt(format!("{table}.path {path}")))
}

fn decode_report(row: &Row) -> Result<ReportRow, StoreError> {
    Ok(ReportRow {
        id: row.get("id")?,
        report: NewReport {
            channel: row.get("channel")?,
            channel_key: row.get("channel_key")?,
            category: row.get("category")?,
            subtype: row.get("subtype")?,
            description: row.get("description")?,
            lon: row.get("lon")?,
            lat: row.get("lat")?,
            address: row.get("address")?,
            observed_at: row.get("observed_at")?,
            reporter_name: row.get("reporter_name")?,
            reporter_phone: row.get("reporter_phone")?,
            reporter_email: row.get("reporter_email")?,
            reporter_account_id: row.get("reporter_account_id")?,
            media: row.get("media")?,
            figures: row.get("figures")?,
            jurisdiction_id: row.get("jurisdiction_id")?,
            path: path_of(row, "reports")?,
        },
        incident_id: row.get("incident_id")?,
        created_at: row.get("created_at")?,
    })
}

/// Stores a report; `None` if the channel already delivered a report with this key.
pub async fn insert_report(
    conn: &mut Conn<'_>,
    report: &NewReport,
    incident_id: Option<i64>,
    at_ms: i64,
) -> Result<Option<ReportRow>, StoreError> {
    let r = report;
    let values = vec![
        Value::from(r.channel.as_str()),
        Value::from(r.channel_key.clone()),
        Value::from(r.category.as_str()),
        Value::from(r.subtype.as_str()),
        Value::from(r.description.as_str()),
        Value::from(r.lon),
        Value::from(r.lat),
        Value::from(r.address.clone()),
        Value::from(r.observed_at),
        Value::from(r.reporter_name.clone()),
        Value::from(r.reporter_phone.clone()),
        Value::from(r.reporter_email.clone()),
        Value::from(r.reporter_account_id),
        Value::from(r.media.as_str()),
        Value::from(r.figures.as_str()),
        Value::from(r.jurisdiction_id),
        Value::from(r.path.as_str()),
        Value::from(incident_id),
        Value::from(at_ms),
    ];
    conn.fetch_optional(
        format!(
            "INSERT INTO reports (channel, channel_key, category, subtype, description, lon, lat, address, observed_at, reporter_name,
                 reporter_phone, reporter_email, reporter_account_id, media, figures, jurisdiction_id, path, incident_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
             ON CONFLICT (channel, channel_key) DO NOTHING RETURNING {REPORT_COLUMNS}"
        ),
        &values,
    )
    .await?
    .as_ref()
    .map(decode_report)
    .transpose()
}

/// The report a channel delivered under `key`.
pub async fn report_by_channel_key(conn: &mut Conn<'_>, channel: &str, key: &str) -> Result<Option<ReportRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE channel = $1 AND channel_key = $2"), params![channel, key])
        .await?
        .as_ref()
        .map(decode_report)
        .transpose()
}

/// One report.
pub async fn get_report(conn: &mut Conn<'_>, id: i64) -> Result<Option<ReportRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(decode_report)
        .transpose()
}

/// The reports of an incident, oldest first.
pub async fn reports_of(conn: &mut Conn<'_>, incident_id: i64) -> Result<Vec<ReportRow>, StoreError> {
    conn.fetch_all(format!("SELECT {REPORT_COLUMNS} FROM reports WHERE incident_id = $1 ORDER BY observed_at, id"), params![incident_id])
        .await?
        .iter()
        .map(decode_report)
        .collect()
}

/// Moves reports to another incident.
pub async fn move_reports(conn: &mut Conn<'_>, report_ids: &[i64], incident_id: i64) -> Result<u64, StoreError> {
    let mut moved = 0;
    for id in report_ids {
        moved += conn.execute("UPDATE reports SET incident_id = $1 WHERE id = $2", params![incident_id, *id]).await?;
    }
    Ok(moved)
}

/// Reports listed through the channel's own ids (Open311 `service_request_id`s are report ids).
pub async fn list_reports(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<ReportRow>, StoreError> {
    crate::list::run(conn, &REPORTS, query, decode_report).await
}

/// The listing spec of reports.
pub const REPORTS: TableSpec = TableSpec {
    table: "reports",
    columns: REPORT_COLUMNS,
    search_columns: &["description", "address"],
    sortable: &["observed_at", "id", "created_at"],
    placed: true,
    owned: false,
};

// ----------------------------------------------------------------------------------------------------- incidents

/// The fields of an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFields {
    /// Category code.
    pub category: String,
    /// Sub-type code.
    pub subtype: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: Option<String>,
    /// What is known.
    pub description: String,
    /// Event grade (I–IV) code.
    pub grade: Option<String>,
    /// Warning level code.
    pub warning_level: Option<String>,
    /// Response level code.
    pub response_level: Option<String>,
    /// Status code.
    pub status: String,
    /// Position.
    pub lon: f64,
    /// Position.
    pub lat: f64,
    /// Affected jurisdiction ids, JSON array.
    pub affected: String,
    /// Figures, JSON object.
    pub figures: String,
    /// The responsible (home) jurisdiction.
    pub jurisdiction_id: i64,
    /// Its path.
    pub path: JurisdictionPath,
    /// Who commands, if command passed up.
    pub command_jurisdiction_id: Option<i64>,
    /// When the first tier knew, Unix ms.
    pub known_at: i64,
    /// The latest report, Unix ms.
    pub last_seen_at: i64,
    /// The incident it was merged into.
    pub merged_into: Option<i64>,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    /// Id.
    pub id: i64,
    /// Fields.
    pub fields: IncidentFields,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: i64,
    /// Updated.
    pub updated_at: i64,
}

const INCIDENT_COLUMNS: &str = "id, category, subtype, title_zh, title_en, description, grade, warning_level, response_level, status, lon, lat,
    affected, figures, jurisdiction_id, path, command_jurisdiction_id, known_at, last_seen_at, merged_into, version, created_at, updated_at";

fn decode_incident(row: &Row) -> Result<IncidentRow, StoreError> {
    Ok(IncidentRow {
        id: row.get("id")?,
        fields: IncidentFields {
            category: row.get("category")?,
            subtype: row.get("subtype")?,
            title_zh: row.get("title_zh")?,
            title_en: row.get("title_en")?,
            description: row.get("description")?,
            grade: row.get("grade")?,
            warning_level: row.get("warning_level")?,
            response_level: row.get("response_level")?,
            status: row.get("status")?,
            lon: row.get("lon")?,
            lat: row.get("lat")?,
            affected: row.get("affected")?,
            figures: row.get("figures")?,
            jurisdiction_id: row.get("jurisdiction_id")?,
            path: path_of(row, "incidents")?,
            command_jurisdiction_id: row.get("command_jurisdiction_id")?,
            known_at: row.get("known_at")?,
            last_seen_at: row.get("last_seen_at")?,
            merged_into: row.get("merged_into")?,
        },
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn incident_values(f: &IncidentFields) -> Vec<Value> {
    vec![
        Value::from(f.category.as_str()),
        Value::from(f.subtype.as_str()),
        Value::from(f.title_zh.as_str()),
        Value::from(f.title_en.clone()),
        Value::from(f.description.as_str()),
        Value::from(f.grade.clone()),
        Value::from(f.warning_level.clone()),
        Value::from(f.response_level.clone()),
        Value::from(f.status.as_str()),
        Value::from(f.lon),
        Value::from(f.lat),
        Value::from(f.affected.as_str()),
        Value::from(f.figures.as_str()),
        Value::from(f.jurisdiction_id),
        Value::from(f.path.as_str()),
        Value::from(f.command_jurisdiction_id),
        Value::from(f.known_at),
        Value::from(f.last_seen_at),
        Value::from(f.merged_into),
    ]
}

/// Inserts an incident at version 1.
pub async fn insert_incident(conn: &mut Conn<'_>, fields: &IncidentFields, at_ms: i64) -> Result<IncidentRow, StoreError> {
    let mut values = incident_values(fields);
    values.push(Value::from(at_ms));
    decode_incident(
        &conn
            .fetch_one(
                format!(
                    "INSERT INTO incidents (category, subtype, title_zh, title_en, description, grade, warning_level, response_level, status, lon,
                         lat, affected, figures, jurisdiction_id, path, command_jurisdiction_id, known_at, last_seen_at, merged_into, version,
                         created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 1, $20, $20)
                     RETURNING {INCIDENT_COLUMNS}"
                ),
                &values,
            )
            .await?,
    )
}

/// Rewrites an incident if it is still at `expected_version`.
pub async fn update_incident(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    fields: &IncidentFields,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let mut values = incident_values(fields);
    values.extend([Value::from(at_ms), Value::from(id), Value::from(expected_version)]);
    let changed = conn
        .execute(
            "UPDATE incidents SET category = $1, subtype = $2, title_zh = $3, title_en = $4, description = $5, grade = $6, warning_level = $7,
                 response_level = $8, status = $9, lon = $10, lat = $11, affected = $12, figures = $13, jurisdiction_id = $14, path = $15,
                 command_jurisdiction_id = $16, known_at = $17, last_seen_at = $18, merged_into = $19, version = version + 1, updated_at = $20
             WHERE id = $21 AND version = $22",
            &values,
        )
        .await?;
    if changed == 1 {
        return Ok(Versioned::Done(expected_version + 1));
    }
    Ok(match conn.fetch_optional("SELECT version FROM incidents WHERE id = $1", params![id]).await? {
        Some(row) => Versioned::Conflict(row.get("version")?),
        None => Versioned::Missing,
    })
}

/// One incident.
pub async fn get_incident(conn: &mut Conn<'_>, id: i64) -> Result<Option<IncidentRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(decode_incident)
        .transpose()
}

/// What de-duplication needs of an open incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Id.
    pub id: i64,
    /// Category code.
    pub category: String,
    /// Sub-type code.
    pub subtype: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: Option<String>,
    /// Position.
    pub lon: f64,
    /// Position.
    pub lat: f64,
    /// The latest report, Unix ms.
    pub last_seen_at: i64,
}

/// An incident as the in-memory index of open incidents follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowedIncident {
    /// What de-duplication needs.
    pub candidate: Candidate,
    /// Its status (only open ones are kept).
    pub status: String,
    /// When the first tier knew, Unix ms.
    pub known_at: i64,
    /// When it last changed, Unix ms (the feed's order, with the id).
    pub updated_at: i64,
}

/// Incidents changed after `(after_updated, after_id)`, oldest change first, at most `limit`.
pub async fn incidents_changed_since(
    conn: &mut Conn<'_>,
    after_updated: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<FollowedIncident>, StoreError> {
    conn.fetch_all(
        "SELECT id, category, subtype, title_zh, title_en, lon, lat, last_seen_at, status, known_at, updated_at FROM incidents
         WHERE updated_at > $1 OR (updated_at = $1 AND id > $2) ORDER BY updated_at, id LIMIT $3",
        params![after_updated, after_id, limit],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(FollowedIncident {
            candidate: Candidate {
                id: row.get("id")?,
                category: row.get("category")?,
                subtype: row.get("subtype")?,
                title_zh: row.get("title_zh")?,
                title_en: row.get("title_en")?,
                lon: row.get("lon")?,
                lat: row.get("lat")?,
                last_seen_at: row.get("last_seen_at")?,
            },
            status: row.get("status")?,
            known_at: row.get("known_at")?,
            updated_at: row.get("updated_at")?,
        })
    })
    .collect()
}

/// The listing spec of incidents.
pub const INCIDENTS: TableSpec = TableSpec {
    table: "incidents",
    columns: INCIDENT_COLUMNS,
    search_columns: &["title_zh", "title_en", "description"],
    sortable: &["known_at", "id", "status", "grade", "updated_at"],
    placed: true,
    owned: false,
};

/// Lists incidents.
pub async fn list_incidents(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<IncidentRow>, StoreError> {
    crate::list::run(conn, &INCIDENTS, query, decode_incident).await
}

// --------------------------------------------------------------------------------------------- proposals, merges

/// A proposal that two incidents are the same.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRow {
    /// The newer incident.
    pub incident_id: i64,
    /// The incident it may be.
    pub candidate_id: i64,
    /// Score, 0..1.
    pub score: f64,
    /// Why, as JSON (codes and figures).
    pub reasons: String,
}

/// Records (or refreshes) a proposal.
pub async fn propose(conn: &mut Conn<'_>, proposal: &ProposalRow, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO incident_proposals (incident_id, candidate_id, score, reasons, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (incident_id, candidate_id) DO UPDATE SET score = excluded.score, reasons = excluded.reasons",
        params![proposal.incident_id, proposal.candidate_id, proposal.score, proposal.reasons.as_str(), at_ms],
    )
    .await?;
    Ok(())
}

/// The proposals involving an incident (either side), best first.
pub async fn proposals_of(conn: &mut Conn<'_>, incident_id: i64) -> Result<Vec<ProposalRow>, StoreError> {
    conn.fetch_all(
        "SELECT incident_id, candidate_id, score, reasons FROM incident_proposals WHERE incident_id = $1 OR candidate_id = $1
         ORDER BY score DESC, incident_id, candidate_id",
        params![incident_id],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(ProposalRow {
            incident_id: row.get("incident_id")?,
            candidate_id: row.get("candidate_id")?,
            score: row.get("score")?,
            reasons: row.get("reasons")?,
        })
    })
    .collect()
}

/// Records several proposals in one statement.
pub async fn propose_all(conn: &mut Conn<'_>, proposals: &[ProposalRow], at_ms: i64) -> Result<(), StoreError> {
    if proposals.is_empty() {
        return Ok(());
    }
    let mut values = vec![Value::from(at_ms)];
    let mut tuples = Vec::with_capacity(proposals.len());
    for (index, p) in proposals.iter().enumerate() {
        let base = 1 + index * 4;
        tuples.push(format!("(${}, ${}, ${}, ${}, $1)", base + 1, base + 2, base + 3, base + 4));
        values.extend([Value::from(p.incident_id), Value::from(p.candidate_id), Value::from(p.score), Value::from(p.reasons.as_str())]);
    }
    conn.execute(
        format!(
            "INSERT INTO incident_proposals (incident_id, candidate_id, score, reasons, created_at) VALUES {}
             ON CONFLICT (incident_id, candidate_id) DO UPDATE SET score = excluded.score, reasons = excluded.reasons",
            tuples.join(", ")
        ),
        &values,
    )
    .await?;
    Ok(())
}

/// Forgets the proposals between two incidents (after a merge, or a split: they were decided).
pub async fn drop_proposals(conn: &mut Conn<'_>, a: i64, b: i64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM incident_proposals WHERE (incident_id = $1 AND candidate_id = $2) OR (incident_id = $2 AND candidate_id = $1)",
        params![a, b],
    )
    .await?;
    Ok(())
}

/// A merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRow {
    /// Id.
    pub id: i64,
    /// The incident kept.
    pub target_id: i64,
    /// The incident merged into it.
    pub source_id: i64,
    /// The source's status before the merge.
    pub source_status: String,
    /// The reports moved, JSON array of ids.
    pub report_ids: String,
    /// Who merged.
    pub merged_by: String,
    /// When.
    pub merged_at: i64,
    /// Who split it again.
    pub split_by: Option<String>,
    /// When.
    pub split_at: Option<i64>,
}

fn decode_merge(row: &Row) -> Result<MergeRow, StoreError> {
    Ok(MergeRow {
        id: row.get("id")?,
        target_id: row.get("target_id")?,
        source_id: row.get("source_id")?,
        source_status: row.get("source_status")?,
        report_ids: row.get("report_ids")?,
        merged_by: row.get("merged_by")?,
        merged_at: row.get("merged_at")?,
        split_by: row.get("split_by")?,
        split_at: row.get("split_at")?,
    })
}

/// Records a merge.
pub async fn insert_merge(
    conn: &mut Conn<'_>,
    target_id: i64,
    source_id: i64,
    source_status: &str,
    report_ids: &str,
    merged_by: &str,
    at_ms: i64,
) -> Result<MergeRow, StoreError> {
    decode_merge(
        &conn
            .fetch_one(
                "INSERT INTO incident_merges (target_id, source_id, source_status, report_ids, merged_by, merged_at) VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id, target_id, source_id, source_status, report_ids, merged_by, merged_at, split_by, split_at",
                params![target_id, source_id, source_status, report_ids, merged_by, at_ms],
            )
            .await?,
    )
}

/// The merges into an incident, oldest first.
pub async fn merges_into(conn: &mut Conn<'_>, target_id: i64) -> Result<Vec<MergeRow>, StoreError> {
    conn.fetch_all(
        "SELECT id, target_id, source_id, source_status, report_ids, merged_by, merged_at, split_by, split_at FROM incident_merges
         WHERE target_id = $1 ORDER BY id",
        params![target_id],
    )
    .await?
    .iter()
    .map(decode_merge)
    .collect()
}

/// Marks a merge undone; false if it already was.
pub async fn mark_split(conn: &mut Conn<'_>, merge_id: i64, by: &str, at_ms: i64) -> Result<bool, StoreError> {
    Ok(conn
        .execute("UPDATE incident_merges SET split_by = $1, split_at = $2 WHERE id = $3 AND split_at IS NULL", params![by, at_ms, merge_id])
        .await?
        == 1)
}

// ------------------------------------------------------------------------------------------ plans, activations

/// A saved plan version.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    /// Id.
    pub id: i64,
    /// The plan's code.
    pub code: String,
    /// The document's own version string.
    pub version: String,
    /// The revision: 1, 2, … per code.
    pub revision: i64,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: Option<String>,
    /// The document.
    pub document: String,
    /// `draft` or `published` (or `retired`, superseded by a newer published revision).
    pub state: String,
    /// The linter's findings at save, JSON.
    pub findings: String,
    /// Who saved it.
    pub saved_by: String,
    /// When.
    pub created_at: i64,
}

const PLAN_COLUMNS: &str = "id, code, version, revision, title_zh, title_en, document, state, findings, saved_by, created_at";

fn decode_plan(row: &Row) -> Result<PlanRow, StoreError> {
    Ok(PlanRow {
        id: row.get("id")?,
        code: row.get("code")?,
        version: row.get("version")?,
        revision: row.get("revision")?,
        title_zh: row.get("title_zh")?,
        title_en: row.get("title_en")?,
        document: row.get("document")?,
        state: row.get("state")?,
        findings: row.get("findings")?,
        saved_by: row.get("saved_by")?,
        created_at: row.get("created_at")?,
    })
}

/// Saves a new revision of a plan (the next number for its code).
#[allow(clippy::too_many_arguments)]
pub async fn insert_plan(
    conn: &mut Conn<'_>,
    code: &str,
    version: &str,
    title_zh: &str,
    title_en: Option<&str>,
    document: &str,
    state: &str,
    findings: &str,
    saved_by: &str,
    at_ms: i64,
) -> Result<PlanRow, StoreError> {
    let revision: i64 =
        conn.fetch_one("SELECT COALESCE(MAX(revision), 0) + 1 AS next FROM plans WHERE code = $1", params![code]).await?.get("next")?;
    decode_plan(
        &conn
            .fetch_one(
                format!(
                    "INSERT INTO plans (code, version, revision, title_zh, title_en, document, state, findings, saved_by, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {PLAN_COLUMNS}"
                ),
                params![code, version, revision, title_zh, title_en, document, state, findings, saved_by, at_ms],
            )
            .await?,
    )
}

/// Publishes a revision and retires the code's previously published one.
pub async fn publish_plan(conn: &mut Conn<'_>, id: i64) -> Result<bool, StoreError> {
    let Some(row) = conn.fetch_optional("SELECT code FROM plans WHERE id = $1", params![id]).await? else { return Ok(false) };
    let code: String = row.get("code")?;
    conn.execute("UPDATE plans SET state = 'retired' WHERE code = $1 AND state = 'published' AND id <> $2", params![code.as_str(), id])
        .await?;
    Ok(conn.execute("UPDATE plans SET state = 'published' WHERE id = $1", params![id]).await? == 1)
}

/// One plan revision.
pub async fn get_plan(conn: &mut Conn<'_>, id: i64) -> Result<Option<PlanRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1"), params![id]).await?.as_ref().map(decode_plan).transpose()
}

/// The latest revision of each plan (published or not), by code.
pub async fn latest_plans(conn: &mut Conn<'_>) -> Result<Vec<PlanRow>, StoreError> {
    conn.fetch_all(
        format!(
            "SELECT {PLAN_COLUMNS} FROM plans p WHERE revision = (SELECT MAX(revision) FROM plans q WHERE q.code = p.code) ORDER BY code"
        ),
        &[],
    )
    .await?
    .iter()
    .map(decode_plan)
    .collect()
}

/// The published revision of every plan.
pub async fn published_plans(conn: &mut Conn<'_>) -> Result<Vec<PlanRow>, StoreError> {
    conn.fetch_all(format!("SELECT {PLAN_COLUMNS} FROM plans WHERE state = 'published' ORDER BY code"), &[])
        .await?
        .iter()
        .map(decode_plan)
        .collect()
}

/// Every revision of a plan, newest first.
pub async fn plan_revisions(conn: &mut Conn<'_>, code: &str) -> Result<Vec<PlanRow>, StoreError> {
    conn.fetch_all(format!("SELECT {PLAN_COLUMNS} FROM plans WHERE code = $1 ORDER BY revision DESC"), params![code])
        .await?
        .iter()
        .map(decode_plan)
        .collect()
}

/// An activation.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationRow {
    /// Id.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// The plan revision.
    pub plan_id: i64,
    /// The plan's code.
    pub plan_code: String,
    /// The response level in force.
    pub response_level: String,
    /// The level the triggers called for.
    pub triggered_level: Option<String>,
    /// Matched triggers, JSON array.
    pub matched: String,
    /// Who commands.
    pub command_jurisdiction_id: i64,
    /// The scope (home, affected, mode jurisdictions), JSON.
    pub scope: String,
    /// The modes before activation, JSON `[[id, mode], …]`.
    pub modes_before: String,
    /// What could not be resolved, JSON.
    pub findings: String,
    /// Who activated.
    pub activated_by: String,
    /// When.
    pub activated_at: i64,
    /// When it was stood down.
    pub stood_down_at: Option<i64>,
    /// By whom.
    pub stood_down_by: Option<String>,
}

const ACTIVATION_COLUMNS: &str =
    "id, incident_id, plan_id, plan_code, response_level, triggered_level, matched, command_jurisdiction_id, scope,
    modes_before, findings, activated_by, activated_at, stood_down_at, stood_down_by";

fn decode_activation(row: &Row) -> Result<ActivationRow, StoreError> {
    Ok(ActivationRow {
        id: row.get("id")?,
        incident_id: row.get("incident_id")?,
        plan_id: row.get("plan_id")?,
        plan_code: row.get("plan_code")?,
        response_level: row.get("response_level")?,
        triggered_level: row.get("triggered_level")?,
        matched: row.get("matched")?,
        command_jurisdiction_id: row.get("command_jurisdiction_id")?,
        scope: row.get("scope")?,
        modes_before: row.get("modes_before")?,
        findings: row.get("findings")?,
        activated_by: row.get("activated_by")?,
        activated_at: row.get("activated_at")?,
        stood_down_at: row.get("stood_down_at")?,
        stood_down_by: row.get("stood_down_by")?,
    })
}

/// Records an activation.
pub async fn insert_activation(conn: &mut Conn<'_>, a: &ActivationRow) -> Result<ActivationRow, StoreError> {
    decode_activation(
        &conn
            .fetch_one(
                format!(
                    "INSERT INTO activations (incident_id, plan_id, plan_code, response_level, triggered_level, matched, command_jurisdiction_id,
                         scope, modes_before, findings, activated_by, activated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {ACTIVATION_COLUMNS}"
                ),
                params![
                    a.incident_id,
                    a.plan_id,
                    a.plan_code.as_str(),
                    a.response_level.as_str(),
                    a.triggered_level.clone(),
                    a.matched.as_str(),
                    a.command_jurisdiction_id,
                    a.scope.as_str(),
                    a.modes_before.as_str(),
                    a.findings.as_str(),
                    a.activated_by.as_str(),
                    a.activated_at
                ],
            )
            .await?,
    )
}

/// The activations of an incident, oldest first.
pub async fn activations_of(conn: &mut Conn<'_>, incident_id: i64) -> Result<Vec<ActivationRow>, StoreError> {
    conn.fetch_all(format!("SELECT {ACTIVATION_COLUMNS} FROM activations WHERE incident_id = $1 ORDER BY id"), params![incident_id])
        .await?
        .iter()
        .map(decode_activation)
        .collect()
}

/// Activations still in force, anywhere (to know which jurisdictions other plans keep in emergency).
pub async fn active_activations(conn: &mut Conn<'_>) -> Result<Vec<ActivationRow>, StoreError> {
    conn.fetch_all(format!("SELECT {ACTIVATION_COLUMNS} FROM activations WHERE stood_down_at IS NULL ORDER BY id"), &[])
        .await?
        .iter()
        .map(decode_activation)
        .collect()
}

/// Marks an activation stood down; false if it already was.
pub async fn mark_stood_down(conn: &mut Conn<'_>, id: i64, by: &str, at_ms: i64) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            "UPDATE activations SET stood_down_at = $1, stood_down_by = $2 WHERE id = $3 AND stood_down_at IS NULL",
            params![at_ms, by, id],
        )
        .await?
        == 1)
}

/// The events about an incident and its tasks, oldest first (its timeline).
pub async fn timeline(conn: &mut Conn<'_>, incident_id: i64, limit: i64) -> Result<Vec<crate::events::Event>, StoreError> {
    crate::events::events_about(conn, incident_id, limit).await
}

// ------------------------------------------------------------------------------------------- registry snapshot

/// A jurisdiction as plans see it: id, code, level, path, names.
pub type JurisdictionBrief = (i64, String, String, String, String, Option<String>);
/// An organization as plans see it: id, code, kind, sector, jurisdiction, parent.
pub type OrganizationBrief = (i64, String, String, Option<String>, i64, Option<i64>);
/// A member as plans see it: id, jurisdiction, organization, roles (JSON), status.
pub type MemberBrief = (i64, i64, Option<i64>, String, String);

/// Every jurisdiction, in path order.
pub async fn all_jurisdictions(conn: &mut Conn<'_>) -> Result<Vec<JurisdictionBrief>, StoreError> {
    conn.fetch_all("SELECT id, code, level, path, name_zh, name_en FROM jurisdictions ORDER BY path", &[])
        .await?
        .iter()
        .map(|r| Ok((r.get("id")?, r.get("code")?, r.get("level")?, r.get("path")?, r.get("name_zh")?, r.get("name_en")?)))
        .collect()
}

/// Every organization.
pub async fn all_organizations(conn: &mut Conn<'_>) -> Result<Vec<OrganizationBrief>, StoreError> {
    conn.fetch_all("SELECT id, code, kind, sector, jurisdiction_id, parent_id FROM organizations ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| Ok((r.get("id")?, r.get("code")?, r.get("kind")?, r.get("sector")?, r.get("jurisdiction_id")?, r.get("parent_id")?)))
        .collect()
}

/// Every member (no personal data).
pub async fn all_members(conn: &mut Conn<'_>) -> Result<Vec<MemberBrief>, StoreError> {
    conn.fetch_all("SELECT id, jurisdiction_id, organization_id, roles, status FROM members ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| Ok((r.get("id")?, r.get("jurisdiction_id")?, r.get("organization_id")?, r.get("roles")?, r.get("status")?)))
        .collect()
}

/// The grants of the accounts that belong to members: member, role, scope jurisdiction.
pub async fn member_grants(conn: &mut Conn<'_>) -> Result<Vec<(i64, String, Option<i64>)>, StoreError> {
    conn.fetch_all(
        "SELECT a.member_id, g.role, g.jurisdiction_id FROM account_grants g JOIN accounts a ON a.id = g.account_id
         WHERE a.member_id IS NOT NULL AND NOT a.disabled ORDER BY a.member_id, g.id",
        &[],
    )
    .await?
    .iter()
    .map(|r| Ok((r.get("member_id")?, r.get("role")?, r.get("jurisdiction_id")?)))
    .collect()
}

/// Sets a jurisdiction's mode; returns the mode it had, or `None` if there is no such jurisdiction.
pub async fn set_jurisdiction_mode(conn: &mut Conn<'_>, id: i64, mode: &str, at_ms: i64) -> Result<Option<String>, StoreError> {
    let Some(row) = conn.fetch_optional("SELECT mode FROM jurisdictions WHERE id = $1", params![id]).await? else { return Ok(None) };
    let before: String = row.get("mode")?;
    if before != mode {
        conn.execute("UPDATE jurisdictions SET mode = $1, version = version + 1, updated_at = $2 WHERE id = $3", params![mode, at_ms, id])
            .await?;
    }
    Ok(Some(before))
}

// ------------------------------------------------------------------------------------------------------- media

/// Stores an uploaded file under a random key.
pub async fn insert_media(
    conn: &mut Conn<'_>,
    key: &str,
    content_type: &str,
    bytes: Vec<u8>,
    by: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let size = bytes.len() as i64;
    conn.execute(
        "INSERT INTO media (key, content_type, bytes, size, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[Value::from(key), Value::from(content_type), Value::from(bytes), Value::from(size), Value::from(by), Value::from(at_ms)],
    )
    .await?;
    Ok(())
}

/// An uploaded file: content type and bytes.
pub async fn get_media(conn: &mut Conn<'_>, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    conn.fetch_optional("SELECT content_type, bytes FROM media WHERE key = $1", params![key])
        .await?
        .map(|row| Ok((row.get("content_type")?, row.get("bytes")?)))
        .transpose()
}
