//! Early warning: authoring, the lifecycle with its safety rails, CAP in and out, geotargeted delivery through a
//! durable outbox, acknowledgement and door-knock escalation.
//!
//! The lifecycle is `draft → approved → issued → updated | cancelled → expired`. An update or a cancellation is a
//! message of its own (CAP `Update`/`Cancel` with `references`), drafted from the warning it replaces; issuing it
//! moves the replaced warning to `updated` or `cancelled`. Safety rails: the area is checked (closed, in range,
//! not self-intersecting, non-zero) before anything is stored; the number of people inside is shown before
//! issuing and an unusually large number needs an explicit confirmation; an `Actual` warning needs the approval of
//! a second person (the two-person rule); `Exercise` and `Test` warnings reach staff (members, organizations'
//! systems) and never the public (households, the public page and feed). A cancellation needs no second person:
//! withdrawing a false alarm must be fast (Hawaii, 13 January 2018, took 38 minutes).

mod area;
mod cap_io;
mod delivery;
mod escalation;
mod feeds;
mod ingest;
mod lifecycle;
mod targeting;

use std::collections::BTreeMap;

use domain::policy::{Action, Decision, Resource, ResourceKind};
use domain::registry::JurisdictionPath;
use domain::{Classification, Invalid, InvalidReason, Locale, i18n};
use serde_json::Value;
use store::list::ListQuery;
use store::registry::Versioned;
use store::warnings::{self as repo, WarningFields, WarningRow};

use crate::kernel::Kernel;
use crate::time::rfc3339;
use crate::util::visibility;
use crate::util::{Outcome, decide, refusal};
use crate::{AppError, Context, ListParams, Page};
use serde_json::json;

pub use area::WarningArea;
pub use cap_io::{HAZARD_CODE_NAME, Replaced, build_alert, cap_time, emit_checked, identifier};
pub use delivery::{AckView, DeliveryReport, Transports, message_text};
pub use escalation::EscalationReport;
pub use feeds::{FeedEntry, FeedError, FeedReport, parse_feed};
pub use ingest::{Ingested, MAX_CAP_BYTES, Received, parse_document};
pub use lifecycle::Enqueued;
pub use targeting::{TargetIndex, Targets};

/// The warnings context's use cases.
#[derive(Debug, Clone)]
pub struct Warnings {
    pub(crate) kernel: Kernel,
    pub(crate) registry: crate::registry::Registry,
    pub(crate) incidents: crate::incidents::Incidents,
    runtime: std::sync::Arc<Runtime>,
}

impl Warnings {
    pub(crate) fn new(kernel: Kernel, registry: crate::registry::Registry, incidents: crate::incidents::Incidents) -> Warnings {
        Warnings { kernel, registry, incidents, runtime: std::sync::Arc::default() }
    }
}

/// Settings of warnings, from `[warnings]` in `gridline.toml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarningsConfig {
    /// The CAP `sender` of warnings issued here (an e-mail-like address, no spaces).
    pub sender: String,
    /// The sender's name as people read it, in Chinese.
    pub sender_name_zh: String,
    /// The sender's name in English.
    pub sender_name_en: String,
    /// The GB/T 35965.1 issuer code (14 digits: division, organization, sub-unit, extension).
    pub issuer_code: String,
    /// Deprecated: the top-level `public_url` says where people reach Gridline; this older setting is still read
    /// when that one is absent.
    pub public_url: Option<String>,
    /// The usual largest number of residents a warning reaches; issuing to more needs an explicit confirmation.
    pub usual_reach: i64,
    /// Per-hazard overrides of `usual_reach` (a typhoon warning covers a city; a gas leak a few buildings).
    pub usual_reach_by_hazard: BTreeMap<String, i64>,
    /// Minutes after issue at which vulnerable households that have not acknowledged become door-knock tasks,
    /// per level (`red`, `orange`, …); levels not listed get no door-knocks.
    pub door_knock_after_minutes: BTreeMap<String, i64>,
    /// Minutes a door-knock task has before it escalates to the community cadre.
    pub door_knock_due_minutes: i64,
    /// Relay `Actual` warnings received from outside (the API, feeds) to the people inside their area.
    pub relay_ingested: bool,
    /// External CAP feeds to poll.
    pub feeds: Vec<FeedConfig>,
}

impl Default for WarningsConfig {
    fn default() -> WarningsConfig {
        WarningsConfig {
            sender: "gridline@localhost".into(),
            sender_name_zh: "Gridline 基层应急平台".into(),
            sender_name_en: "Gridline".into(),
            issuer_code: "31010400000000".into(),
            public_url: None,
            usual_reach: 50_000,
            usual_reach_by_hazard: [("typhoon", 5_000_000), ("rainstorm", 2_000_000), ("heat_wave", 5_000_000), ("cold_wave", 5_000_000)]
                .into_iter()
                .map(|(hazard, n)| (hazard.to_string(), n))
                .collect(),
            door_knock_after_minutes: [("red", 30), ("orange", 60)].into_iter().map(|(level, n)| (level.to_string(), n)).collect(),
            door_knock_due_minutes: 30,
            relay_ingested: true,
            feeds: Vec::new(),
        }
    }
}

/// An external CAP feed (Atom or RSS whose entries link to CAP documents).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// A short name, used as the source of what it brings (`feed:<name>`).
    pub name: String,
    /// The feed's `https://` (or `http://`) address.
    pub url: String,
    /// A PEM file of certificates to trust for this feed besides the public roots (a service's own authority).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Seconds between polls (default 60).
    #[serde(default = "default_feed_interval")]
    pub interval_seconds: u64,
}

fn default_feed_interval() -> u64 {
    60
}

/// Settings of delivery, from `[delivery]` in `gridline.toml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// The SMS gateway: an `https://` or `http://` URL that takes `POST {"to", "text", "id"}` as JSON.
    pub sms_gateway_url: Option<String>,
    /// The SMTP relay, `host:port` (plain SMTP to a relay on the local network).
    pub smtp_server: Option<String>,
    /// The `From:` address of e-mails.
    pub smtp_from: String,
    /// Deliveries claimed per round.
    pub batch: i64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Seconds a claimed delivery stays leased to a worker; if the worker dies, the delivery is due again after it.
    pub lease_seconds: i64,
    /// Attempts before a delivery is given up.
    pub max_attempts: i64,
    /// The first retry waits this many seconds; each further retry waits twice as long (at most an hour).
    pub retry_base_seconds: i64,
    /// Seconds a transport may take for one message.
    pub timeout_seconds: u64,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            sms_gateway_url: None,
            smtp_server: None,
            smtp_from: "gridline@localhost".into(),
            batch: 500,
            concurrency: 32,
            // A node that dies mid-fan-out has its deliveries taken over within this long; a live worker renews
            // the leases of what it still holds every third of it.
            lease_seconds: 15,
            max_attempts: 8,
            retry_base_seconds: 10,
            timeout_seconds: 10,
        }
    }
}

/// The state the warnings machinery keeps in memory.
#[derive(Debug, Default)]
pub struct Runtime {
    pub(crate) targets: TargetIndex,
    pub(crate) wake: tokio::sync::Notify,
    pub(crate) ack_key: tokio::sync::OnceCell<Vec<u8>>,
}

/// Lifecycle states.
pub const STATES: &[&str] = &["draft", "approved", "issued", "updated", "cancelled", "expired"];
/// States in which a warning has been sent.
const SENT_STATES: &[&str] = &["issued", "updated", "cancelled", "expired"];
/// CAP statuses a warning may be authored with.
const STATUSES: &[&str] = &["Actual", "Exercise", "Test"];
/// Warning levels, most severe first.
pub const LEVELS: &[&str] = &["red", "orange", "yellow", "blue"];

/// A new warning, or a draft's new content.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarningInput {
    /// The issuing jurisdiction (who is responsible for the warning).
    pub jurisdiction_id: i64,
    /// `Actual` (default), `Exercise` or `Test`.
    #[serde(default)]
    pub status: Option<String>,
    /// `red`, `orange`, `yellow` or `blue`.
    pub level: String,
    /// The hazard, a code such as `rainstorm`, `typhoon`, `gas_leak`.
    pub hazard: String,
    /// The CAP category (`Met`, `Geo`, `Safety`, …); derived from the hazard when absent.
    #[serde(default)]
    pub category: Option<String>,
    /// Headline in Chinese.
    pub headline_zh: String,
    /// Headline in English (an English CAP `info` is added when present).
    #[serde(default)]
    pub headline_en: Option<String>,
    /// What is happening, in Chinese.
    pub description_zh: String,
    /// What is happening, in English.
    #[serde(default)]
    pub description_en: Option<String>,
    /// What to do, in Chinese.
    pub instruction_zh: String,
    /// What to do, in English.
    #[serde(default)]
    pub instruction_en: Option<String>,
    /// The area: a GeoJSON Polygon or MultiPolygon, `{"type": "Circle", "center": [lon, lat], "radius_m": r}`,
    /// `{"type": "Jurisdictions", "ids": [...]}` (their boundaries), or a `GeometryCollection` of these.
    #[schema(value_type = Object)]
    pub area: Value,
    /// The area in words (default: the names of the jurisdictions or of the issuing jurisdiction).
    #[serde(default)]
    pub area_desc: Option<String>,
    /// When it takes effect (RFC 3339; default: when issued).
    #[serde(default)]
    pub effective_at: Option<String>,
    /// When it expires (RFC 3339).
    pub expires_at: String,
}

/// A warning on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WarningView {
    /// Id.
    pub id: i64,
    /// CAP identifier (GB/T 35965 form once issued here).
    pub identifier: String,
    /// CAP sender.
    pub sender: String,
    /// Where it came from: `console`, `api`, `feed:<name>`.
    pub source: String,
    /// Lifecycle state.
    pub state: String,
    /// The state in the caller's language.
    pub state_label: String,
    /// CAP status.
    pub status: String,
    /// CAP message type: `Alert`, `Update` or `Cancel`.
    pub msg_type: String,
    /// Level: red, orange, yellow, blue.
    pub level: String,
    /// The level in the caller's language.
    pub level_label: String,
    /// Hazard code.
    pub hazard: String,
    /// The hazard in the caller's language.
    pub hazard_label: String,
    /// CAP category.
    pub category: String,
    /// Headline in Chinese.
    pub headline_zh: String,
    /// Headline in English.
    pub headline_en: Option<String>,
    /// The headline in the caller's language (Chinese when there is no English one).
    pub headline: String,
    /// Description in Chinese.
    pub description_zh: String,
    /// Description in English.
    pub description_en: Option<String>,
    /// Instruction in Chinese.
    pub instruction_zh: String,
    /// Instruction in English.
    pub instruction_en: Option<String>,
    /// The area in words.
    pub area_desc: String,
    /// The area (GeoJSON; circles as `{"type": "Circle", …}`).
    #[schema(value_type = Object)]
    pub area: Value,
    /// The issuing jurisdiction.
    pub jurisdiction_id: i64,
    /// Effective from.
    pub effective_at: String,
    /// Expires at.
    pub expires_at: String,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// The warning it updates or cancels.
    pub replaces_id: Option<i64>,
    /// How many recipients were targeted (households, members and organizations).
    pub recipients: i64,
    /// Drafted by (account id).
    pub created_by: Option<i64>,
    /// Approved by (account id).
    pub approved_by: Option<i64>,
    /// Issued by (account id).
    pub issued_by: Option<i64>,
    /// Whether the public sees it (an `Actual` warning that has been sent).
    pub public: bool,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// Who is inside a warning's area, shown before it is issued.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReachPreview {
    /// Registered households inside.
    pub households: i64,
    /// Their residents.
    pub residents: i64,
    /// Households on the vulnerable-resident register.
    pub vulnerable: i64,
    /// Members (staff, volunteers) inside.
    pub members: i64,
    /// Whether households will be reached at all (`Exercise` and `Test` never reach the public).
    pub reaches_public: bool,
    /// The usual largest reach for this hazard.
    pub usual: i64,
    /// Whether issuing needs an explicit confirmation because the reach is unusually large.
    pub confirmation_required: bool,
}

/// The reach of an issued warning, by grid.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReachView {
    /// Totals over every grid.
    pub total: GridReachView,
    /// One row per grid (jurisdiction of the recipients).
    pub grids: Vec<GridReachView>,
    /// Deliveries by status (`pending`, `delivering`, `delivered`, `failed`, `cancelled`).
    pub deliveries: BTreeMap<String, i64>,
}

/// Reach in one grid.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct GridReachView {
    /// The grid (jurisdiction) id.
    pub grid_id: Option<i64>,
    /// Its name in the caller's language.
    pub grid_name: Option<String>,
    /// Its boundary (GeoJSON), to draw reach on the map.
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<Value>,
    /// Recipients targeted.
    pub targeted: i64,
    /// Recipients with at least one delivered message.
    pub delivered: i64,
    /// Recipients who acknowledged.
    pub acknowledged: i64,
    /// Door-knock tasks created.
    pub door_knock_tasks: i64,
    /// Door-knocks done.
    pub door_knocked: i64,
    /// Recipients neither delivered to, nor acknowledged, nor door-knocked.
    pub unreached: i64,
}

/// Filters of the warning list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarningFilter {
    /// Only warnings in this state.
    pub state: Option<String>,
}

/// Sortable fields of the warning list.
pub const SORTABLE: &[&str] = &["id", "sent_at", "effective_at", "expires_at", "level", "state"];

pub(crate) fn parse_time(field: &str, text: &str) -> Result<i64, Invalid> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| Invalid::new(field, InvalidReason::Malformed { expected: "an RFC 3339 time such as 2026-07-01T08:00:00+08:00" }))
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

fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => text(field, value, max).map(Some),
    }
}

/// The CAP category of a hazard.
pub fn category_of(hazard: &str) -> &'static str {
    match hazard {
        "meteorological" | "typhoon" | "rainstorm" | "snowstorm" | "cold_wave" | "gale" | "heat_wave" | "lightning" | "drought"
        | "storm_surge" | "marine" => "Met",
        "flood_drought"
        | "urban_waterlogging"
        | "flash_flood"
        | "reservoir_dike_danger"
        | "earthquake"
        | "geological"
        | "landslide"
        | "debris_flow"
        | "ground_collapse" => "Geo",
        "forest_grassland_fire" | "fire" | "building_fire" => "Fire",
        "hazardous_chemicals" | "nuclear_radiation" => "CBRNE",
        "transport_accident" | "road_traffic" => "Transport",
        "public_facility" | "gas_leak" | "water_main_burst" | "power_outage" | "elevator_entrapment" => "Infra",
        "environmental" | "marine_oil_spill" | "biological" => "Env",
        "infectious_disease"
        | "infectious_cluster"
        | "unknown_illness"
        | "food_occupational"
        | "food_poisoning"
        | "animal_epidemic"
        | "other_public_health" => "Health",
        "terrorist_attack" | "ethnic_religious" | "economic_security" | "foreign_related" | "mass_incident" | "major_criminal"
        | "cyber_security" => "Security",
        "crowd_crush" | "work_safety" => "Safety",
        _ => "Other",
    }
}

/// The hazard's name in `locale`.
pub fn hazard_label(locale: Locale, hazard: &str) -> String {
    i18n::lookup(locale, &format!("incident_subtype.{hazard}"))
        .or_else(|| i18n::lookup(locale, &format!("hazard.{hazard}")))
        .map(str::to_string)
        .unwrap_or_else(|| hazard.replace('_', " "))
}

/// Whether a warning is in force at `now_ms`: sent and current (`issued`, not yet replaced, cancelled or expired),
/// and a warning itself, not the `Cancel` message that withdrew another.
pub fn is_in_force(fields: &WarningFields, now_ms: i64) -> bool {
    fields.state == "issued" && fields.msg_type != "Cancel" && fields.expires_at > now_ms
}

pub(crate) fn resource<'a>(path: &'a JurisdictionPath, fields: &WarningFields) -> Resource<'a> {
    Resource::new(ResourceKind::Warning, classification(fields)).in_jurisdiction(path)
}

/// Sent `Actual` warnings are public; everything else is internal.
pub(crate) fn classification(fields: &WarningFields) -> Classification {
    if fields.cap_status == "Actual" && SENT_STATES.contains(&fields.state.as_str()) {
        Classification::Public
    } else {
        Classification::Internal
    }
}

/// A stored warning on the wire, in `locale`.
pub fn view(locale: Locale, row: &WarningRow) -> WarningView {
    let f = &row.fields;
    let label = |prefix: &str, code: &str| i18n::lookup(locale, &format!("{prefix}.{code}")).unwrap_or(code).to_string();
    WarningView {
        id: row.id,
        identifier: f.identifier.clone(),
        sender: f.sender.clone(),
        source: f.source.clone(),
        state: f.state.clone(),
        state_label: label("state", &f.state),
        status: f.cap_status.clone(),
        msg_type: f.msg_type.clone(),
        level: f.level.clone(),
        level_label: label("warning_level", &f.level),
        hazard: f.event.clone(),
        hazard_label: hazard_label(locale, &f.event),
        category: f.category.clone(),
        headline: match (locale, &f.headline_en) {
            (Locale::En, Some(en)) => en.clone(),
            _ => f.headline_zh.clone(),
        },
        headline_zh: f.headline_zh.clone(),
        headline_en: f.headline_en.clone(),
        description_zh: f.description_zh.clone(),
        description_en: f.description_en.clone(),
        instruction_zh: f.instruction_zh.clone(),
        instruction_en: f.instruction_en.clone(),
        area_desc: f.area_desc.clone(),
        area: serde_json::from_str(&f.area).unwrap_or(Value::Null),
        jurisdiction_id: row.path.ids().last().map(|id| id.0).unwrap_or(0),
        effective_at: rfc3339(f.effective_at),
        expires_at: rfc3339(f.expires_at),
        sent_at: f.sent_at.filter(|_| SENT_STATES.contains(&f.state.as_str())).map(rfc3339),
        replaces_id: f.replaces_id,
        recipients: f.recipients,
        created_by: f.created_by,
        approved_by: f.approved_by,
        issued_by: f.issued_by,
        public: classification(f) == Classification::Public,
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

impl Warnings {
    pub(crate) fn warnings_runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Wakes the delivery worker (after enqueuing).
    pub fn wake_delivery(&self) {
        self.runtime.wake.notify_one();
    }

    /// Waits until woken by [`App::wake_delivery`].
    pub async fn delivery_woken(&self) {
        self.runtime.wake.notified().await;
    }

    /// Who is inside an area, from the targeting index.
    pub async fn targets_inside(&self, area: &WarningArea) -> Result<Targets, AppError> {
        let mut union = Targets::default();
        for part in area.areas() {
            let inside = self.runtime.targets.inside(self.kernel.store(), part).await?;
            union.households.extend(inside.households);
            union.members.extend(inside.members);
        }
        for ids in [&mut union.households, &mut union.members] {
            ids.sort_unstable();
            ids.dedup();
        }
        Ok(union)
    }

    /// Resolves `{"type": "Jurisdictions", "ids": [...]}` (also inside a collection) into the jurisdictions'
    /// boundaries, and checks the area.
    async fn resolve_area(&self, value: &Value) -> Result<(WarningArea, Vec<String>), AppError> {
        let mut names = Vec::new();
        let resolved = self.resolve_jurisdictions("area", value, &mut names, 0).await?;
        Ok((WarningArea::from_json("area", &resolved)?, names))
    }

    fn resolve_jurisdictions<'a>(
        &'a self,
        field: &'a str,
        value: &'a Value,
        names: &'a mut Vec<String>,
        depth: usize,
    ) -> futures_util::future::BoxFuture<'a, Result<Value, AppError>> {
        Box::pin(async move {
            match value.get("type").and_then(Value::as_str) {
                Some("Jurisdictions") => {
                    let ids = value
                        .get("ids")
                        .and_then(Value::as_array)
                        .filter(|ids| !ids.is_empty())
                        .ok_or_else(|| Invalid::new(format!("{field}.ids"), InvalidReason::Required))?;
                    let mut geometries = Vec::new();
                    let mut reader = self.kernel.store().reader().await?;
                    for (index, id) in ids.iter().enumerate() {
                        let id_field = format!("{field}.ids[{index}]");
                        let id = id
                            .as_i64()
                            .ok_or_else(|| Invalid::new(&id_field, InvalidReason::Malformed { expected: "a jurisdiction id" }))?;
                        let row = store::registry::get_jurisdiction(&mut reader.conn(), id, true)
                            .await?
                            .ok_or_else(|| Invalid::new(&id_field, InvalidReason::NotFound))?;
                        let boundary = row.boundary.ok_or_else(|| Invalid::new(&id_field, InvalidReason::Required))?;
                        geometries.push(crate::util::parse_json_value(&boundary)?);
                        names.push(row.name_zh);
                    }
                    Ok(serde_json::json!({"type": "GeometryCollection", "geometries": geometries}))
                }
                Some("GeometryCollection") if depth == 0 => {
                    let mut geometries = Vec::new();
                    if let Some(parts) = value.get("geometries").and_then(Value::as_array) {
                        for (index, part) in parts.iter().enumerate() {
                            let resolved =
                                self.resolve_jurisdictions(&format!("{field}.geometries[{index}]"), part, names, depth + 1).await?;
                            match resolved.get("type").and_then(Value::as_str) {
                                Some("GeometryCollection") => {
                                    geometries.extend(resolved.get("geometries").and_then(Value::as_array).cloned().unwrap_or_default())
                                }
                                _ => geometries.push(resolved),
                            }
                        }
                    }
                    Ok(serde_json::json!({"type": "GeometryCollection", "geometries": geometries}))
                }
                _ => Ok(value.clone()),
            }
        })
    }

    /// Checks a warning input and turns it into stored fields (state `draft`).
    async fn warning_fields(&self, ctx: &Context, input: &WarningInput) -> Result<(WarningFields, JurisdictionPath), AppError> {
        let (path, _) = self.registry.jurisdiction_path("jurisdiction_id", input.jurisdiction_id).await?;
        let issuer_name = {
            let mut reader = self.kernel.store().reader().await?;
            store::registry::get_jurisdiction(&mut reader.conn(), input.jurisdiction_id, false)
                .await?
                .map(|j| j.name_zh)
                .unwrap_or_default()
        };
        let status = input.status.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("Actual");
        if !STATUSES.contains(&status) {
            return Err(Invalid::new("status", InvalidReason::UnknownValue { allowed: STATUSES.to_vec() }).into());
        }
        let level = input.level.trim();
        if !LEVELS.contains(&level) {
            return Err(Invalid::new("level", InvalidReason::UnknownValue { allowed: LEVELS.to_vec() }).into());
        }
        let hazard = input.hazard.trim();
        if hazard.is_empty() || hazard.len() > 40 || !hazard.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(Invalid::new("hazard", InvalidReason::BadCharacters { allowed: "a-z, 0-9 and _" }).into());
        }
        let category = match input.category.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => category_of(hazard).to_string(),
            Some(category) => {
                cap::Category::parse(category).map_err(|_| {
                    Invalid::new(
                        "category",
                        InvalidReason::UnknownValue { allowed: cap::Category::ALL.iter().map(|c| c.as_str()).collect() },
                    )
                })?;
                category.to_string()
            }
        };
        let headline_zh = text("headline_zh", &input.headline_zh, 160)?;
        let description_zh = text("description_zh", &input.description_zh, 4000)?;
        let instruction_zh = text("instruction_zh", &input.instruction_zh, 2000)?;
        let headline_en = optional_text("headline_en", input.headline_en.as_deref(), 160)?;
        let description_en = optional_text("description_en", input.description_en.as_deref(), 4000)?;
        let instruction_en = optional_text("instruction_en", input.instruction_en.as_deref(), 2000)?;
        if headline_en.is_some() {
            // GB/T 35965 wants a description and an instruction in every language a warning speaks.
            if description_en.is_none() {
                return Err(Invalid::new("description_en", InvalidReason::Required).into());
            }
            if instruction_en.is_none() {
                return Err(Invalid::new("instruction_en", InvalidReason::Required).into());
            }
        }
        let (area, names) = self.resolve_area(&input.area).await?;
        let area_desc = match optional_text("area_desc", input.area_desc.as_deref(), 500)? {
            Some(desc) => desc,
            None if !names.is_empty() => names.join("、"),
            None => issuer_name,
        };
        let now = self.kernel.now_ms();
        let effective_at = match input.effective_at.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => parse_time("effective_at", text)?,
            None => now,
        };
        let expires_at = parse_time("expires_at", &input.expires_at)?;
        if expires_at <= effective_at.max(now) {
            return Err(
                Invalid::new("expires_at", InvalidReason::OutOfRange { min: rfc3339(effective_at.max(now)), max: "+7d".into() }).into()
            );
        }
        if expires_at > effective_at.max(now) + 7 * 86_400_000 {
            return Err(
                Invalid::new("expires_at", InvalidReason::OutOfRange { min: rfc3339(effective_at.max(now)), max: "+7d".into() }).into()
            );
        }
        let fields = WarningFields {
            identifier: format!("draft-{}", crate::util::random_hex(8)?),
            sender: self.kernel.config().warnings.sender.clone(),
            source: "console".into(),
            state: "draft".into(),
            cap_status: status.into(),
            msg_type: "Alert".into(),
            level: level.into(),
            category,
            event: hazard.into(),
            headline_zh,
            headline_en,
            description_zh,
            description_en,
            instruction_zh,
            instruction_en,
            area_desc,
            area: area.to_json().to_string(),
            effective_at,
            expires_at,
            sent_at: None,
            references_text: None,
            replaces_id: None,
            cap_xml: None,
            recipients: 0,
            created_by: ctx.account_id(),
            approved_by: None,
            issued_by: None,
        };
        Ok((fields, path))
    }

    /// Drafts a warning.
    pub async fn create_warning(&self, ctx: &Context, input: WarningInput) -> Result<WarningView, AppError> {
        let (fields, path) = self.warning_fields(ctx, &input).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource(&path, &fields)) {
            return Err(self.kernel.refuse(ctx, "warning.create", "warning", None, reason).await);
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_warning(c, &fields, &path, app.kernel.now_ms()).await?;
                    app.warning_event(c, &ctx2, "warning.drafted", &row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "warning.create", "warning", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(ctx.locale, &row))
    }

    pub(crate) async fn warning_event(&self, c: &mut store::Conn<'_>, ctx: &Context, kind: &str, row: &WarningRow) -> Result<(), AppError> {
        let payload = serde_json::json!({
            "id": row.id, "version": row.version, "state": row.fields.state, "level": row.fields.level,
            "headline_zh": row.fields.headline_zh, "headline_en": row.fields.headline_en, "status": row.fields.cap_status,
        });
        store::events::append(
            c,
            &self.kernel.event(ctx, kind, "warning", row.id, Some(&row.path), None, classification(&row.fields), payload),
        )
        .await?;
        Ok(())
    }

    async fn load_warning(&self, id: i64) -> Result<WarningRow, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        repo::get_warning(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Warning })
    }

    /// One warning.
    pub async fn get_warning(&self, ctx: &Context, id: i64) -> Result<WarningView, AppError> {
        let row = self.load_warning(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &resource(&row.path, &row.fields)) {
            // Someone without access learns nothing of a draft, not even that it exists.
            if !ctx.subject.is_authenticated() {
                return Err(AppError::NotFound { kind: ResourceKind::Warning });
            }
            return Err(self.kernel.refuse(ctx, "warning.read", "warning", Some(id.to_string()), reason).await);
        }
        Ok(view(ctx.locale, &row))
    }

    /// The stored CAP document of a warning the caller may read.
    pub async fn warning_cap_xml(&self, ctx: &Context, id: i64) -> Result<String, AppError> {
        let row = self.load_warning(id).await?;
        if !decide(ctx, Action::Read, &resource(&row.path, &row.fields)).is_allowed() {
            return Err(AppError::NotFound { kind: ResourceKind::Warning });
        }
        row.fields.cap_xml.ok_or(AppError::NotFound { kind: ResourceKind::Warning })
    }

    /// Lists the warnings visible to the caller.
    pub async fn list_warnings(&self, ctx: &Context, params: &ListParams, filter: &WarningFilter) -> Result<Page<WarningView>, AppError> {
        let limit = params.limit()?;
        let offset = params.offset()?;
        // Internal warnings (drafts, exercises) within the caller's scope; public ones everywhere.
        let internal = visibility(domain::policy::read_filter(&ctx.subject, ResourceKind::Warning, Classification::Internal));
        let internal = if ctx.is_system() { store::list::Visibility::Everything } else { internal };
        let mut query = ListQuery::new(internal, limit);
        query.offset = offset;
        query.search = params.q.clone();
        query.sort = params.sort(SORTABLE)?.or(Some(("id".into(), true)));
        if let Some(id) = params.jurisdiction_id {
            query.within = Some(self.registry.jurisdiction_path("jurisdiction_id", id).await?.0);
        }
        if let Some(state) = filter.state.as_deref().filter(|s| !s.is_empty()) {
            if !STATES.contains(&state) {
                return Err(Invalid::new("state", InvalidReason::UnknownValue { allowed: STATES.to_vec() }).into());
            }
            query.equals.push(("state", state.to_string().into()));
        }
        // Outside the caller's scope: only public warnings (sent and Actual).
        query.also_visible = Some(PUBLIC_SQL);
        let page = {
            let mut reader = self.kernel.store().reader().await?;
            repo::list_warnings(&mut reader.conn(), &query).await?
        };
        Ok(Page { items: page.items.iter().map(|row| view(ctx.locale, row)).collect(), total: page.total, limit, offset })
    }

    /// Public warnings: sent, `Actual`, newest first.
    pub async fn public_warnings(&self, limit: i64) -> Result<Vec<WarningRow>, AppError> {
        let mut query = ListQuery::new(store::list::Visibility::Everything, limit.clamp(1, 500));
        query.sort = Some(("id".into(), true));
        query.conditions.push((PUBLIC_SQL, Vec::new()));
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::list_warnings(&mut reader.conn(), &query).await?.items)
    }

    /// A public warning (sent, `Actual`), or not found.
    pub async fn public_warning(&self, id: i64) -> Result<WarningRow, AppError> {
        let row = self.load_warning(id).await?;
        if classification(&row.fields) != Classification::Public {
            return Err(AppError::NotFound { kind: ResourceKind::Warning });
        }
        Ok(row)
    }

    /// Replaces a draft's content.
    pub async fn update_warning_draft(
        &self,
        ctx: &Context,
        id: i64,
        version: Option<i64>,
        input: WarningInput,
    ) -> Result<WarningView, AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let current = self.load_warning(id).await?;
        let (mut fields, path) = self.warning_fields(ctx, &input).await?;
        if current.fields.state != "draft" && current.fields.state != "approved" {
            return Err(AppError::WrongState { kind: ResourceKind::Warning, state: current.fields.state, step: "edit" });
        }
        // A change to an approved warning withdraws the approval: the second person approves what is sent.
        fields.identifier = current.fields.identifier.clone();
        fields.msg_type = current.fields.msg_type.clone();
        fields.references_text = current.fields.references_text.clone();
        fields.replaces_id = current.fields.replaces_id;
        fields.created_by = current.fields.created_by;
        for (allowed, path) in [(&current, &current.path), (&current, &path)] {
            if let Decision::Deny(reason) = decide(ctx, Action::Update, &resource(path, &allowed.fields)) {
                return Err(self.kernel.refuse(ctx, "warning.update", "warning", Some(id.to_string()), reason).await);
            }
        }
        self.write_warning(ctx, id, version, fields, path, "warning.edited", "warning.update").await
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_warning(
        &self,
        ctx: &Context,
        id: i64,
        version: i64,
        fields: WarningFields,
        path: JurisdictionPath,
        event: &'static str,
        action: &'static str,
    ) -> Result<WarningView, AppError> {
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    match repo::update_warning(c, id, version, &fields, &path, app.kernel.now_ms()).await? {
                        Versioned::Done(_) => {}
                        Versioned::Conflict(current) => return Err(AppError::Conflict { current }),
                        Versioned::Missing => return Err(AppError::NotFound { kind: ResourceKind::Warning }),
                    }
                    let row = repo::get_warning(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Warning })?;
                    app.warning_event(c, &ctx2, event, &row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, action, "warning", Some(id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(ctx.locale, &row))
    }

    /// Approves a draft: the second person of the two-person rule (never the person who drafted it).
    pub async fn approve_warning(&self, ctx: &Context, id: i64, version: Option<i64>) -> Result<WarningView, AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let row = self.load_warning(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &resource(&row.path, &row.fields)) {
            return Err(self.kernel.refuse(ctx, "warning.approve", "warning", Some(id.to_string()), reason).await);
        }
        if row.fields.state != "draft" {
            return Err(AppError::WrongState { kind: ResourceKind::Warning, state: row.fields.state, step: "approve" });
        }
        if row.fields.created_by.is_some() && row.fields.created_by == ctx.account_id() {
            let mut record = self.kernel.audit(ctx, "warning.approve", "warning", Some(id.to_string()));
            record = refusal(record, domain::policy::DenyReason::NotPermitted);
            record.reason = "second_person_required".into();
            self.kernel.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
            return Err(AppError::SecondPersonRequired);
        }
        let mut fields = row.fields.clone();
        fields.state = "approved".into();
        fields.approved_by = ctx.account_id();
        self.write_warning(ctx, id, version, fields, row.path, "warning.approved", "warning.approve").await
    }

    /// Who a warning would reach, before it is issued.
    pub async fn preview_reach(&self, ctx: &Context, id: i64) -> Result<ReachPreview, AppError> {
        let row = self.load_warning(id).await?;
        // Who is inside (the vulnerable households among them) is staff's to see, even for a public warning.
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &resource(&row.path, &row.fields).classified(Classification::Internal)) {
            return Err(self.kernel.refuse(ctx, "warning.preview", "warning", Some(id.to_string()), reason).await);
        }
        let area = WarningArea::from_json("area", &crate::util::parse_json_value(&row.fields.area)?)?;
        let targets = self.targets_inside(&area).await?;
        self.preview_of(&row.fields, &targets).await
    }

    async fn preview_of(&self, fields: &WarningFields, targets: &Targets) -> Result<ReachPreview, AppError> {
        let (households, residents, vulnerable) = {
            let mut reader = self.kernel.store().reader().await?;
            store::households::headcount(&mut reader.conn(), &targets.households).await?
        };
        let config = &self.kernel.config().warnings;
        let usual = config.usual_reach_by_hazard.get(&fields.event).copied().unwrap_or(config.usual_reach);
        let reaches_public = fields.cap_status == "Actual";
        Ok(ReachPreview {
            households,
            residents,
            vulnerable,
            members: targets.members.len() as i64,
            reaches_public,
            usual,
            confirmation_required: reaches_public && residents > usual,
        })
    }

    /// Reach of a sent warning, by grid.
    pub async fn warning_reach(&self, ctx: &Context, id: i64) -> Result<ReachView, AppError> {
        let row = self.load_warning(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &resource(&row.path, &row.fields).classified(Classification::Internal)) {
            return Err(self.kernel.refuse(ctx, "warning.reach", "warning", Some(id.to_string()), reason).await);
        }
        let mut reader = self.kernel.store().reader().await?;
        let grids = repo::reach_by_grid(&mut reader.conn(), id).await?;
        let deliveries: BTreeMap<String, i64> = repo::delivery_counts(&mut reader.conn(), id).await?.into_iter().collect();
        let mut total = GridReachView::default();
        let mut rows = Vec::with_capacity(grids.len());
        for grid in grids {
            let jurisdiction = match grid.grid_id {
                Some(grid_id) => store::registry::get_jurisdiction(&mut reader.conn(), grid_id, true).await?,
                None => None,
            };
            let reached = grid.delivered.max(grid.acknowledged);
            let view = GridReachView {
                grid_id: grid.grid_id,
                grid_name: jurisdiction.as_ref().map(|j| match (ctx.locale, &j.name_en) {
                    (Locale::En, Some(en)) => en.clone(),
                    _ => j.name_zh.clone(),
                }),
                boundary: jurisdiction.and_then(|j| j.boundary).and_then(|b| serde_json::from_str(&b).ok()),
                targeted: grid.targeted,
                delivered: grid.delivered,
                acknowledged: grid.acknowledged,
                door_knock_tasks: grid.door_knock_tasks,
                door_knocked: grid.door_knocked,
                unreached: (grid.targeted - reached - grid.door_knocked).max(0),
            };
            total.targeted += view.targeted;
            total.delivered += view.delivered;
            total.acknowledged += view.acknowledged;
            total.door_knock_tasks += view.door_knock_tasks;
            total.door_knocked += view.door_knocked;
            total.unreached += view.unreached;
            rows.push(view);
        }
        Ok(ReachView { total, grids: rows, deliveries })
    }

    /// Warnings in force, for the public map: their areas, levels and headlines (all of it public by the CAP).
    pub async fn public_live_warnings(&self, locale: Locale) -> Result<Value, AppError> {
        let now = self.kernel.now_ms();
        let features: Vec<Value> = self
            .public_warnings(200)
            .await?
            .into_iter()
            .filter(|w| crate::warnings::is_in_force(&w.fields, now))
            .filter_map(|w| {
                let area: Value = serde_json::from_str(&w.fields.area).ok()?;
                Some(json!({"type": "Feature", "id": w.id, "geometry": area, "properties": {
                    "headline": crate::util::title(locale, &w.fields.headline_zh, w.fields.headline_en.as_deref()),
                    "level": w.fields.level, "event": w.fields.event, "area": w.fields.area_desc,
                    "expires_at": crate::time::rfc3339(w.fields.expires_at),
                    "url": format!("/public/warnings/{}.xml", w.id),
                }}))
            })
            .collect();
        Ok(json!({"type": "FeatureCollection", "features": features}))
    }
}

/// The SQL of public warnings: sent and `Actual`.
const PUBLIC_SQL: &str = "cap_status = 'Actual' AND state IN ('issued', 'updated', 'cancelled', 'expired')";
