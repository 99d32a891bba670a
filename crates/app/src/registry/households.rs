//! The household register and the vulnerable-resident register: who lives where, and who needs help to leave.
//!
//! Imported from CSV (one household per line, with a header). Bad lines are rejected with their line number and
//! field, in the caller's language; good lines are kept (the documented behaviour of an import). A household's
//! address, phone, e-mail and needs are personal data: lists mask them, and the register of needs holds only
//! people who consented (ERL Art. 11; a `vulnerable_needs` value needs `vulnerable_consent = yes`).

use std::collections::HashMap;

use domain::policy::{Action, Decision, Resource, ResourceKind};
use domain::registry::JurisdictionPath;
use domain::{Classification, Invalid, InvalidReason, Locale, masking};
use store::households::{self as repo, HouseholdFields, HouseholdRow};
use store::list::ListQuery;

use crate::registry::Registry;
use crate::util::visibility;
use crate::util::{decide, split_csv};
use crate::{AppError, Context, ListParams, Page};
use serde_json::json;
use store::datasets::{AccessEntry, DatasetMeta};
use store::layers::{LayerFields, LayerRow};

/// The name of the vulnerable-resident register as a dataset.
pub const REGISTER: &str = "vulnerable-residents";

/// The columns of the household CSV, in any order after the header; `code`, `grid_code`, `lon`, `lat` are required.
pub const COLUMNS: &[&str] =
    &["code", "grid_code", "address", "lon", "lat", "residents", "phone", "email", "language", "vulnerable_needs", "vulnerable_consent"];

/// Lines written per database write.
const WRITE_CHUNK: usize = 5_000;

/// A rejected line.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RejectedLine {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    /// The column at fault.
    pub field: String,
    /// Why, in the caller's language.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct HouseholdImport {
    /// Data lines read.
    pub lines: usize,
    /// Households written (new or changed).
    pub imported: usize,
    /// Households put on (or updated in) the vulnerable-resident register.
    pub vulnerable: usize,
    /// Lines rejected.
    pub rejected: Vec<RejectedLine>,
}

/// A household in a list (personal data masked).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Its jurisdiction (grid).
    pub jurisdiction_id: i64,
    /// Address, masked.
    pub address: Option<String>,
    /// Phone, masked.
    pub phone: Option<String>,
    /// Residents.
    pub residents: i64,
    /// Preferred language.
    pub language: String,
    /// Whether it is on the vulnerable-resident register.
    pub vulnerable: bool,
    /// Position, coarsened to about a kilometre.
    pub lon: f64,
    /// Position, coarsened.
    pub lat: f64,
    /// Version.
    pub version: i64,
}

fn masked_view(row: HouseholdRow) -> HouseholdView {
    HouseholdView {
        id: row.id,
        code: row.fields.code,
        jurisdiction_id: row.fields.jurisdiction_id,
        address: row.fields.address.map(|a| masking::person_name(&a)),
        phone: row.fields.phone.as_deref().map(masking::phone),
        residents: row.fields.residents,
        language: row.fields.language,
        vulnerable: row.vulnerable,
        lon: masking::coordinate(row.fields.lon),
        lat: masking::coordinate(row.fields.lat),
        version: row.version,
    }
}

#[derive(Debug)]
struct ParsedLine {
    fields: HouseholdFields,
    grid_code: String,
    needs: Option<String>,
}

fn parse_line(columns: &HashMap<&str, usize>, values: &[String]) -> Result<ParsedLine, Invalid> {
    let get = |name: &str| columns.get(name).and_then(|i| values.get(*i)).map(|v| v.trim()).filter(|v| !v.is_empty());
    let required = |name: &str| get(name).ok_or_else(|| Invalid::new(name, InvalidReason::Required));
    let number = |name: &str, min: f64, max: f64| -> Result<f64, Invalid> {
        let value: f64 =
            required(name)?.parse().map_err(|_| Invalid::new(name, InvalidReason::Malformed { expected: "a decimal number" }))?;
        if !(min..=max).contains(&value) {
            return Err(Invalid::new(name, InvalidReason::OutOfRange { min: min.to_string(), max: max.to_string() }));
        }
        Ok(value)
    };
    let text = |name: &str, max: usize| -> Result<Option<String>, Invalid> {
        match get(name) {
            Some(value) if value.chars().count() > max => Err(Invalid::new(name, InvalidReason::TooLong { max })),
            Some(value) if value.chars().any(char::is_control) => {
                Err(Invalid::new(name, InvalidReason::BadCharacters { allowed: "printable text" }))
            }
            other => Ok(other.map(str::to_string)),
        }
    };
    let code = required("code")?;
    if code.chars().count() > 64 {
        return Err(Invalid::new("code", InvalidReason::TooLong { max: 64 }));
    }
    let phone = text("phone", 32)?;
    if let Some(phone) = &phone
        && !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
    {
        return Err(Invalid::new("phone", InvalidReason::BadCharacters { allowed: "digits, +, - and spaces" }));
    }
    let email = text("email", 254)?;
    if let Some(email) = &email
        && !crate::transport::plausible_email(email)
    {
        return Err(Invalid::new("email", InvalidReason::Malformed { expected: "an e-mail address such as name@example.org" }));
    }
    let language = get("language").unwrap_or("zh-CN");
    if Locale::from_tag(language).is_none() {
        return Err(Invalid::new("language", InvalidReason::UnknownValue { allowed: vec!["zh-CN", "en"] }));
    }
    let residents = match get("residents") {
        None => 1,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=1000).contains(n))
            .ok_or_else(|| Invalid::new("residents", InvalidReason::OutOfRange { min: "0".into(), max: "1000".into() }))?,
    };
    let needs = text("vulnerable_needs", 500)?;
    if needs.is_some() && !matches!(get("vulnerable_consent").map(str::to_lowercase).as_deref(), Some("yes" | "y" | "true" | "1" | "是")) {
        return Err(Invalid::new("vulnerable_consent", InvalidReason::Required));
    }
    Ok(ParsedLine {
        fields: HouseholdFields {
            jurisdiction_id: 0,
            code: code.to_string(),
            address: text("address", 300)?,
            lon: number("lon", -180.0, 180.0)?,
            lat: number("lat", -90.0, 90.0)?,
            residents,
            phone,
            email,
            language: Locale::from_tag(language).map(|l| l.tag().to_string()).unwrap_or_else(|| "zh-CN".into()),
        },
        grid_code: required("grid_code")?.to_string(),
        needs,
    })
}

impl Registry {
    /// Imports households from CSV text.
    pub async fn import_households(&self, ctx: &Context, csv: &str) -> Result<HouseholdImport, AppError> {
        let mut lines = csv.lines().enumerate();
        let Some((_, header)) = lines.next() else { return Err(Invalid::new("csv", InvalidReason::Required).into()) };
        let header = split_csv(header.trim_start_matches('\u{feff}'))
            .map_err(|_| Invalid::new("csv", InvalidReason::Malformed { expected: "a CSV header line" }))?;
        let mut columns: HashMap<&str, usize> = HashMap::new();
        for (index, name) in header.iter().enumerate() {
            let name = name.trim();
            let known = COLUMNS
                .iter()
                .find(|c| **c == name)
                .ok_or_else(|| Invalid::new(format!("csv.header[{index}]"), InvalidReason::UnknownValue { allowed: COLUMNS.to_vec() }))?;
            columns.insert(known, index);
        }
        for required in ["code", "grid_code", "lon", "lat"] {
            if !columns.contains_key(required) {
                return Err(Invalid::new(format!("csv.header.{required}"), InvalidReason::Required).into());
            }
        }
        let mut report = HouseholdImport::default();
        let mut grids: HashMap<String, Option<JurisdictionPath>> = HashMap::new();
        let mut accepted: Vec<(usize, ParsedLine, JurisdictionPath)> = Vec::new();
        let mut seen_codes: HashMap<String, usize> = HashMap::new();
        for (index, line) in lines {
            let number = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            report.lines += 1;
            let reject = |field: &str, message: String| RejectedLine { line: number, field: field.to_string(), message };
            let values = match split_csv(line) {
                Ok(values) => values,
                Err(problem) => {
                    report.rejected.push(reject("csv", problem.to_string()));
                    continue;
                }
            };
            let parsed = match parse_line(&columns, &values) {
                Ok(parsed) => parsed,
                Err(invalid) => {
                    let field = invalid.field.clone();
                    report.rejected.push(reject(&field, invalid.message(ctx.locale)));
                    continue;
                }
            };
            if let Some(first) = seen_codes.insert(parsed.fields.code.clone(), number) {
                let invalid = Invalid::new("code", InvalidReason::Duplicate);
                report.rejected.push(reject("code", format!("{} (line {first})", invalid.message(ctx.locale))));
                continue;
            }
            if !grids.contains_key(&parsed.grid_code) {
                let mut reader = self.kernel.store().reader().await?;
                let row = store::registry::get_jurisdiction_by_code(&mut reader.conn(), &parsed.grid_code).await?;
                grids.insert(parsed.grid_code.clone(), row.map(|r| r.path));
            }
            let Some(path) = grids.get(&parsed.grid_code).cloned().flatten() else {
                report.rejected.push(reject("grid_code", Invalid::new("grid_code", InvalidReason::NotFound).message(ctx.locale)));
                continue;
            };
            let resource = Resource::new(ResourceKind::Household, Classification::Confidential).in_jurisdiction(&path);
            if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource) {
                return Err(self.kernel.refuse(ctx, "household.import", "household", Some(parsed.fields.code.clone()), reason).await);
            }
            accepted.push((number, parsed, path));
        }
        for chunk in accepted.chunks(WRITE_CHUNK) {
            let rows: Vec<(HouseholdFields, JurisdictionPath)> = chunk
                .iter()
                .map(|(_, parsed, path)| {
                    let mut fields = parsed.fields.clone();
                    fields.jurisdiction_id = path.leaf().0;
                    (fields, path.clone())
                })
                .collect();
            let needs: Vec<(String, String)> =
                chunk.iter().filter_map(|(_, parsed, _)| parsed.needs.clone().map(|n| (parsed.fields.code.clone(), n))).collect();
            let app = self.clone();
            let count = rows.len();
            let vulnerable = needs.len();
            let audit = self.kernel.audit(ctx, "household.import", "household", None);
            self.kernel
                .store()
                .write(move |c| {
                    Box::pin(async move {
                        let now = app.kernel.now_ms();
                        repo::upsert_households(c, &rows, now).await?;
                        for (code, needs) in &needs {
                            if let Some(id) = repo::household_id_by_code(c, code).await? {
                                repo::set_vulnerable(c, id, needs, now, now).await?;
                            }
                        }
                        let mut audit = audit;
                        audit.details = serde_json::json!({ "households": count, "vulnerable": vulnerable });
                        store::audit::append(c, &audit).await?;
                        Ok::<(), AppError>(())
                    })
                })
                .await?;
            report.imported += count;
            report.vulnerable += vulnerable;
        }
        Ok(report)
    }

    /// Lists households the caller may see, personal data masked.
    pub async fn list_households(&self, ctx: &Context, params: &ListParams) -> Result<Page<HouseholdView>, AppError> {
        let limit = params.limit()?;
        let offset = params.offset()?;
        let filter = domain::policy::read_filter(&ctx.subject, ResourceKind::Household, Classification::Confidential);
        let mut query = ListQuery::new(if ctx.is_system() { store::list::Visibility::Everything } else { visibility(filter) }, limit);
        query.offset = offset;
        query.search = params.q.clone();
        query.sort = params.sort(&["h.code", "h.residents"])?;
        if let Some(id) = params.jurisdiction_id {
            query.within = Some(self.jurisdiction_path("jurisdiction_id", id).await?.0);
        }
        let page = {
            let mut reader = self.kernel.store().reader().await?;
            repo::list_households(&mut reader.conn(), &query).await?
        };
        Ok(Page { items: page.items.into_iter().map(masked_view).collect(), total: page.total, limit, offset })
    }

    /// Logs one household's record read outside the register dataset (a door-knock task's household shown to its
    /// people), so that the household sees it at `/public/my-data`.
    pub(crate) async fn log_household_read(
        &self,
        ctx: &Context,
        household_id: i64,
        purpose: &str,
        fields: &[&str],
    ) -> Result<(), AppError> {
        if ctx.is_system() {
            return Ok(());
        }
        let layer = self.register_layer().await?;
        let entry = AccessEntry {
            id: 0,
            at: self.kernel.now_ms(),
            layer_id: layer.id,
            owner_organization_id: None,
            account_id: ctx.subject.account.map(|a| a.0),
            actor: ctx.display_name.clone().unwrap_or_else(|| ctx.actor_label.clone()),
            purpose: purpose.into(),
            incident_id: None,
            policy_id: None,
            features: 1,
            fields: json!(fields).to_string(),
        };
        self.kernel
            .store()
            .write(move |c| Box::pin(async move { store::datasets::log_access(c, &entry, &[household_id]).await.map(|_| ()) }))
            .await?;
        Ok(())
    }

    /// The register's layer row (created on first use), so that its reads are logged like any dataset's.
    pub(crate) async fn register_layer(&self) -> Result<LayerRow, AppError> {
        let app = self.clone();
        Ok(self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    if let Some(layer) = store::layers::get_layer(c, REGISTER).await? {
                        return Ok::<LayerRow, store::StoreError>(layer);
                    }
                    let now = app.kernel.now_ms();
                    let fields = LayerFields {
                        name: REGISTER.into(),
                        title_zh: "困难群体与重点人员名册".into(),
                        title_en: Some("Vulnerable-resident register".into()),
                        geometry_kind: "point".into(),
                        classification: Classification::Confidential.code().into(),
                        organization_id: None,
                        path: None,
                    };
                    let layer = store::layers::upsert_layer(c, &fields, now).await?;
                    let schema = json!([
                        {"name": "address", "type": "text", "classification": "confidential", "title_zh": "地址"},
                        {"name": "residents", "type": "integer", "classification": "confidential", "title_zh": "人数"},
                        {"name": "phone", "type": "text", "classification": "confidential", "title_zh": "电话"},
                        {"name": "needs", "type": "text", "classification": "confidential", "title_zh": "需求"},
                    ]);
                    let meta = DatasetMeta { kind: "vulnerable_residents".into(), schema: schema.to_string(), ..DatasetMeta::default() };
                    store::datasets::upsert_meta(c, layer.id, &meta, now).await?;
                    Ok(layer)
                })
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes() {
        assert_eq!(split_csv(r#"a,"b, c","d ""e""",,"#).unwrap(), vec!["a", "b, c", r#"d "e""#, "", ""]);
        assert!(split_csv(r#"a,"open"#).is_err());
        assert!(split_csv(r#""x"y,z"#).is_err());
    }

    #[test]
    fn lines_are_checked_field_by_field() {
        let columns: HashMap<&str, usize> = COLUMNS.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        let line = |text: &str| parse_line(&columns, &split_csv(text).unwrap());
        let good = line("h1,g1,幸福路1号,121.4,31.2,3,13800000000,a@b.cn,en,,").unwrap();
        assert_eq!((good.fields.residents, good.fields.language.as_str(), good.grid_code.as_str()), (3, "en", "g1"));
        assert_eq!(line("h1,g1,,200,31.2,,,,,,").unwrap_err().field, "lon");
        assert_eq!(line("h1,g1,,121,31.2,,13x,,,,").unwrap_err().field, "phone");
        assert_eq!(line("h1,g1,,121,31.2,,,not-an-address,,,").unwrap_err().field, "email");
        assert_eq!(line("h1,g1,,121,31.2,,,,,wheelchair,").unwrap_err().field, "vulnerable_consent");
        assert!(line("h1,g1,,121,31.2,,,,,wheelchair,yes").unwrap().needs.is_some());
        assert_eq!(line(",g1,,121,31.2,,,,,,").unwrap_err().field, "code");
    }
}
