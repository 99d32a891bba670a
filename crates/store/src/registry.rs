//! Jurisdictions, organizations, members and teams. Rows carry plain values (codes as text, JSON as values);
//! the application parses them into domain types. Every update is conditional on the version the caller read,
//! so a stale update changes nothing and reports a conflict.

use domain::registry::JurisdictionPath;

use crate::db::{Conn, Row};
use crate::list::{ListQuery, Page, TableSpec};
use crate::{StoreError, params, parse_json};

/// The outcome of a conditional update or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioned {
    /// Done; the row is now at this version (0 for a delete).
    Done(i64),
    /// The row has moved on to another version; nothing changed.
    Conflict(i64),
    /// There is no such row.
    Missing,
}

fn parse_path(column: &str, text: &str) -> Result<JurisdictionPath, StoreError> {
    JurisdictionPath::parse(text).ok_or_else(|| StoreError::Corrupt(format!("{column}: {text}")))
}

/// Checks a conditional write: returns the outcome from the number of rows changed and the current version.
async fn versioned_outcome(
    conn: &mut Conn<'_>,
    table: &'static str,
    id: i64,
    changed: u64,
    new_version: i64,
) -> Result<Versioned, StoreError> {
    if changed == 1 {
        return Ok(Versioned::Done(new_version));
    }
    let sql = format!("SELECT version FROM {table} WHERE id = $1");
    match conn.fetch_optional(sql, params![id]).await? {
        Some(row) => Ok(Versioned::Conflict(row.get("version")?)),
        None => Ok(Versioned::Missing),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Jurisdictions.

/// A stored jurisdiction.
#[derive(Debug, Clone, PartialEq)]
pub struct JurisdictionRow {
    /// Id.
    pub id: i64,
    /// Parent jurisdiction.
    pub parent_id: Option<i64>,
    /// Level code.
    pub level: String,
    /// Unique code (an administrative-division code where there is one).
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// Position in the tree.
    pub path: JurisdictionPath,
    /// IANA time zone for display.
    pub timezone: String,
    /// Boundary, GeoJSON MultiPolygon text (only when asked for).
    pub boundary: Option<String>,
    /// Bounding box of the boundary: west, south, east, north.
    pub bbox: Option<[f64; 4]>,
    /// Operating mode code: peacetime, heightened or emergency.
    pub mode: String,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last updated, Unix ms.
    pub updated_at: i64,
}

/// The fields of a jurisdiction that are written on create and update.
#[derive(Debug, Clone, PartialEq)]
pub struct JurisdictionFields {
    /// Level code.
    pub level: String,
    /// Unique code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// IANA time zone.
    pub timezone: String,
    /// Boundary GeoJSON text.
    pub boundary: Option<String>,
    /// Bounding box.
    pub bbox: Option<[f64; 4]>,
    /// Operating mode code.
    pub mode: String,
}

const JURISDICTION_COLUMNS: &str = "id, parent_id, level, code, name_zh, name_en, path, timezone, NULL AS boundary, min_lon, min_lat, max_lon, max_lat, mode, version, created_at, updated_at";
const JURISDICTION_COLUMNS_WITH_BOUNDARY: &str = "id, parent_id, level, code, name_zh, name_en, path, timezone, boundary, min_lon, min_lat, max_lon, max_lat, mode, version, created_at, updated_at";

fn decode_bbox(row: &Row) -> Result<Option<[f64; 4]>, StoreError> {
    let parts: [Option<f64>; 4] = [row.get("min_lon")?, row.get("min_lat")?, row.get("max_lon")?, row.get("max_lat")?];
    Ok(match parts {
        [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
        _ => None,
    })
}

fn decode_jurisdiction(row: &Row) -> Result<JurisdictionRow, StoreError> {
    Ok(JurisdictionRow {
        id: row.get("id")?,
        parent_id: row.get("parent_id")?,
        level: row.get("level")?,
        code: row.get("code")?,
        name_zh: row.get("name_zh")?,
        name_en: row.get("name_en")?,
        path: parse_path("jurisdictions.path", &row.get::<String>("path")?)?,
        timezone: row.get("timezone")?,
        boundary: row.get("boundary")?,
        bbox: decode_bbox(row)?,
        mode: row.get("mode")?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// Inserts a jurisdiction under `parent` (its id and path), at version 1.
pub async fn insert_jurisdiction(
    conn: &mut Conn<'_>,
    parent: Option<(i64, &JurisdictionPath)>,
    fields: &JurisdictionFields,
    at_ms: i64,
) -> Result<JurisdictionRow, StoreError> {
    let [min_lon, min_lat, max_lon, max_lat] = fields.bbox.map(|b| b.map(Some)).unwrap_or([None; 4]);
    let id: i64 = conn
        .fetch_one(
            "INSERT INTO jurisdictions (parent_id, level, code, name_zh, name_en, path, timezone, boundary, min_lon, min_lat, max_lon, max_lat, mode, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9, $10, $11, $13, 1, $12, $12) RETURNING id",
            params![
                parent.map(|(id, _)| id),
                fields.level.as_str(),
                fields.code.as_str(),
                fields.name_zh.as_str(),
                fields.name_en.clone(),
                fields.timezone.as_str(),
                fields.boundary.clone(),
                min_lon,
                min_lat,
                max_lon,
                max_lat,
                at_ms,
                fields.mode.as_str(),
            ],
        )
        .await?
        .get("id")?;
    let path = match parent {
        Some((_, parent_path)) => parent_path.child(domain::ids::JurisdictionId(id)),
        None => JurisdictionPath::root(domain::ids::JurisdictionId(id)),
    };
    conn.execute("UPDATE jurisdictions SET path = $1 WHERE id = $2", params![path.as_str(), id]).await?;
    get_jurisdiction(conn, id, true).await?.ok_or(StoreError::NoRow)
}

/// The jurisdiction with `id`; its boundary only if `with_boundary`.
pub async fn get_jurisdiction(conn: &mut Conn<'_>, id: i64, with_boundary: bool) -> Result<Option<JurisdictionRow>, StoreError> {
    let columns = if with_boundary { JURISDICTION_COLUMNS_WITH_BOUNDARY } else { JURISDICTION_COLUMNS };
    conn.fetch_optional(format!("SELECT {columns} FROM jurisdictions WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(decode_jurisdiction)
        .transpose()
}

/// The jurisdiction with `code`, without its boundary.
pub async fn get_jurisdiction_by_code(conn: &mut Conn<'_>, code: &str) -> Result<Option<JurisdictionRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {JURISDICTION_COLUMNS} FROM jurisdictions WHERE code = $1"), params![code])
        .await?
        .as_ref()
        .map(decode_jurisdiction)
        .transpose()
}

/// Rewrites the mutable fields of a jurisdiction if it is still at `expected_version`.
pub async fn update_jurisdiction(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    fields: &JurisdictionFields,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let [min_lon, min_lat, max_lon, max_lat] = fields.bbox.map(|b| b.map(Some)).unwrap_or([None; 4]);
    let changed = conn
        .execute(
            "UPDATE jurisdictions SET level = $1, code = $2, name_zh = $3, name_en = $4, timezone = $5, boundary = $6,
                 min_lon = $7, min_lat = $8, max_lon = $9, max_lat = $10, mode = $14, version = version + 1, updated_at = $11
             WHERE id = $12 AND version = $13",
            params![
                fields.level.as_str(),
                fields.code.as_str(),
                fields.name_zh.as_str(),
                fields.name_en.clone(),
                fields.timezone.as_str(),
                fields.boundary.clone(),
                min_lon,
                min_lat,
                max_lon,
                max_lat,
                at_ms,
                id,
                expected_version,
                fields.mode.as_str(),
            ],
        )
        .await?;
    versioned_outcome(conn, "jurisdictions", id, changed, expected_version + 1).await
}

/// What still refers to a row, by kind, for refusing deletes with a helpful message.
pub async fn jurisdiction_dependents(conn: &mut Conn<'_>, id: i64) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let queries: [(&'static str, &'static str); 5] = [
        ("jurisdiction", "SELECT COUNT(*) AS n FROM jurisdictions WHERE parent_id = $1"),
        ("organization", "SELECT COUNT(*) AS n FROM organizations WHERE jurisdiction_id = $1"),
        ("member", "SELECT COUNT(*) AS n FROM members WHERE jurisdiction_id = $1"),
        ("team", "SELECT COUNT(*) AS n FROM teams WHERE jurisdiction_id = $1"),
        ("account", "SELECT COUNT(*) AS n FROM account_grants WHERE jurisdiction_id = $1"),
    ];
    let mut found = Vec::new();
    for (kind, sql) in queries {
        let count: i64 = conn.fetch_one(sql, params![id]).await?.get("n")?;
        if count > 0 {
            found.push((kind, count));
        }
    }
    Ok(found)
}

/// Deletes a jurisdiction if it is still at `expected_version` (callers check dependents first).
pub async fn delete_jurisdiction(conn: &mut Conn<'_>, id: i64, expected_version: i64) -> Result<Versioned, StoreError> {
    let changed = conn.execute("DELETE FROM jurisdictions WHERE id = $1 AND version = $2", params![id, expected_version]).await?;
    versioned_outcome(conn, "jurisdictions", id, changed, 0).await
}

/// The listing spec of jurisdictions.
pub const JURISDICTIONS: TableSpec = TableSpec {
    table: "jurisdictions",
    columns: JURISDICTION_COLUMNS,
    search_columns: &["name_zh", "name_en", "code"],
    sortable: &["path", "code", "name_zh", "name_en", "level", "mode", "updated_at"],
    placed: true,
    owned: false,
};

/// Lists jurisdictions (without boundaries).
pub async fn list_jurisdictions(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<JurisdictionRow>, StoreError> {
    crate::list::run(conn, &JURISDICTIONS, query, decode_jurisdiction).await
}

/// Every jurisdiction with a boundary that intersects the box, with boundaries (for the map).
pub async fn jurisdictions_in_bbox(conn: &mut Conn<'_>, bbox: [f64; 4], limit: i64) -> Result<Vec<JurisdictionRow>, StoreError> {
    let [west, south, east, north] = bbox;
    conn.fetch_all(
        format!(
            "SELECT {JURISDICTION_COLUMNS_WITH_BOUNDARY} FROM jurisdictions
             WHERE boundary IS NOT NULL AND min_lon <= $1 AND max_lon >= $2 AND min_lat <= $3 AND max_lat >= $4
             ORDER BY path LIMIT $5"
        ),
        params![east, west, north, south, limit],
    )
    .await?
    .iter()
    .map(decode_jurisdiction)
    .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Organizations.

/// A stored organization.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationRow {
    /// Id.
    pub id: i64,
    /// The writable fields.
    pub fields: OrganizationFields,
    /// Path of its jurisdiction.
    pub path: JurisdictionPath,
    /// Version.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Updated, Unix ms.
    pub updated_at: i64,
}

/// The writable fields of an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationFields {
    /// Kind code.
    pub kind: String,
    /// Sector code.
    pub sector: Option<String>,
    /// Unique code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// Its home jurisdiction.
    pub jurisdiction_id: i64,
    /// Parent organization.
    pub parent_id: Option<i64>,
    /// Contact phone.
    pub contact_phone: Option<String>,
    /// Contact e-mail.
    pub contact_email: Option<String>,
    /// Street address.
    pub address: Option<String>,
}

const ORGANIZATION_COLUMNS: &str = "id, kind, sector, code, name_zh, name_en, jurisdiction_id, path, parent_id, contact_phone, contact_email, address, version, created_at, updated_at";

fn decode_organization(row: &Row) -> Result<OrganizationRow, StoreError> {
    Ok(OrganizationRow {
        id: row.get("id")?,
        fields: OrganizationFields {
            kind: row.get("kind")?,
            sector: row.get("sector")?,
            code: row.get("code")?,
            name_zh: row.get("name_zh")?,
            name_en: row.get("name_en")?,
            jurisdiction_id: row.get("jurisdiction_id")?,
            parent_id: row.get("parent_id")?,
            contact_phone: row.get("contact_phone")?,
            contact_email: row.get("contact_email")?,
            address: row.get("address")?,
        },
        path: parse_path("organizations.path", &row.get::<String>("path")?)?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

/// Inserts an organization placed at `path` (its jurisdiction's path), at version 1.
pub async fn insert_organization(
    conn: &mut Conn<'_>,
    fields: &OrganizationFields,
    path: &JurisdictionPath,
    at_ms: i64,
) -> Result<OrganizationRow, StoreError> {
    let row = conn
        .fetch_one(
            format!("INSERT INTO organizations (kind, sector, code, name_zh, name_en, jurisdiction_id, path, parent_id, contact_phone, contact_email, address, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12) RETURNING {ORGANIZATION_COLUMNS}"),
            params![
                fields.kind.as_str(),
                fields.sector.clone(),
                fields.code.as_str(),
                fields.name_zh.as_str(),
                fields.name_en.clone(),
                fields.jurisdiction_id,
                path.as_str(),
                fields.parent_id,
                fields.contact_phone.clone(),
                fields.contact_email.clone(),
                fields.address.clone(),
                at_ms,
            ],
        )
        .await?;
    decode_organization(&row)
}

/// The organization with `id`.
pub async fn get_organization(conn: &mut Conn<'_>, id: i64) -> Result<Option<OrganizationRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(decode_organization)
        .transpose()
}

/// The organization with `code`.
pub async fn get_organization_by_code(conn: &mut Conn<'_>, code: &str) -> Result<Option<OrganizationRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE code = $1"), params![code])
        .await?
        .as_ref()
        .map(decode_organization)
        .transpose()
}

/// Rewrites an organization if it is still at `expected_version`.
pub async fn update_organization(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    fields: &OrganizationFields,
    path: &JurisdictionPath,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let changed = conn
        .execute(
            "UPDATE organizations SET kind = $1, sector = $2, code = $3, name_zh = $4, name_en = $5, jurisdiction_id = $6, path = $7,
                 parent_id = $8, contact_phone = $9, contact_email = $10, address = $11, version = version + 1, updated_at = $12
             WHERE id = $13 AND version = $14",
            params![
                fields.kind.as_str(),
                fields.sector.clone(),
                fields.code.as_str(),
                fields.name_zh.as_str(),
                fields.name_en.clone(),
                fields.jurisdiction_id,
                path.as_str(),
                fields.parent_id,
                fields.contact_phone.clone(),
                fields.contact_email.clone(),
                fields.address.clone(),
                at_ms,
                id,
                expected_version,
            ],
        )
        .await?;
    versioned_outcome(conn, "organizations", id, changed, expected_version + 1).await
}

/// What still refers to an organization.
pub async fn organization_dependents(conn: &mut Conn<'_>, id: i64) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let queries: [(&'static str, &'static str); 4] = [
        ("organization", "SELECT COUNT(*) AS n FROM organizations WHERE parent_id = $1"),
        ("member", "SELECT COUNT(*) AS n FROM members WHERE organization_id = $1"),
        ("team", "SELECT COUNT(*) AS n FROM teams WHERE organization_id = $1"),
        ("account", "SELECT COUNT(*) AS n FROM account_grants WHERE organization_id = $1"),
    ];
    let mut found = Vec::new();
    for (kind, sql) in queries {
        let count: i64 = conn.fetch_one(sql, params![id]).await?.get("n")?;
        if count > 0 {
            found.push((kind, count));
        }
    }
    Ok(found)
}

/// Deletes an organization if it is still at `expected_version`.
pub async fn delete_organization(conn: &mut Conn<'_>, id: i64, expected_version: i64) -> Result<Versioned, StoreError> {
    let changed = conn.execute("DELETE FROM organizations WHERE id = $1 AND version = $2", params![id, expected_version]).await?;
    versioned_outcome(conn, "organizations", id, changed, 0).await
}

/// The listing spec of organizations.
pub const ORGANIZATIONS: TableSpec = TableSpec {
    table: "organizations",
    columns: ORGANIZATION_COLUMNS,
    search_columns: &["name_zh", "name_en", "code"],
    sortable: &["name_zh", "name_en", "code", "kind", "sector", "updated_at"],
    placed: true,
    owned: false,
};

/// Lists organizations.
pub async fn list_organizations(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<OrganizationRow>, StoreError> {
    crate::list::run(conn, &ORGANIZATIONS, query, decode_organization).await
}

// ---------------------------------------------------------------------------------------------------------
// Members.

/// A stored member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    /// Id.
    pub id: i64,
    /// The writable fields.
    pub fields: MemberFields,
    /// Path of its jurisdiction.
    pub path: JurisdictionPath,
    /// Version.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Updated, Unix ms.
    pub updated_at: i64,
}

/// The writable fields of a member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberFields {
    /// Home jurisdiction.
    pub jurisdiction_id: i64,
    /// Organization, if any.
    pub organization_id: Option<i64>,
    /// Name.
    pub name: String,
    /// Phone (confidential).
    pub phone: Option<String>,
    /// E-mail (confidential).
    pub email: Option<String>,
    /// Role codes.
    pub roles: Vec<String>,
    /// Skill codes.
    pub skills: Vec<String>,
    /// Credentials as JSON objects `{kind, number, issuer, expires_on}`.
    pub credentials: serde_json::Value,
    /// The earliest expiry date among the credentials (`YYYY-MM-DD`), for "expiring soon" filters.
    pub next_credential_expiry: Option<String>,
    /// Home location (confidential): lon, lat.
    pub home: Option<(f64, f64)>,
    /// Base location (where they usually are on duty): lon, lat.
    pub base: Option<(f64, f64)>,
    /// Status code.
    pub status: String,
}

const MEMBER_COLUMNS: &str = "id, jurisdiction_id, path, organization_id, name, phone, email, roles, skills, credentials, next_credential_expiry, home_lon, home_lat, base_lon, base_lat, status, version, created_at, updated_at";

fn string_list(column: &str, text: &str) -> Result<Vec<String>, StoreError> {
    match parse_json(column, text)? {
        serde_json::Value::Array(items) => {
            items.into_iter().map(|item| item.as_str().map(str::to_string).ok_or_else(|| StoreError::Corrupt(column.to_string()))).collect()
        }
        _ => Err(StoreError::Corrupt(column.to_string())),
    }
}

fn point(row: &Row, lon: &str, lat: &str) -> Result<Option<(f64, f64)>, StoreError> {
    Ok(match (row.get::<Option<f64>>(lon)?, row.get::<Option<f64>>(lat)?) {
        (Some(lon), Some(lat)) => Some((lon, lat)),
        _ => None,
    })
}

fn decode_member(row: &Row) -> Result<MemberRow, StoreError> {
    Ok(MemberRow {
        id: row.get("id")?,
        fields: MemberFields {
            jurisdiction_id: row.get("jurisdiction_id")?,
            organization_id: row.get("organization_id")?,
            name: row.get("name")?,
            phone: row.get("phone")?,
            email: row.get("email")?,
            roles: string_list("members.roles", &row.get::<String>("roles")?)?,
            skills: string_list("members.skills", &row.get::<String>("skills")?)?,
            credentials: parse_json("members.credentials", &row.get::<String>("credentials")?)?,
            next_credential_expiry: row.get("next_credential_expiry")?,
            home: point(row, "home_lon", "home_lat")?,
            base: point(row, "base_lon", "base_lat")?,
            status: row.get("status")?,
        },
        path: parse_path("members.path", &row.get::<String>("path")?)?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

fn json_list(items: &[String]) -> String {
    serde_json::Value::Array(items.iter().cloned().map(serde_json::Value::String).collect()).to_string()
}

/// Inserts a member placed at `path`, at version 1.
pub async fn insert_member(
    conn: &mut Conn<'_>,
    fields: &MemberFields,
    path: &JurisdictionPath,
    at_ms: i64,
) -> Result<MemberRow, StoreError> {
    let row = conn
        .fetch_one(
            format!("INSERT INTO members (jurisdiction_id, path, organization_id, name, phone, email, roles, skills, credentials, next_credential_expiry,
                 home_lon, home_lat, base_lon, base_lat, status, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16) RETURNING {MEMBER_COLUMNS}"),
            params![
                fields.jurisdiction_id,
                path.as_str(),
                fields.organization_id,
                fields.name.as_str(),
                fields.phone.clone(),
                fields.email.clone(),
                json_list(&fields.roles),
                json_list(&fields.skills),
                fields.credentials.to_string(),
                fields.next_credential_expiry.clone(),
                fields.home.map(|p| p.0),
                fields.home.map(|p| p.1),
                fields.base.map(|p| p.0),
                fields.base.map(|p| p.1),
                fields.status.as_str(),
                at_ms,
            ],
        )
        .await?;
    decode_member(&row)
}

/// The member with `id`.
pub async fn get_member(conn: &mut Conn<'_>, id: i64) -> Result<Option<MemberRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(decode_member)
        .transpose()
}

/// Rewrites a member if it is still at `expected_version`.
pub async fn update_member(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    fields: &MemberFields,
    path: &JurisdictionPath,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let changed = conn
        .execute(
            "UPDATE members SET jurisdiction_id = $1, path = $2, organization_id = $3, name = $4, phone = $5, email = $6, roles = $7, skills = $8,
                 credentials = $9, next_credential_expiry = $10, home_lon = $11, home_lat = $12, base_lon = $13, base_lat = $14, status = $15,
                 version = version + 1, updated_at = $16
             WHERE id = $17 AND version = $18",
            params![
                fields.jurisdiction_id,
                path.as_str(),
                fields.organization_id,
                fields.name.as_str(),
                fields.phone.clone(),
                fields.email.clone(),
                json_list(&fields.roles),
                json_list(&fields.skills),
                fields.credentials.to_string(),
                fields.next_credential_expiry.clone(),
                fields.home.map(|p| p.0),
                fields.home.map(|p| p.1),
                fields.base.map(|p| p.0),
                fields.base.map(|p| p.1),
                fields.status.as_str(),
                at_ms,
                id,
                expected_version,
            ],
        )
        .await?;
    versioned_outcome(conn, "members", id, changed, expected_version + 1).await
}

/// What still refers to a member.
pub async fn member_dependents(conn: &mut Conn<'_>, id: i64) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let queries: [(&'static str, &'static str); 3] = [
        ("team", "SELECT COUNT(*) AS n FROM team_members WHERE member_id = $1"),
        ("team", "SELECT COUNT(*) AS n FROM teams WHERE leader_member_id = $1"),
        ("account", "SELECT COUNT(*) AS n FROM accounts WHERE member_id = $1"),
    ];
    let mut found: Vec<(&'static str, i64)> = Vec::new();
    for (kind, sql) in queries {
        let count: i64 = conn.fetch_one(sql, params![id]).await?.get("n")?;
        if count > 0 {
            match found.iter_mut().find(|(existing, _)| *existing == kind) {
                Some(entry) => entry.1 += count,
                None => found.push((kind, count)),
            }
        }
    }
    Ok(found)
}

/// Deletes a member if it is still at `expected_version`.
pub async fn delete_member(conn: &mut Conn<'_>, id: i64, expected_version: i64) -> Result<Versioned, StoreError> {
    let changed = conn.execute("DELETE FROM members WHERE id = $1 AND version = $2", params![id, expected_version]).await?;
    versioned_outcome(conn, "members", id, changed, 0).await
}

/// The listing spec of members.
pub const MEMBERS: TableSpec = TableSpec {
    table: "members",
    columns: MEMBER_COLUMNS,
    search_columns: &["name", "skills", "roles"],
    sortable: &["name", "status", "next_credential_expiry", "updated_at", "created_at"],
    placed: true,
    owned: true,
};

/// Lists members.
pub async fn list_members(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<MemberRow>, StoreError> {
    crate::list::run(conn, &MEMBERS, query, decode_member).await
}

// ---------------------------------------------------------------------------------------------------------
// Teams.

/// A stored team.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRow {
    /// Id.
    pub id: i64,
    /// The writable fields.
    pub fields: TeamFields,
    /// Path of its jurisdiction.
    pub path: JurisdictionPath,
    /// Version.
    pub version: i64,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Updated, Unix ms.
    pub updated_at: i64,
}

/// The writable fields of a team.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamFields {
    /// Kind code.
    pub kind: String,
    /// Tier code.
    pub tier: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// Home jurisdiction.
    pub jurisdiction_id: i64,
    /// Owning organization.
    pub organization_id: Option<i64>,
    /// Leader.
    pub leader_member_id: Option<i64>,
    /// Members, by id, in ascending order.
    pub member_ids: Vec<i64>,
}

const TEAM_COLUMNS: &str =
    "id, kind, tier, name_zh, name_en, jurisdiction_id, path, organization_id, leader_member_id, version, created_at, updated_at";

fn decode_team(row: &Row) -> Result<TeamRow, StoreError> {
    Ok(TeamRow {
        id: row.get("id")?,
        fields: TeamFields {
            kind: row.get("kind")?,
            tier: row.get("tier")?,
            name_zh: row.get("name_zh")?,
            name_en: row.get("name_en")?,
            jurisdiction_id: row.get("jurisdiction_id")?,
            organization_id: row.get("organization_id")?,
            leader_member_id: row.get("leader_member_id")?,
            member_ids: Vec::new(),
        },
        path: parse_path("teams.path", &row.get::<String>("path")?)?,
        version: row.get("version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

async fn team_member_ids(conn: &mut Conn<'_>, team_id: i64) -> Result<Vec<i64>, StoreError> {
    conn.fetch_all("SELECT member_id FROM team_members WHERE team_id = $1 ORDER BY member_id", params![team_id])
        .await?
        .iter()
        .map(|row| row.get("member_id"))
        .collect()
}

async fn replace_team_members(conn: &mut Conn<'_>, team_id: i64, member_ids: &[i64]) -> Result<(), StoreError> {
    conn.execute("DELETE FROM team_members WHERE team_id = $1", params![team_id]).await?;
    for member_id in member_ids {
        conn.execute("INSERT INTO team_members (team_id, member_id) VALUES ($1, $2)", params![team_id, *member_id]).await?;
    }
    Ok(())
}

/// Inserts a team placed at `path`, with its members, at version 1.
pub async fn insert_team(conn: &mut Conn<'_>, fields: &TeamFields, path: &JurisdictionPath, at_ms: i64) -> Result<TeamRow, StoreError> {
    let id: i64 = conn
        .fetch_one(
            "INSERT INTO teams (kind, tier, name_zh, name_en, jurisdiction_id, path, organization_id, leader_member_id, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) RETURNING id",
            params![
                fields.kind.as_str(),
                fields.tier.as_str(),
                fields.name_zh.as_str(),
                fields.name_en.clone(),
                fields.jurisdiction_id,
                path.as_str(),
                fields.organization_id,
                fields.leader_member_id,
                at_ms,
            ],
        )
        .await?
        .get("id")?;
    replace_team_members(conn, id, &fields.member_ids).await?;
    get_team(conn, id).await?.ok_or(StoreError::NoRow)
}

/// The team with `id`, with its members.
pub async fn get_team(conn: &mut Conn<'_>, id: i64) -> Result<Option<TeamRow>, StoreError> {
    let Some(row) = conn.fetch_optional(format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1"), params![id]).await? else {
        return Ok(None);
    };
    let mut team = decode_team(&row)?;
    team.fields.member_ids = team_member_ids(conn, id).await?;
    Ok(Some(team))
}

/// Rewrites a team and its membership if it is still at `expected_version`.
pub async fn update_team(
    conn: &mut Conn<'_>,
    id: i64,
    expected_version: i64,
    fields: &TeamFields,
    path: &JurisdictionPath,
    at_ms: i64,
) -> Result<Versioned, StoreError> {
    let changed = conn
        .execute(
            "UPDATE teams SET kind = $1, tier = $2, name_zh = $3, name_en = $4, jurisdiction_id = $5, path = $6, organization_id = $7,
                 leader_member_id = $8, version = version + 1, updated_at = $9
             WHERE id = $10 AND version = $11",
            params![
                fields.kind.as_str(),
                fields.tier.as_str(),
                fields.name_zh.as_str(),
                fields.name_en.clone(),
                fields.jurisdiction_id,
                path.as_str(),
                fields.organization_id,
                fields.leader_member_id,
                at_ms,
                id,
                expected_version,
            ],
        )
        .await?;
    let outcome = versioned_outcome(conn, "teams", id, changed, expected_version + 1).await?;
    if matches!(outcome, Versioned::Done(_)) {
        replace_team_members(conn, id, &fields.member_ids).await?;
    }
    Ok(outcome)
}

/// Deletes a team (and its membership list) if it is still at `expected_version`.
pub async fn delete_team(conn: &mut Conn<'_>, id: i64, expected_version: i64) -> Result<Versioned, StoreError> {
    let changed = conn.execute("DELETE FROM teams WHERE id = $1 AND version = $2", params![id, expected_version]).await?;
    versioned_outcome(conn, "teams", id, changed, 0).await
}

/// The listing spec of teams.
pub const TEAMS: TableSpec = TableSpec {
    table: "teams",
    columns: TEAM_COLUMNS,
    search_columns: &["name_zh", "name_en"],
    sortable: &["name_zh", "name_en", "kind", "tier", "updated_at"],
    placed: true,
    owned: true,
};

/// Lists teams (each with its member ids).
pub async fn list_teams(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<TeamRow>, StoreError> {
    let mut page = crate::list::run(conn, &TEAMS, query, decode_team).await?;
    for team in &mut page.items {
        team.fields.member_ids = team_member_ids(conn, team.id).await?;
    }
    Ok(page)
}
