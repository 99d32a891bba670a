//! Incidents of every hazard: one intake for every channel, de-duplication proposals, merge and split, the status
//! machine, and the upward report generated from the data.
//!
//! Every report becomes (or joins) an incident. A new report opens a `reported` incident and is compared with the
//! open incidents near it in kind, space and time (`domain::incident::DedupeRules`); the close ones are proposed as
//! the same incident, with the score and the reasons, and the duty officer merges them. A merge keeps every source
//! report and who merged; a split undoes it. Activation of plans and stand-down are in `plans`.

use std::collections::BTreeMap;

use domain::geometry::GeoPoint;
use domain::incident::{
    Category, DedupeRules, Figures, Grade, IncidentKind, IncidentStatus, MatchReason, Measure, ResponseLevel, Scales, Sighting,
    SubtypeTable, WarningLevel,
};
use domain::policy::{Action, Decision, Resource, ResourceKind};
use domain::registry::JurisdictionPath;
use domain::{Classification, Invalid, InvalidReason, Locale, masking};
use jiff::Timestamp;
use serde_json::Value;
use store::incidents::{self as repo, IncidentFields, IncidentRow, NewReport, ProposalRow, ReportRow};
use store::list::ListQuery;
use store::registry::Versioned;

use crate::incidents::Incidents;
use crate::time::rfc3339;
use crate::util::visibility;
use crate::util::{Outcome, decide};
use crate::util::{PUBLIC_CELL_DEG, PUBLIC_MIN_COUNT};
use crate::{AppError, Context, ListParams, Page};
use serde_json::json;

/// Channels a report can come through.
pub const CHANNELS: &[&str] = &["console", "field", "api", "hotline", "open311", "sensor"];

/// The stored key of a channel message. An Open311 server's ids and a rule's episodes belong to that one system; a
/// hotline's ticket numbers belong to the hotline they came from (its operators' organization, or the account that
/// imported them), so nobody can take a ticket number before the hotline sends it; the keys people and API
/// clients choose (an idempotency key, a form's draft id) belong to their account, so two clients that both send
/// the key `1` make two reports, and neither ever sees the other's.
fn scoped_key(ctx: &Context, channel: &str, key: &str) -> String {
    match channel {
        "open311" | "sensor" => key.to_string(),
        "hotline" => format!("{}:{key}", hotline_source(ctx)),
        _ => match ctx.account_id() {
            Some(account) => format!("a{account}:{key}"),
            None => format!("{}:{key}", ctx.actor_label),
        },
    }
}

/// Whose ticket numbers a hotline import carries: the organization of the caller's hotline-operator grant (a
/// hotline centre with many operators), else the importing account.
fn hotline_source(ctx: &Context) -> String {
    let organization = ctx
        .subject
        .grants
        .iter()
        .find(|grant| grant.role == domain::policy::AccountRole::HotlineOperator && grant.organization.is_some())
        .and_then(|grant| grant.organization);
    match (organization, ctx.account_id()) {
        (Some(organization), _) => format!("o{}", organization.0),
        (None, Some(account)) => format!("a{account}"),
        (None, None) => ctx.actor_label.clone(),
    }
}

/// A report, as any channel submits it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// `natural_disaster`, `accident_disaster`, `public_health` or `social_security`.
    pub category: String,
    /// The sub-type, for example `urban_waterlogging`.
    pub subtype: String,
    /// What was seen.
    pub description: String,
    /// Where: longitude.
    pub lon: f64,
    /// Where: latitude.
    pub lat: f64,
    /// The address in words.
    #[serde(default)]
    pub address: Option<String>,
    /// When it was seen (RFC 3339; default: now).
    #[serde(default)]
    pub observed_at: Option<String>,
    /// The reporter's name.
    #[serde(default)]
    pub reporter_name: Option<String>,
    /// The reporter's phone.
    #[serde(default)]
    pub reporter_phone: Option<String>,
    /// The reporter's e-mail.
    #[serde(default)]
    pub reporter_email: Option<String>,
    /// Photos: URLs of uploaded media.
    #[serde(default)]
    pub media: Vec<String>,
    /// Figures seen (casualties, trapped people, depth of water…): measure code → number.
    #[serde(default)]
    pub figures: BTreeMap<String, u64>,
    /// The channel's own id of this message, so that posting it twice creates one report (the API also takes the
    /// `Idempotency-Key` header).
    #[serde(default)]
    pub channel_key: Option<String>,
}

/// A report on the wire (the reporter's contact masked).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReportView {
    /// Id.
    pub id: i64,
    /// Channel.
    pub channel: String,
    /// Sub-type.
    pub subtype: String,
    /// What was seen.
    pub description: String,
    /// Where.
    pub lon: f64,
    /// Where.
    pub lat: f64,
    /// Address.
    pub address: Option<String>,
    /// When seen.
    pub observed_at: String,
    /// The reporter (masked).
    pub reporter: Option<String>,
    /// Photos.
    pub media: Vec<String>,
    /// The incident.
    pub incident_id: Option<i64>,
    /// Received.
    pub created_at: String,
}

/// An incident on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    /// Id.
    pub id: i64,
    /// Reference, for example `INC-000042`.
    pub reference: String,
    /// Category code.
    pub category: String,
    /// Category in the caller's language.
    pub category_label: String,
    /// Sub-type code.
    pub subtype: String,
    /// Sub-type in the caller's language.
    pub subtype_label: String,
    /// Title in the caller's language.
    pub title: String,
    /// What is known.
    pub description: String,
    /// Event grade code.
    pub grade: Option<String>,
    /// Warning level code.
    pub warning_level: Option<String>,
    /// Response level code.
    pub response_level: Option<String>,
    /// Status code.
    pub status: String,
    /// Status in the caller's language.
    pub status_label: String,
    /// The statuses it may move to.
    pub allowed_transitions: Vec<String>,
    /// Position.
    pub lon: f64,
    /// Position.
    pub lat: f64,
    /// The responsible jurisdiction.
    pub jurisdiction_id: i64,
    /// The jurisdiction in command, if command passed up.
    pub command_jurisdiction_id: Option<i64>,
    /// Affected jurisdictions.
    pub affected: Vec<i64>,
    /// Figures.
    pub figures: BTreeMap<String, u64>,
    /// When the first tier knew.
    pub known_at: String,
    /// The latest report.
    pub last_seen_at: String,
    /// The incident it was merged into.
    pub merged_into: Option<i64>,
    /// Version.
    pub version: i64,
    /// Updated.
    pub updated_at: String,
}

/// A proposal that two incidents are the same.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProposalView {
    /// The other incident.
    pub incident_id: i64,
    /// Its title.
    pub title: String,
    /// Score, 0..1.
    pub score: f64,
    /// Why, in the caller's language.
    pub reasons: Vec<String>,
}

/// What a report did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReportOutcome {
    /// Whether this is a new report (false: the channel sent it before).
    pub created: bool,
    /// The report.
    pub report: ReportView,
    /// Its incident.
    pub incident: IncidentView,
    /// Open incidents that may be the same.
    pub proposals: Vec<ProposalView>,
}

/// Filters of the incident board.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentFilter {
    /// Only incidents in this status.
    pub status: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this grade.
    pub grade: Option<String>,
    /// Only open incidents (reported, verified, responding, stabilized).
    pub open: Option<bool>,
}

/// A change of status.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The version read.
    pub version: Option<i64>,
    /// The new status.
    pub status: String,
    /// Why (kept on the timeline).
    #[serde(default)]
    pub note: Option<String>,
}

/// New facts about an incident.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    /// The version read.
    pub version: Option<i64>,
    /// Title in Chinese.
    #[serde(default)]
    pub title_zh: Option<String>,
    /// Title in English.
    #[serde(default)]
    pub title_en: Option<String>,
    /// What is known.
    #[serde(default)]
    pub description: Option<String>,
    /// Event grade code (`grade_i` … `grade_iv`).
    #[serde(default)]
    pub grade: Option<String>,
    /// Warning level code.
    #[serde(default)]
    pub warning_level: Option<String>,
    /// Figures to set (measure code → number).
    #[serde(default)]
    pub figures: BTreeMap<String, u64>,
    /// Affected jurisdictions (grids, communities).
    #[serde(default)]
    pub affected: Option<Vec<i64>>,
}

/// The reference of an incident.
pub fn reference(id: i64) -> String {
    format!("INC-{id:06}")
}

pub(crate) fn subtypes() -> &'static SubtypeTable {
    static TABLE: std::sync::OnceLock<SubtypeTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(SubtypeTable::builtin)
}

pub(crate) fn incident_resource(row: &IncidentRow) -> Resource<'_> {
    Resource::new(ResourceKind::Incident, Classification::Internal).in_jurisdiction(&row.fields.path)
}

pub(crate) fn kind_of(fields: &IncidentFields) -> Result<IncidentKind, AppError> {
    subtypes().kind("", &fields.category, &fields.subtype).map_err(|error| AppError::Internal(format!("stored incident kind: {error}")))
}

pub(crate) fn figures_of(text: &str) -> Figures {
    let mut figures = Figures::new();
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        for (code, value) in map {
            if let (Ok(measure), Some(value)) = (Measure::parse("figures", &code), value.as_u64()) {
                figures.set(measure, value);
            }
        }
    }
    figures
}

fn figures_json(figures: &Figures) -> String {
    let map: serde_json::Map<String, Value> =
        figures.iter().map(|(measure, value)| (measure.code().to_string(), Value::from(value))).collect();
    Value::Object(map).to_string()
}

fn parse_figures(field: &str, input: &BTreeMap<String, u64>) -> Result<Figures, Invalid> {
    let mut figures = Figures::new();
    for (code, value) in input {
        let measure = Measure::parse(&format!("{field}.{code}"), code)?;
        if *value > 100_000_000 {
            return Err(Invalid::new(format!("{field}.{code}"), InvalidReason::OutOfRange { min: "0".into(), max: "100000000".into() }));
        }
        figures.set(measure, *value);
    }
    Ok(figures)
}

pub(crate) fn affected_of(text: &str) -> Vec<i64> {
    serde_json::from_str::<Vec<i64>>(text).unwrap_or_default()
}

pub(crate) fn scales_of(fields: &IncidentFields, category: Category) -> Scales {
    let grade = fields.grade.as_deref().and_then(|g| Grade::parse("grade", g).ok());
    let warning = fields.warning_level.as_deref().and_then(|w| WarningLevel::parse("warning_level", w).ok());
    let response = fields.response_level.as_deref().and_then(|r| ResponseLevel::parse("response_level", r).ok());
    Scales::parse(category, grade, warning, response).unwrap_or_default()
}

fn ms(timestamp: Timestamp) -> i64 {
    timestamp.as_millisecond()
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Invalid::new(field, InvalidReason::Required));
    }
    if value.chars().count() > max {
        return Err(Invalid::new(field, InvalidReason::TooLong { max }));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::new(field, InvalidReason::BadCharacters { allowed: "text without control characters" }));
    }
    Ok(value.to_string())
}

fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => text(field, value, max).map(Some),
    }
}

/// The report on the wire, the reporter's contact masked.
pub fn report_view(row: &ReportRow) -> ReportView {
    let r = &row.report;
    ReportView {
        id: row.id,
        channel: r.channel.clone(),
        subtype: r.subtype.clone(),
        description: r.description.clone(),
        lon: r.lon,
        lat: r.lat,
        address: r.address.clone(),
        observed_at: rfc3339(r.observed_at),
        reporter: r.reporter_name.as_deref().map(masking::person_name).or_else(|| r.reporter_phone.as_deref().map(masking::phone)),
        media: serde_json::from_str::<Vec<Value>>(&r.media)
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m.get("url").and_then(Value::as_str).map(str::to_string))
            .collect(),
        incident_id: row.incident_id,
        created_at: rfc3339(row.created_at),
    }
}

/// The incident on the wire.
pub fn incident_view(locale: Locale, row: &IncidentRow) -> IncidentView {
    let f = &row.fields;
    let table = subtypes();
    let category_label =
        Category::parse("category", &f.category).map(|c| c.label(locale).to_string()).unwrap_or_else(|_| f.category.clone());
    let subtype_label = table.get_str(&f.subtype).map(|entry| entry.label(locale).to_string()).unwrap_or_else(|| f.subtype.clone());
    let status = IncidentStatus::parse("status", &f.status).ok();
    IncidentView {
        id: row.id,
        reference: reference(row.id),
        category: f.category.clone(),
        category_label,
        subtype: f.subtype.clone(),
        subtype_label,
        title: match (locale, &f.title_en) {
            (Locale::En, Some(en)) => en.clone(),
            _ => f.title_zh.clone(),
        },
        description: f.description.clone(),
        grade: f.grade.clone(),
        warning_level: f.warning_level.clone(),
        response_level: f.response_level.clone(),
        status_label: status.map(|s| s.label(locale).to_string()).unwrap_or_else(|| f.status.clone()),
        allowed_transitions: status.map(|s| s.allowed_targets().iter().map(|t| t.code().to_string()).collect()).unwrap_or_default(),
        status: f.status.clone(),
        lon: f.lon,
        lat: f.lat,
        jurisdiction_id: f.jurisdiction_id,
        command_jurisdiction_id: f.command_jurisdiction_id,
        affected: affected_of(&f.affected),
        figures: figures_of(&f.figures).iter().map(|(m, v)| (m.code().to_string(), v)).collect(),
        known_at: rfc3339(f.known_at),
        last_seen_at: rfc3339(f.last_seen_at),
        merged_into: f.merged_into,
        version: row.version,
        updated_at: rfc3339(row.updated_at),
    }
}

fn reasons_json(reasons: &[MatchReason]) -> String {
    Value::Array(
        reasons
            .iter()
            .map(|reason| match reason {
                MatchReason::Distance { metres } => serde_json::json!({"code": reason.code(), "metres": metres}),
                MatchReason::Interval { minutes } => serde_json::json!({"code": reason.code(), "minutes": minutes}),
                _ => serde_json::json!({"code": reason.code()}),
            })
            .collect(),
    )
    .to_string()
}

fn reasons_text(locale: Locale, json: &str) -> Vec<String> {
    serde_json::from_str::<Vec<Value>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|reason| {
            let code = reason.get("code")?.as_str()?;
            let reason = match code {
                "same_subtype" => MatchReason::SameSubtype,
                "related_subtype" => MatchReason::RelatedSubtype,
                "same_category" => MatchReason::SameCategory,
                "different_category" => MatchReason::DifferentCategory,
                "distance" => MatchReason::Distance { metres: reason.get("metres")?.as_u64()? },
                "interval" => MatchReason::Interval { minutes: reason.get("minutes")?.as_u64()? },
                _ => return None,
            };
            Some(reason.message(locale))
        })
        .collect()
}

impl Incidents {
    /// The deepest jurisdiction whose boundary contains the point, or the root of the tree.
    pub(crate) async fn jurisdiction_at(&self, lon: f64, lat: f64) -> Result<(i64, JurisdictionPath), AppError> {
        self.registry.jurisdiction_holding(&[[lon, lat]]).await?.ok_or_else(|| {
            AppError::Invalid(Invalid::new(
                "lon",
                InvalidReason::Explained {
                    rule: "no_jurisdiction".into(),
                    en: "no jurisdiction is registered yet; import boundaries first".into(),
                    zh: "尚未登记任何辖区，请先导入边界".into(),
                },
            ))
        })
    }

    /// Takes in a report from `channel`. A message the channel sent before (same key) is answered with the stored
    /// report and changes nothing.
    pub async fn submit_report(&self, ctx: &Context, channel: &str, input: ReportInput) -> Result<ReportOutcome, AppError> {
        if !CHANNELS.contains(&channel) {
            return Err(Invalid::new("channel", InvalidReason::UnknownValue { allowed: CHANNELS.to_vec() }).into());
        }
        // A message the channel sent before is found by the insert itself (its key is unique): no read first.
        let channel_key = optional("channel_key", input.channel_key.as_deref(), 200)?.map(|key| scoped_key(ctx, channel, &key));
        let kind = subtypes().kind("", &input.category, &input.subtype)?;
        let point = GeoPoint::parse("position", input.lon, input.lat).map_err(|mut invalid| {
            // The report's fields are `lon` and `lat` at the top level.
            invalid.field = invalid.field.trim_start_matches("position.").to_string();
            invalid
        })?;
        let description = text("description", &input.description, 4000)?;
        let address = optional("address", input.address.as_deref(), 300)?;
        let reporter_name = optional("reporter_name", input.reporter_name.as_deref(), 100)?;
        let reporter_phone = optional("reporter_phone", input.reporter_phone.as_deref(), 32)?;
        if let Some(phone) = &reporter_phone
            && !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
        {
            return Err(Invalid::new("reporter_phone", InvalidReason::BadCharacters { allowed: "digits, +, - and spaces" }).into());
        }
        let reporter_email = optional("reporter_email", input.reporter_email.as_deref(), 254)?;
        if let Some(email) = &reporter_email
            && !crate::transport::plausible_email(email)
        {
            return Err(Invalid::new("reporter_email", InvalidReason::Malformed { expected: "an e-mail address" }).into());
        }
        if input.media.len() > 10 {
            return Err(Invalid::new("media", InvalidReason::OutOfRange { min: "0".into(), max: "10".into() }).into());
        }
        for (index, url) in input.media.iter().enumerate() {
            if !(url.starts_with("/media/") || url.starts_with("http://") || url.starts_with("https://")) || url.len() > 500 {
                return Err(Invalid::new(format!("media[{index}]"), InvalidReason::Malformed { expected: "a media URL" }).into());
            }
        }
        let figures = parse_figures("figures", &input.figures)?;
        let now = self.kernel.now_ms();
        let observed_at = match input.observed_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => crate::warnings::parse_time("observed_at", text)?,
            None => now,
        };
        if observed_at > now + 5 * 60_000 {
            return Err(Invalid::new("observed_at", InvalidReason::OutOfRange { min: "—".into(), max: rfc3339(now) }).into());
        }
        let (jurisdiction_id, path) = self.jurisdiction_at(point.lon(), point.lat()).await?;
        let resource = Resource::new(ResourceKind::Report, Classification::Internal).in_jurisdiction(&path);
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource) {
            return Err(self.kernel.refuse(ctx, "report.create", "report", None, reason).await);
        }
        // Open incidents near in kind, space and time.
        let rules = DedupeRules::default();
        let sighting = Sighting { kind: kind.clone(), position: point, at: timestamp(observed_at) };
        let (bbox, from, until) = rules.search_window(subtypes(), &sighting);
        let candidates = self.open_incidents_in([bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat], ms(from), ms(until)).await?;
        let sightings: Vec<(i64, Sighting)> = candidates
            .iter()
            .filter_map(|row| {
                let kind = subtypes().kind("", &row.category, &row.subtype).ok()?;
                let position = GeoPoint::parse("", row.lon, row.lat).ok()?;
                Some((row.id, Sighting { kind, position, at: timestamp(row.last_seen_at) }))
            })
            .collect();
        let proposals = rules.propose(subtypes(), &sighting, &sightings);
        let title_zh = format!(
            "{}：{}",
            subtypes().label(kind.subtype(), Locale::ZhCn),
            address.clone().unwrap_or_else(|| description.chars().take(30).collect())
        );
        let title_en = format!(
            "{}: {}",
            subtypes().label(kind.subtype(), Locale::En),
            address.clone().unwrap_or_else(|| description.chars().take(60).collect())
        );
        let report = NewReport {
            channel: channel.to_string(),
            channel_key,
            category: kind.category().code().into(),
            subtype: kind.subtype().as_str().into(),
            description: description.clone(),
            lon: point.lon(),
            lat: point.lat(),
            address,
            observed_at,
            reporter_name,
            reporter_phone,
            reporter_email,
            reporter_account_id: ctx.account_id(),
            media: Value::Array(input.media.iter().map(|url| serde_json::json!({"url": url})).collect()).to_string(),
            figures: figures_json(&figures),
            jurisdiction_id,
            path: path.clone(),
        };
        let fields = IncidentFields {
            category: report.category.clone(),
            subtype: report.subtype.clone(),
            title_zh,
            title_en: Some(title_en),
            description,
            grade: None,
            warning_level: None,
            response_level: None,
            status: IncidentStatus::Reported.code().into(),
            lon: point.lon(),
            lat: point.lat(),
            affected: "[]".into(),
            figures: report.figures.clone(),
            jurisdiction_id,
            path,
            command_jurisdiction_id: None,
            known_at: observed_at.min(now),
            last_seen_at: observed_at,
            merged_into: None,
        };
        let proposal_rows: Vec<(i64, f64, String)> =
            proposals.iter().map(|p| (p.key, p.assessment.score, reasons_json(&p.assessment.reasons))).collect();
        let (app, ctx2) = (self.clone(), ctx.clone());
        let stored = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let incident = repo::insert_incident(c, &fields, now).await?;
                    let Some(report) = repo::insert_report(c, &report, Some(incident.id), now).await? else {
                        // The same message arrived twice at once: the other one won; undo this incident.
                        return Err(AppError::Duplicate { field: "channel_key".into() });
                    };
                    let rows: Vec<ProposalRow> = proposal_rows
                        .iter()
                        .map(|(candidate, score, reasons)| ProposalRow { incident_id: incident.id, candidate_id: *candidate, score: *score, reasons: reasons.clone() })
                        .collect();
                    repo::propose_all(c, &rows, now).await?;
                    let payload = serde_json::json!({
                        "id": incident.id, "report_id": report.id, "channel": report.report.channel, "subtype": incident.fields.subtype,
                        "title_zh": incident.fields.title_zh, "title_en": incident.fields.title_en,
                        "proposals": proposal_rows.iter().map(|(id, score, _)| serde_json::json!({"incident_id": id, "score": score})).collect::<Vec<_>>(),
                    });
                    store::events::append(
                        c,
                        &app.kernel.event(&ctx2, "incident.reported", "incident", incident.id, Some(&incident.fields.path), None, Classification::Internal, payload),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "report.create", "report", Some(report.id.to_string()))).await?;
                    Ok(Outcome::Done((report, incident)))
                })
            })
            .await;
        let (report, incident) = match stored {
            Ok(stored) => stored,
            Err(AppError::Duplicate { .. }) => {
                let key = scoped_key(ctx, channel, input.channel_key.unwrap_or_default().trim());
                let mut reader = self.kernel.store().reader().await?;
                let existing = repo::report_by_channel_key(&mut reader.conn(), channel, &key)
                    .await?
                    .ok_or_else(|| AppError::Internal("duplicate report vanished".into()))?;
                drop(reader);
                return self.report_outcome(ctx, existing, false).await;
            }
            Err(error) => return Err(error),
        };
        self.opened_incident(
            repo::Candidate {
                id: incident.id,
                category: incident.fields.category.clone(),
                subtype: incident.fields.subtype.clone(),
                title_zh: incident.fields.title_zh.clone(),
                title_en: incident.fields.title_en.clone(),
                lon: incident.fields.lon,
                lat: incident.fields.lat,
                last_seen_at: incident.fields.last_seen_at,
            },
            incident.fields.known_at,
        )
        .await;
        // Everything the answer needs is at hand: no read after the write.
        let proposals = proposals
            .iter()
            .filter_map(|proposal| {
                let candidate = candidates.iter().find(|row| row.id == proposal.key)?;
                Some(ProposalView {
                    incident_id: candidate.id,
                    title: match (ctx.locale, &candidate.title_en) {
                        (Locale::En, Some(en)) => en.clone(),
                        _ => candidate.title_zh.clone(),
                    },
                    score: proposal.assessment.score,
                    reasons: proposal.assessment.reasons.iter().map(|reason| reason.message(ctx.locale)).collect(),
                })
            })
            .collect();
        Ok(ReportOutcome { created: true, report: report_view(&report), incident: incident_view(ctx.locale, &incident), proposals })
    }

    async fn report_outcome(&self, ctx: &Context, report: ReportRow, created: bool) -> Result<ReportOutcome, AppError> {
        let incident_id = report.incident_id.ok_or_else(|| AppError::Internal("report without incident".into()))?;
        let incident = self.load_incident(incident_id).await?;
        let proposals = self.proposals(ctx, incident_id).await?;
        Ok(ReportOutcome { created, report: report_view(&report), incident: incident_view(ctx.locale, &incident), proposals })
    }

    pub(crate) async fn load_incident(&self, id: i64) -> Result<IncidentRow, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        repo::get_incident(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })
    }

    async fn proposals(&self, ctx: &Context, incident_id: i64) -> Result<Vec<ProposalView>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let rows = repo::proposals_of(&mut reader.conn(), incident_id).await?;
        let mut views = Vec::new();
        for row in rows {
            let other = if row.incident_id == incident_id { row.candidate_id } else { row.incident_id };
            let Some(incident) = repo::get_incident(&mut reader.conn(), other).await? else { continue };
            let status = IncidentStatus::parse("status", &incident.fields.status).ok();
            if !status.is_some_and(IncidentStatus::is_open) {
                continue;
            }
            views.push(ProposalView {
                incident_id: other,
                title: incident_view(ctx.locale, &incident).title,
                score: row.score,
                reasons: reasons_text(ctx.locale, &row.reasons),
            });
        }
        Ok(views)
    }

    /// One incident.
    pub async fn get_incident(&self, ctx: &Context, id: i64) -> Result<IncidentView, AppError> {
        let row = self.load_incident(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &incident_resource(&row)) {
            return Err(self.kernel.refuse(ctx, "incident.read", "incident", Some(id.to_string()), reason).await);
        }
        Ok(incident_view(ctx.locale, &row))
    }

    /// The incident board.
    pub async fn list_incidents(
        &self,
        ctx: &Context,
        params: &ListParams,
        filter: &IncidentFilter,
    ) -> Result<Page<IncidentView>, AppError> {
        let limit = params.limit()?;
        let offset = params.offset()?;
        let read = domain::policy::read_filter(&ctx.subject, ResourceKind::Incident, Classification::Internal);
        let mut query = ListQuery::new(if ctx.is_system() { store::list::Visibility::Everything } else { visibility(read) }, limit);
        query.offset = offset;
        query.search = params.q.clone();
        query.sort = params.sort(&["known_at", "id", "status", "grade", "updated_at"])?.or(Some(("known_at".into(), true)));
        if let Some(id) = params.jurisdiction_id {
            query.within = Some(self.registry.jurisdiction_path("jurisdiction_id", id).await?.0);
        }
        if let Some(status) = filter.status.as_deref().filter(|s| !s.is_empty()) {
            IncidentStatus::parse("status", status)?;
            query.equals.push(("status", status.to_string().into()));
        }
        if let Some(category) = filter.category.as_deref().filter(|s| !s.is_empty()) {
            Category::parse("category", category)?;
            query.equals.push(("category", category.to_string().into()));
        }
        if let Some(grade) = filter.grade.as_deref().filter(|s| !s.is_empty()) {
            Grade::parse("grade", grade)?;
            query.equals.push(("grade", grade.to_string().into()));
        }
        if filter.open == Some(true) {
            query.conditions.push(("status IN ('reported', 'verified', 'responding', 'stabilized')", Vec::new()));
        }
        let page = {
            let mut reader = self.kernel.store().reader().await?;
            repo::list_incidents(&mut reader.conn(), &query).await?
        };
        Ok(Page { items: page.items.iter().map(|row| incident_view(ctx.locale, row)).collect(), total: page.total, limit, offset })
    }

    /// The reports of an incident, reporters masked.
    pub async fn incident_reports(&self, ctx: &Context, id: i64) -> Result<Vec<ReportView>, AppError> {
        self.get_incident(ctx, id).await?;
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::reports_of(&mut reader.conn(), id).await?.iter().map(report_view).collect())
    }

    /// The proposals involving an incident.
    pub async fn incident_proposals(&self, ctx: &Context, id: i64) -> Result<Vec<ProposalView>, AppError> {
        self.get_incident(ctx, id).await?;
        self.proposals(ctx, id).await
    }

    /// Writes an incident's new state with its event, refusing stale versions.
    pub(crate) async fn write_incident(
        &self,
        ctx: &Context,
        row: &IncidentRow,
        version: i64,
        fields: IncidentFields,
        kind: &'static str,
        payload: Value,
    ) -> Result<IncidentRow, AppError> {
        let (app, ctx2, id) = (self.clone(), ctx.clone(), row.id);
        let decision_row = row.clone();
        let written = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let current = repo::get_incident(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    if let Decision::Deny(reason) = decide(&ctx2, Action::Update, &incident_resource(&current)) {
                        let record = crate::util::refusal(app.kernel.audit(&ctx2, kind, "incident", Some(id.to_string())), reason);
                        store::audit::append(c, &record).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    let _ = decision_row;
                    match repo::update_incident(c, id, version, &fields, app.kernel.now_ms()).await? {
                        Versioned::Done(_) => {}
                        Versioned::Conflict(current) => return Err(AppError::Conflict { current }),
                        Versioned::Missing => return Err(AppError::NotFound { kind: ResourceKind::Incident }),
                    }
                    let row = repo::get_incident(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    let mut payload = payload;
                    if let Value::Object(map) = &mut payload {
                        map.insert("id".into(), Value::from(id));
                        map.insert("version".into(), Value::from(row.version));
                        map.insert("status".into(), Value::from(row.fields.status.clone()));
                    }
                    store::events::append(
                        c,
                        &app.kernel.event(&ctx2, kind, "incident", id, Some(&row.fields.path), None, Classification::Internal, payload),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, kind, "incident", Some(id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await;
        self.incidents_changed().await;
        written
    }

    /// Moves an incident to another status (`verified`, `rejected`, `closed`, …). A move the state machine does
    /// not allow is refused with the allowed ones.
    pub async fn change_incident_status(&self, ctx: &Context, id: i64, change: StatusChange) -> Result<IncidentView, AppError> {
        let version = change.version.ok_or(AppError::VersionRequired)?;
        let to = IncidentStatus::parse("status", &change.status)?;
        let note = optional("note", change.note.as_deref(), 2000)?;
        let row = self.load_incident(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &incident_resource(&row)) {
            return Err(self.kernel.refuse(ctx, "incident.transition", "incident", Some(id.to_string()), reason).await);
        }
        let from = IncidentStatus::parse("status", &row.fields.status)?;
        // Merging and responding have their own steps (merge, activate), which keep what they need.
        if matches!(to, IncidentStatus::Merged | IncidentStatus::Responding) && from.allowed_targets().contains(&to) {
            return Err(AppError::WrongState {
                kind: ResourceKind::Incident,
                state: row.fields.status.clone(),
                step: if to == IncidentStatus::Merged { "merge_directly" } else { "respond_directly" },
            });
        }
        // A response ends by standing down, which returns the modes and closes the plan's tasks.
        if from == IncidentStatus::Responding && matches!(to, IncidentStatus::Stabilized | IncidentStatus::Closed) {
            return Err(AppError::WrongState { kind: ResourceKind::Incident, state: row.fields.status.clone(), step: "end_directly" });
        }
        domain::incident::transition(from, to).map_err(AppError::InvalidTransition)?;
        let mut fields = row.fields.clone();
        fields.status = to.code().into();
        let payload = serde_json::json!({"from": from.code(), "to": to.code(), "note": note});
        let row = self.write_incident(ctx, &row, version, fields, "incident.transitioned", payload).await?;
        Ok(incident_view(ctx.locale, &row))
    }

    /// New facts: title, description, grade, warning level, figures, affected jurisdictions.
    pub async fn update_incident(&self, ctx: &Context, id: i64, patch: IncidentPatch) -> Result<IncidentView, AppError> {
        let version = patch.version.ok_or(AppError::VersionRequired)?;
        let row = self.load_incident(id).await?;
        let category = Category::parse("category", &row.fields.category)?;
        let mut fields = row.fields.clone();
        if let Some(title) = &patch.title_zh {
            fields.title_zh = text("title_zh", title, 200)?;
        }
        if let Some(title) = &patch.title_en {
            fields.title_en = optional("title_en", Some(title), 200)?;
        }
        if let Some(description) = &patch.description {
            fields.description = text("description", description, 4000)?;
        }
        let grade = match patch.grade.as_deref().filter(|g| !g.is_empty()) {
            Some(grade) => Some(Grade::parse("grade", grade)?),
            None => fields.grade.as_deref().and_then(|g| Grade::parse("grade", g).ok()),
        };
        let warning = match patch.warning_level.as_deref().filter(|w| !w.is_empty()) {
            Some(level) => Some(WarningLevel::parse("warning_level", level)?),
            None => fields.warning_level.as_deref().and_then(|w| WarningLevel::parse("warning_level", w).ok()),
        };
        Scales::parse(category, grade, warning, None).map_err(|error| {
            AppError::Invalid(Invalid::new(
                "grade",
                InvalidReason::Explained { rule: error.code().into(), en: error.message(Locale::En), zh: error.message(Locale::ZhCn) },
            ))
        })?;
        fields.grade = grade.map(|g| g.code().to_string());
        fields.warning_level = warning.map(|w| w.code().to_string());
        if !patch.figures.is_empty() {
            let figures = figures_of(&fields.figures).merged(&parse_figures("figures", &patch.figures)?);
            fields.figures = figures_json(&figures);
        }
        if let Some(affected) = &patch.affected {
            let mut reader = self.kernel.store().reader().await?;
            for (index, jurisdiction) in affected.iter().enumerate() {
                let place = store::registry::get_jurisdiction(&mut reader.conn(), *jurisdiction, false)
                    .await?
                    .ok_or_else(|| Invalid::new(format!("affected[{index}]"), InvalidReason::NotFound))?;
                if !row.fields.path.contains(&place.path) && !place.path.contains(&row.fields.path) {
                    return Err(Invalid::new(
                        format!("affected[{index}]"),
                        InvalidReason::OutOfRange { min: reference(id), max: reference(id) },
                    )
                    .into());
                }
            }
            fields.affected = serde_json::to_string(affected).unwrap_or_else(|_| "[]".into());
        }
        let payload = serde_json::json!({"changed": ["facts"]});
        let row = self.write_incident(ctx, &row, version, fields, "incident.updated", payload).await?;
        Ok(incident_view(ctx.locale, &row))
    }

    /// Merges `source` into `target`: the source's reports move to the target, the source becomes `merged`, and
    /// the merge is recorded (who, when, which reports) so that a split can undo it.
    pub async fn merge_incidents(&self, ctx: &Context, target_id: i64, source_id: i64) -> Result<IncidentView, AppError> {
        if target_id == source_id {
            return Err(Invalid::new("source_id", InvalidReason::Duplicate).into());
        }
        let target = self.load_incident(target_id).await?;
        let source = self.load_incident(source_id).await?;
        for row in [&target, &source] {
            if let Decision::Deny(reason) = decide(ctx, Action::Update, &incident_resource(row)) {
                return Err(self.kernel.refuse(ctx, "incident.merge", "incident", Some(row.id.to_string()), reason).await);
            }
        }
        let source_status = IncidentStatus::parse("status", &source.fields.status)?;
        domain::incident::transition(source_status, IncidentStatus::Merged).map_err(AppError::InvalidTransition)?;
        if !IncidentStatus::parse("status", &target.fields.status)?.is_open() {
            return Err(AppError::WrongState { kind: ResourceKind::Incident, state: target.fields.status.clone(), step: "merge" });
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let target = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let reports: Vec<i64> = repo::reports_of(c, source_id).await?.iter().map(|r| r.id).collect();
                    repo::move_reports(c, &reports, target_id).await?;
                    let mut source_fields = source.fields.clone();
                    source_fields.status = IncidentStatus::Merged.code().into();
                    source_fields.merged_into = Some(target_id);
                    if let Versioned::Conflict(current) = repo::update_incident(c, source_id, source.version, &source_fields, now).await? {
                        return Err(AppError::Conflict { current });
                    }
                    let mut target_fields = target.fields.clone();
                    target_fields.known_at = target_fields.known_at.min(source.fields.known_at);
                    target_fields.last_seen_at = target_fields.last_seen_at.max(source.fields.last_seen_at);
                    target_fields.figures = figures_json(&figures_of(&target.fields.figures).merged(&figures_of(&source.fields.figures)));
                    if let Versioned::Conflict(current) = repo::update_incident(c, target_id, target.version, &target_fields, now).await? {
                        return Err(AppError::Conflict { current });
                    }
                    let report_ids = serde_json::to_string(&reports).unwrap_or_default();
                    let merge =
                        repo::insert_merge(c, target_id, source_id, &source.fields.status, &report_ids, &ctx2.actor_label, now).await?;
                    repo::drop_proposals(c, target_id, source_id).await?;
                    let payload =
                        serde_json::json!({"target_id": target_id, "source_id": source_id, "merge_id": merge.id, "reports": reports});
                    for (id, path) in [(target_id, &target.fields.path), (source_id, &source.fields.path)] {
                        store::events::append(
                            c,
                            &app.kernel.event(
                                &ctx2,
                                "incident.merged",
                                "incident",
                                id,
                                Some(path),
                                None,
                                Classification::Internal,
                                payload.clone(),
                            ),
                        )
                        .await?;
                    }
                    store::audit::append(
                        c,
                        &app.kernel.audit(&ctx2, "incident.merge", "incident", Some(format!("{source_id}->{target_id}"))),
                    )
                    .await?;
                    Ok(Outcome::Done(repo::get_incident(c, target_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?))
                })
            })
            .await?;
        self.incidents_changed().await;
        Ok(incident_view(ctx.locale, &target))
    }

    /// Undoes a merge: the reports go back, the source incident returns to its status before the merge.
    pub async fn split_incident(&self, ctx: &Context, target_id: i64, merge_id: i64) -> Result<IncidentView, AppError> {
        let target = self.load_incident(target_id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &incident_resource(&target)) {
            return Err(self.kernel.refuse(ctx, "incident.split", "incident", Some(target_id.to_string()), reason).await);
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let source = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let merge = repo::merges_into(c, target_id)
                        .await?
                        .into_iter()
                        .find(|m| m.id == merge_id)
                        .ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    if !repo::mark_split(c, merge_id, &ctx2.actor_label, now).await? {
                        return Err(AppError::WrongState { kind: ResourceKind::Incident, state: "split".into(), step: "split" });
                    }
                    let reports: Vec<i64> = serde_json::from_str(&merge.report_ids).unwrap_or_default();
                    repo::move_reports(c, &reports, merge.source_id).await?;
                    let source =
                        repo::get_incident(c, merge.source_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    let back = IncidentStatus::parse("status", &merge.source_status).unwrap_or(IncidentStatus::Reported);
                    domain::incident::transition(IncidentStatus::Merged, back).map_err(AppError::InvalidTransition)?;
                    let mut fields = source.fields.clone();
                    fields.status = back.code().into();
                    fields.merged_into = None;
                    if let Versioned::Conflict(current) = repo::update_incident(c, source.id, source.version, &fields, now).await? {
                        return Err(AppError::Conflict { current });
                    }
                    let payload =
                        serde_json::json!({"target_id": target_id, "source_id": source.id, "merge_id": merge_id, "reports": reports});
                    for (id, path) in [(target_id, &target.fields.path), (source.id, &source.fields.path)] {
                        store::events::append(
                            c,
                            &app.kernel.event(
                                &ctx2,
                                "incident.split",
                                "incident",
                                id,
                                Some(path),
                                None,
                                Classification::Internal,
                                payload.clone(),
                            ),
                        )
                        .await?;
                    }
                    store::audit::append(
                        c,
                        &app.kernel.audit(&ctx2, "incident.split", "incident", Some(format!("{}<-{target_id}", source.id))),
                    )
                    .await?;
                    Ok(Outcome::Done(repo::get_incident(c, source.id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?))
                })
            })
            .await?;
        self.incidents_changed().await;
        Ok(incident_view(ctx.locale, &source))
    }

    /// Hands command of an incident to the next jurisdiction level up: it appears on their board and ticker with its
    /// full history.
    pub async fn escalate_incident(
        &self,
        ctx: &Context,
        id: i64,
        version: Option<i64>,
        note: Option<&str>,
    ) -> Result<IncidentView, AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let note = optional("note", note, 2000)?;
        let row = self.load_incident(id).await?;
        let current = row.fields.command_jurisdiction_id.unwrap_or(row.fields.jurisdiction_id);
        let parent = {
            let mut reader = self.kernel.store().reader().await?;
            let place = store::registry::get_jurisdiction(&mut reader.conn(), current, false)
                .await?
                .ok_or(AppError::NotFound { kind: ResourceKind::Jurisdiction })?;
            match place.parent_id {
                Some(parent) => store::registry::get_jurisdiction(&mut reader.conn(), parent, false).await?,
                None => None,
            }
        };
        let Some(parent) = parent else {
            return Err(AppError::WrongState { kind: ResourceKind::Incident, state: row.fields.status.clone(), step: "escalate" });
        };
        let mut fields = row.fields.clone();
        // The incident stays placed at its home jurisdiction (whose people keep seeing it); the level above already
        // sees everything below it, and now commands.
        fields.command_jurisdiction_id = Some(parent.id);
        let payload = serde_json::json!({"from": current, "to": parent.id, "to_name": parent.name_zh, "note": note, "home": row.fields.jurisdiction_id});
        let row = self.write_incident(ctx, &row, version, fields, "incident.escalated", payload).await?;
        Ok(incident_view(ctx.locale, &row))
    }

    /// Open incidents for the public map, de-identified: counted by category in cells of [`PUBLIC_CELL_DEG`],
    /// placed at the cell's centre, cells of fewer than [`PUBLIC_MIN_COUNT`] left out. No description, address,
    /// reporter or exact position leaves.
    pub async fn public_live_incidents(&self, locale: Locale) -> Result<Value, AppError> {
        let mut query = store::list::ListQuery::new(store::list::Visibility::Everything, 10_000);
        // Confirmed and open only: unverified reports (anyone signed in can file one) never show, nor lift a count.
        query.conditions.push(("status NOT IN ('reported', 'closed', 'merged', 'rejected')", Vec::new()));
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            store::incidents::list_incidents(&mut reader.conn(), &query).await?.items
        };
        let mut cells: BTreeMap<(i64, i64, String), usize> = BTreeMap::new();
        for row in rows {
            let key = (
                (row.fields.lon / PUBLIC_CELL_DEG).floor() as i64,
                (row.fields.lat / PUBLIC_CELL_DEG).floor() as i64,
                row.fields.category.clone(),
            );
            *cells.entry(key).or_default() += 1;
        }
        let features: Vec<Value> = cells
            .into_iter()
            .filter(|(_, count)| *count >= PUBLIC_MIN_COUNT)
            .map(|((x, y, category), count)| {
                let round = |v: f64| (v * 1e6).round() / 1e6;
                let centre = [round((x as f64 + 0.5) * PUBLIC_CELL_DEG), round((y as f64 + 0.5) * PUBLIC_CELL_DEG)];
                let label = domain::incident::Category::parse("category", &category)
                    .map(|c| c.label(locale).to_string())
                    .unwrap_or(category.clone());
                json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": centre},
                       "properties": {"category": category, "category_label": label, "count": count}})
            })
            .collect();
        Ok(json!({"type": "FeatureCollection", "features": features,
                  "properties": {"cell_degrees": PUBLIC_CELL_DEG, "suppressed_below": PUBLIC_MIN_COUNT}}))
    }
}

/// What a hotline import did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct HotlineImport {
    /// Data lines read.
    pub lines: usize,
    /// New reports.
    pub created: usize,
    /// Tickets imported before (nothing changed).
    pub known: usize,
    /// Lines refused: line number, field and why.
    pub rejected: Vec<crate::registry::RejectedLine>,
}

/// The columns of a hotline export.
pub const HOTLINE_COLUMNS: &[&str] =
    &["ticket", "category", "subtype", "description", "lon", "lat", "address", "observed_at", "caller_phone"];

impl Incidents {
    /// Imports a hotline's tickets (CSV with a header: `ticket,category,subtype,description,lon,lat,address,
    /// observed_at,caller_phone`): each line becomes a report keyed by its ticket number.
    pub async fn import_hotline(&self, ctx: &Context, csv: &str) -> Result<HotlineImport, AppError> {
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &Resource::new(ResourceKind::Hotline, Classification::Internal)) {
            return Err(self.kernel.refuse(ctx, "report.hotline_import", "hotline", None, reason).await);
        }
        let mut lines = csv.lines().enumerate();
        let Some((_, header)) = lines.next() else { return Err(Invalid::new("csv", InvalidReason::Required).into()) };
        let header = crate::util::split_csv(header.trim_start_matches('\u{feff}'))
            .map_err(|_| Invalid::new("csv", InvalidReason::Malformed { expected: "a CSV header line" }))?;
        let mut columns = BTreeMap::new();
        for (index, name) in header.iter().enumerate() {
            let name = name.trim();
            let known = HOTLINE_COLUMNS.iter().find(|c| **c == name).ok_or_else(|| {
                Invalid::new(format!("csv.header[{index}]"), InvalidReason::UnknownValue { allowed: HOTLINE_COLUMNS.to_vec() })
            })?;
            columns.insert(*known, index);
        }
        for required in ["ticket", "category", "subtype", "description", "lon", "lat"] {
            if !columns.contains_key(required) {
                return Err(Invalid::new(format!("csv.header.{required}"), InvalidReason::Required).into());
            }
        }
        let mut report = HotlineImport::default();
        for (index, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            report.lines += 1;
            let number = index + 1;
            let reject = |field: &str, message: String| crate::registry::RejectedLine { line: number, field: field.to_string(), message };
            let values = match crate::util::split_csv(line) {
                Ok(values) => values,
                Err(problem) => {
                    report.rejected.push(reject("csv", problem.to_string()));
                    continue;
                }
            };
            let get = |name: &str| columns.get(name).and_then(|i| values.get(*i)).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            let number_of = |name: &str| get(name).and_then(|v| v.parse::<f64>().ok());
            let (Some(lon), Some(lat)) = (number_of("lon"), number_of("lat")) else {
                let field = if number_of("lon").is_none() { "lon" } else { "lat" };
                report.rejected.push(reject(
                    field,
                    Invalid::new(field, InvalidReason::Malformed { expected: "a decimal number" }).message(ctx.locale),
                ));
                continue;
            };
            let input = ReportInput {
                category: get("category").unwrap_or_default(),
                subtype: get("subtype").unwrap_or_default(),
                description: get("description").unwrap_or_default(),
                lon,
                lat,
                address: get("address"),
                observed_at: get("observed_at"),
                reporter_phone: get("caller_phone"),
                channel_key: get("ticket"),
                ..ReportInput::default()
            };
            if input.channel_key.is_none() {
                report.rejected.push(reject("ticket", Invalid::new("ticket", InvalidReason::Required).message(ctx.locale)));
                continue;
            }
            match self.submit_report(ctx, "hotline", input).await {
                Ok(outcome) if outcome.created => report.created += 1,
                Ok(_) => report.known += 1,
                Err(AppError::Invalid(invalid)) => {
                    let field = invalid.field.clone();
                    report.rejected.push(reject(&field, invalid.message(ctx.locale)));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(report)
    }

    /// The incident's timeline: every event about it and its tasks, oldest first.
    pub async fn incident_timeline(&self, ctx: &Context, id: i64) -> Result<Vec<crate::events::EventView>, AppError> {
        self.get_incident(ctx, id).await?;
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::timeline(&mut reader.conn(), id, 2000).await?.into_iter().map(crate::events::view).collect())
    }
}

impl Incidents {
    /// A report posted through Open311, with its incident (for the public status of the request). Reports from
    /// other channels are not shown there.
    pub async fn open311_request(&self, id: i64) -> Result<Option<(ReportRow, Option<IncidentRow>)>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let Some(report) = repo::get_report(&mut reader.conn(), id).await?.filter(|r| r.report.channel == "open311") else {
            return Ok(None);
        };
        let incident = match report.incident_id {
            Some(incident) => repo::get_incident(&mut reader.conn(), incident).await?,
            None => None,
        };
        Ok(Some((report, incident)))
    }

    /// Reports posted through Open311: by ids, or by service codes and a time range (default: the last 90 days),
    /// newest first, at most 1,000.
    pub async fn open311_requests(
        &self,
        ids: &[i64],
        codes: &[String],
        start_ms: Option<i64>,
        end_ms: Option<i64>,
    ) -> Result<Vec<(ReportRow, Option<IncidentRow>)>, AppError> {
        // Asked by id, the requests are looked up one by one, however old (GeoReport v2: the other parameters are
        // then ignored). Otherwise the newest 1,000 in the window, of the one service asked for if any.
        let rows = if !ids.is_empty() {
            let mut reader = self.kernel.store().reader().await?;
            let mut rows = Vec::new();
            for id in ids.iter().take(1000) {
                if let Some(report) = repo::get_report(&mut reader.conn(), *id).await?
                    && report.report.channel == "open311"
                {
                    rows.push(report);
                }
            }
            rows
        } else {
            let mut query = ListQuery::new(store::list::Visibility::Everything, 1000);
            query.equals.push(("channel", "open311".to_string().into()));
            if let [code] = codes {
                query.equals.push(("subtype", code.clone().into()));
            }
            query.sort = Some(("id".into(), true));
            let end = end_ms.unwrap_or_else(|| self.kernel.now_ms());
            let start = start_ms.unwrap_or(end - 90 * 86_400_000);
            query.conditions.push(("created_at >= {} AND created_at <= {}", vec![start.into(), end.into()]));
            let mut reader = self.kernel.store().reader().await?;
            repo::list_reports(&mut reader.conn(), &query).await?.items
        };
        let mut out = Vec::new();
        let mut reader = self.kernel.store().reader().await?;
        for report in rows {
            if ids.is_empty() && !codes.is_empty() && !codes.contains(&report.report.subtype) {
                continue;
            }
            let incident = match report.incident_id {
                Some(incident) => repo::get_incident(&mut reader.conn(), incident).await?,
                None => None,
            };
            out.push((report, incident));
        }
        Ok(out)
    }
}

/// The image types accepted as media, with the first bytes that prove them.
const MEDIA_TYPES: &[(&str, &[u8])] = &[("image/jpeg", b"\xFF\xD8\xFF"), ("image/png", b"\x89PNG\r\n\x1a\n"), ("image/webp", b"RIFF")];

/// The largest upload, in bytes.
pub const MAX_MEDIA_BYTES: usize = 10 * 1024 * 1024;

impl Incidents {
    /// Stores a photo (JPEG, PNG or WebP, at most 10 MiB, checked by its first bytes, not only its declared type);
    /// answers the URL reports and tasks refer to it by.
    pub async fn upload_media(&self, ctx: &Context, content_type: &str, bytes: Vec<u8>) -> Result<String, AppError> {
        if !ctx.subject.is_authenticated() && !ctx.is_system() {
            return Err(AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired });
        }
        let Some((kind, magic)) = MEDIA_TYPES.iter().find(|(kind, _)| *kind == content_type) else {
            return Err(Invalid::new(
                "content_type",
                InvalidReason::UnknownValue { allowed: MEDIA_TYPES.iter().map(|(k, _)| *k).collect() },
            )
            .into());
        };
        if bytes.is_empty() || bytes.len() > MAX_MEDIA_BYTES {
            return Err(Invalid::new("file", InvalidReason::OutOfRange { min: "1".into(), max: MAX_MEDIA_BYTES.to_string() }).into());
        }
        if !bytes.starts_with(magic) {
            return Err(Invalid::new("file", InvalidReason::Malformed { expected: "the image type it claims to be" }).into());
        }
        let key = crate::util::random_hex(16)?;
        let (app, label, kind, stored) = (self.clone(), ctx.actor_label.clone(), kind.to_string(), key.clone());
        self.kernel
            .store()
            .write(move |c| Box::pin(async move { repo::insert_media(c, &stored, &kind, bytes, &label, app.kernel.now_ms()).await }))
            .await?;
        Ok(format!("/media/{key}"))
    }

    /// An uploaded file, for whoever holds its URL.
    pub async fn media(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, AppError> {
        if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::get_media(&mut reader.conn(), key).await?)
    }
}
