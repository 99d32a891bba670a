//! Registered households and the vulnerable-resident register. Addresses, phones and needs are personal data: the
//! application decides who sees them; this module stores and finds them.

use domain::registry::JurisdictionPath;

use crate::db::{Conn, Row, Value};
use crate::list::{ListQuery, Page, TableSpec};
use crate::{StoreError, params};

/// A stored household.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdRow {
    /// Id.
    pub id: i64,
    /// The writable fields.
    pub fields: HouseholdFields,
    /// Path of its jurisdiction (usually a grid).
    pub path: JurisdictionPath,
    /// Whether it is on the vulnerable-resident register.
    pub vulnerable: bool,
    /// Version.
    pub version: i64,
}

/// The writable fields of a household.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdFields {
    /// Its jurisdiction (usually a grid).
    pub jurisdiction_id: i64,
    /// A stable code (for imports: the source's id).
    pub code: String,
    /// Street address.
    pub address: Option<String>,
    /// Position.
    pub lon: f64,
    /// Position.
    pub lat: f64,
    /// How many people live there.
    pub residents: i64,
    /// Phone for text messages.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Preferred language tag.
    pub language: String,
}

const COLUMNS: &str =
    "h.id, h.jurisdiction_id, h.path, h.code, h.address, h.lon, h.lat, h.residents, h.phone, h.email, h.language, h.version,
    (SELECT COUNT(*) FROM vulnerable_residents v WHERE v.household_id = h.id) AS vulnerable";

fn decode(row: &Row) -> Result<HouseholdRow, StoreError> {
    let path: String = row.get("path")?;
    Ok(HouseholdRow {
        id: row.get("id")?,
        fields: HouseholdFields {
            jurisdiction_id: row.get("jurisdiction_id")?,
            code: row.get("code")?,
            address: row.get("address")?,
            lon: row.get("lon")?,
            lat: row.get("lat")?,
            residents: row.get("residents")?,
            phone: row.get("phone")?,
            email: row.get("email")?,
            language: row.get("language")?,
        },
        path: JurisdictionPath::parse(&path).ok_or_else(|| StoreError::Corrupt(format!("households.path {path}")))?,
        vulnerable: row.get::<i64>("vulnerable")? > 0,
        version: row.get("version")?,
    })
}

/// Rows per multi-row statement.
const CHUNK: usize = 500;

/// Inserts households, or updates those whose code exists; returns how many rows were written.
pub async fn upsert_households(conn: &mut Conn<'_>, rows: &[(HouseholdFields, JurisdictionPath)], at_ms: i64) -> Result<u64, StoreError> {
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 12);
        let mut tuples = Vec::with_capacity(chunk.len());
        for (index, (fields, path)) in chunk.iter().enumerate() {
            let base = index * 12;
            tuples.push(format!(
                "({}, 1, ${}, ${})",
                (1..=10).map(|c| format!("${}", base + c)).collect::<Vec<_>>().join(", "),
                base + 11,
                base + 12
            ));
            values.extend([
                Value::from(fields.jurisdiction_id),
                Value::from(path.as_str()),
                Value::from(fields.code.as_str()),
                Value::from(fields.address.clone()),
                Value::from(fields.lon),
                Value::from(fields.lat),
                Value::from(fields.residents),
                Value::from(fields.phone.clone()),
                Value::from(fields.email.clone()),
                Value::from(fields.language.as_str()),
                Value::from(at_ms),
                Value::from(at_ms),
            ]);
        }
        let sql = format!(
            "INSERT INTO households (jurisdiction_id, path, code, address, lon, lat, residents, phone, email, language, version, created_at, updated_at)
             VALUES {}
             ON CONFLICT (code) DO UPDATE SET jurisdiction_id = excluded.jurisdiction_id, path = excluded.path, address = excluded.address,
                 lon = excluded.lon, lat = excluded.lat, residents = excluded.residents, phone = excluded.phone, email = excluded.email,
                 language = excluded.language, version = households.version + 1, updated_at = excluded.updated_at",
            tuples.join(", ")
        );
        written += conn.execute(sql, &values).await?;
    }
    Ok(written)
}

/// The household with `id`.
pub async fn get_household(conn: &mut Conn<'_>, id: i64) -> Result<Option<HouseholdRow>, StoreError> {
    conn.fetch_optional(format!("SELECT {COLUMNS} FROM households h WHERE h.id = $1"), params![id]).await?.as_ref().map(decode).transpose()
}

/// The id of the household with `code`.
pub async fn household_id_by_code(conn: &mut Conn<'_>, code: &str) -> Result<Option<i64>, StoreError> {
    conn.fetch_optional("SELECT id FROM households WHERE code = $1", params![code]).await?.map(|row| row.get("id")).transpose()
}

/// Puts a household on the vulnerable-resident register (or updates its needs).
pub async fn set_vulnerable(conn: &mut Conn<'_>, household_id: i64, needs: &str, consent_at_ms: i64, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO vulnerable_residents (household_id, needs, consent_at, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (household_id) DO UPDATE SET needs = excluded.needs, consent_at = excluded.consent_at",
        params![household_id, needs, consent_at_ms, at_ms],
    )
    .await?;
    Ok(())
}

/// The listing spec of households.
pub const HOUSEHOLDS: TableSpec = TableSpec {
    table: "households h",
    columns: COLUMNS,
    search_columns: &["h.code", "h.address"],
    sortable: &["h.code", "h.residents"],
    placed: true,
    owned: false,
};

/// Lists households.
pub async fn list_households(conn: &mut Conn<'_>, query: &ListQuery) -> Result<Page<HouseholdRow>, StoreError> {
    crate::list::run(conn, &HOUSEHOLDS, query, decode).await
}

/// A point for the targeting index: a household or a member, with its position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetPoint {
    /// Household or member id.
    pub id: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// Every household's position, in pages of `limit` after `after_id` (for building the index without one huge read).
pub async fn household_points(conn: &mut Conn<'_>, after_id: i64, limit: i64) -> Result<Vec<TargetPoint>, StoreError> {
    conn.fetch_all("SELECT id, lon, lat FROM households WHERE id > $1 ORDER BY id LIMIT $2", params![after_id, limit])
        .await?
        .iter()
        .map(|row| Ok(TargetPoint { id: row.get("id")?, lon: row.get("lon")?, lat: row.get("lat")? }))
        .collect()
}

/// What a delivery needs to know of a household.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdContact {
    /// Id.
    pub id: i64,
    /// Its jurisdiction (a grid, for reach by grid).
    pub jurisdiction_id: i64,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Language tag.
    pub language: String,
    /// On the vulnerable-resident register.
    pub vulnerable: bool,
}

/// Contacts of the households with ids from `ids` (any number; read in chunks).
pub async fn household_contacts(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<HouseholdContact>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let values: Vec<Value> = chunk.iter().map(|id| Value::from(*id)).collect();
        let sql = format!(
            "SELECT h.id, h.jurisdiction_id, h.phone, h.email, h.language, v.household_id AS vulnerable_id
             FROM households h LEFT JOIN vulnerable_residents v ON v.household_id = h.id WHERE h.id IN ({})",
            placeholders.join(", ")
        );
        for row in conn.fetch_all(sql, &values).await? {
            out.push(HouseholdContact {
                id: row.get("id")?,
                jurisdiction_id: row.get("jurisdiction_id")?,
                phone: row.get("phone")?,
                email: row.get("email")?,
                language: row.get("language")?,
                vulnerable: row.get::<Option<i64>>("vulnerable_id")?.is_some(),
            });
        }
    }
    Ok(out)
}

/// A change of position for the targeting index, in `(updated_at, id)` order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointChange {
    /// Household or member id.
    pub id: i64,
    /// The new position, or `None` when it has none any more.
    pub at: Option<(f64, f64)>,
    /// When the row changed, Unix ms.
    pub updated_at: i64,
}

/// Households changed after `(after_updated, after_id)`, oldest first, at most `limit`.
pub async fn households_changed_since(
    conn: &mut Conn<'_>,
    after_updated: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<PointChange>, StoreError> {
    conn.fetch_all(
        "SELECT id, lon, lat, updated_at FROM households WHERE updated_at > $1 OR (updated_at = $1 AND id > $2) ORDER BY updated_at, id LIMIT $3",
        params![after_updated, after_id, limit],
    )
    .await?
    .iter()
    .map(|row| Ok(PointChange { id: row.get("id")?, at: Some((row.get("lon")?, row.get("lat")?)), updated_at: row.get("updated_at")? }))
    .collect()
}

/// Members changed after `(after_updated, after_id)`, oldest first, at most `limit`; a member's position is their
/// home, or their base when they have no home on record.
pub async fn members_changed_since(
    conn: &mut Conn<'_>,
    after_updated: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<PointChange>, StoreError> {
    conn.fetch_all(
        "SELECT id, COALESCE(home_lon, base_lon) AS lon, COALESCE(home_lat, base_lat) AS lat, updated_at FROM members
         WHERE updated_at > $1 OR (updated_at = $1 AND id > $2) ORDER BY updated_at, id LIMIT $3",
        params![after_updated, after_id, limit],
    )
    .await?
    .iter()
    .map(|row| {
        let at = match (row.get::<Option<f64>>("lon")?, row.get::<Option<f64>>("lat")?) {
            (Some(lon), Some(lat)) => Some((lon, lat)),
            _ => None,
        };
        Ok(PointChange { id: row.get("id")?, at, updated_at: row.get("updated_at")? })
    })
    .collect()
}

/// How many households, residents and vulnerable households are among `ids`.
pub async fn headcount(conn: &mut Conn<'_>, ids: &[i64]) -> Result<(i64, i64, i64), StoreError> {
    let mut totals = (0, 0, 0);
    for chunk in ids.chunks(50_000) {
        let backend = conn.backend();
        let ids_sql = crate::warnings::ids_from_json(backend, "$1");
        let row = conn
            .fetch_one(
                format!(
                    "SELECT COUNT(*) AS households, CAST(COALESCE(SUM(h.residents), 0) AS BIGINT) AS residents,
                            COUNT(v.household_id) AS vulnerable
                     FROM households h LEFT JOIN vulnerable_residents v ON v.household_id = h.id WHERE h.id IN ({ids_sql})"
                ),
                params![crate::warnings::id_list(backend, chunk)],
            )
            .await?;
        totals.0 += row.get::<i64>("households")?;
        totals.1 += row.get::<i64>("residents")?;
        totals.2 += row.get::<i64>("vulnerable")?;
    }
    Ok(totals)
}

/// The needs recorded on the vulnerable-resident register for a household.
pub async fn vulnerable_needs(conn: &mut Conn<'_>, household_id: i64) -> Result<Option<String>, StoreError> {
    conn.fetch_optional("SELECT needs FROM vulnerable_residents WHERE household_id = $1", params![household_id])
        .await?
        .map(|row| row.get("needs"))
        .transpose()
}
