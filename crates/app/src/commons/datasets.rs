//! The data commons: every department's data as datasets — typed, classified field by field, versioned — shared by
//! rule, unlocked for an incident's command while its activation lasts, every read of protected data logged with
//! its purpose for the owner (and the residents concerned) to see.
//!
//! Who reads what is decided per request by [`App::access_to`], from four sources of access, never stored as a
//! grant that someone must remember to revoke:
//!
//! 1. the owner: the owning organization's accounts, and administrators — every field;
//! 2. the classification: public fields to anyone, internal fields to any account of the platform (when the
//!    dataset itself is at most internal);
//! 3. standing policies of the owner: an organization or a role may read the dataset, or some fields, anywhere or
//!    inside an area;
//! 4. activation-bound policies: while an incident of a category at a grade or worse has an activation in force,
//!    its command (duty officers over the commanding jurisdiction) reads the fields the policy names inside the
//!    incident's area. Stand-down ends the activation, and with it the access, without anyone revoking anything.
//!
//! The vulnerable-resident register ([`REGISTER`]) is a dataset built from the household registry: only the grid
//! members assigned to a household's grid, and an activation's command inside the incident's area, read it —
//! never anyone else (Emergency Response Law Art. 85), whatever their role.

use std::collections::{BTreeMap, BTreeSet};

use domain::policy::{AccountRole, Action, DenyReason, Resource, ResourceKind};
use domain::text::{Code, Name};
use domain::{Classification, Invalid, InvalidReason, Locale};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::datasets::{self as repo, AccessEntry, DatasetMeta, FeatureChange, PolicyRow};
use store::layers::{FeatureInput, FeatureRow, LayerFields, LayerRow};

use crate::commons::Commons;
use crate::registry::REGISTER;
use crate::util::title;
use crate::util::{Outcome, decide};
use crate::{AppError, Context};

/// Settings of the data commons, from `[data]` in `gridline.toml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// At stand-down, purge the personal data the response gathered (Emergency Response Law Art. 85: data obtained
    /// for a response is used for it only): the reporters' names, phones and e-mail addresses on the incident's
    /// reports, and personal details copied into its tasks. The audit log keeps who read what, never the data.
    pub purge_at_stand_down: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig { purge_at_stand_down: true }
    }
}

/// The largest import file.
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

/// At most this many features come back from one read.
const READ_LIMIT: i64 = 5_000;

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Integer,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
}

/// A field of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `public`, `internal` (default), `restricted` or `confidential`.
    #[serde(default = "internal")]
    pub classification: String,
    #[serde(default)]
    pub title_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    /// A row without it is refused.
    #[serde(default)]
    pub required: bool,
}

fn internal() -> String {
    "internal".into()
}

/// A dataset as its owner declares it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetInput {
    pub title_zh: String,
    #[serde(default)]
    pub title_en: Option<String>,
    /// `gas_pipelines`, `water_pipelines`, `drainage`, `power_lines`, `heat_pipelines`, `roads`, `road_closures`,
    /// `bridges`, `underpasses`, `material_reserves`, `shelters`, `hazard_sources`, `low_lying_areas`,
    /// `old_buildings`, `critical_facilities`, `sensors`, `other`.
    pub kind: String,
    /// Of the dataset as a whole (`public`, `internal`, `restricted`, `confidential`); no field is below it.
    pub classification: String,
    pub organization_id: Option<i64>,
    #[serde(default)]
    pub jurisdiction_id: Option<i64>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    #[serde(default)]
    pub licence: Option<String>,
    #[serde(default)]
    pub description_zh: Option<String>,
    #[serde(default)]
    pub description_en: Option<String>,
    /// How often the owner means to update it; older data is flagged stale.
    #[serde(default)]
    pub update_interval_hours: Option<f64>,
}

/// The kinds of datasets.
pub const KINDS: &[&str] = &[
    "gas_pipelines",
    "water_pipelines",
    "drainage",
    "power_lines",
    "heat_pipelines",
    "roads",
    "road_closures",
    "bridges",
    "underpasses",
    "material_reserves",
    "shelters",
    "hazard_sources",
    "low_lying_areas",
    "old_buildings",
    "critical_facilities",
    "vulnerable_residents",
    "sensors",
    "osm",
    "other",
];

/// A dataset in the catalogue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatasetView {
    pub name: String,
    pub title: String,
    pub title_zh: String,
    pub title_en: Option<String>,
    pub kind: String,
    pub classification: String,
    pub organization_id: Option<i64>,
    pub organization: Option<String>,
    /// The fields the caller may read (all of them for the owner).
    pub fields: Vec<FieldSpec>,
    pub licence: Option<String>,
    pub description: Option<String>,
    pub feature_count: i64,
    /// When its data last changed.
    pub updated_at: Option<String>,
    pub update_interval_hours: Option<f64>,
    /// Older than its update interval: shown greyed, flagged to its owner.
    pub stale: bool,
    pub stale_since: Option<String>,
    /// Whether the caller owns it (sees its policies and access log).
    pub owned: bool,
}

/// A sharing policy as its owner writes it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// The organization granted.
    #[serde(default)]
    pub organization_id: Option<i64>,
    /// Or the role granted (`duty_officer`, `community_cadre`, …).
    #[serde(default)]
    pub role: Option<String>,
    /// The fields it may read; none, every field.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Only the features inside this area (a GeoJSON Polygon or MultiPolygon).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub area: Option<Value>,
    /// Bound to an activation: only while an incident of this kind is activated, for its command, inside its area.
    #[serde(default)]
    pub activation: Option<ActivationCondition>,
    #[serde(default)]
    pub note: Option<String>,
}

/// "While an incident of category C at grade G or worse is activated".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationCondition {
    /// The incident category (`accident_disaster`, …); none, any.
    #[serde(default)]
    pub category: Option<String>,
    /// The least serious grade (`grade_iii` means III, II or I); none, any.
    #[serde(default)]
    pub min_grade: Option<String>,
    /// The incident's area: this radius around it; none, its affected jurisdictions.
    #[serde(default)]
    pub radius_m: Option<f64>,
    /// The command roles that read (default: duty officers over the commanding jurisdiction).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A policy on the wire.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub id: i64,
    pub organization_id: Option<i64>,
    pub role: Option<String>,
    pub fields: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub area: Option<Value>,
    pub activation: Option<ActivationCondition>,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// For an activation-bound policy: the incidents whose activation opens it now.
    pub open_for_incidents: Vec<i64>,
}

/// A read in the access log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessView {
    pub at: String,
    pub dataset: String,
    pub actor: String,
    /// `owner`, `policy`, `incident`, `assigned`.
    pub purpose: String,
    pub incident_id: Option<i64>,
    pub policy_id: Option<i64>,
    pub features: i64,
    pub fields: Vec<String>,
}

/// A row refused by an import.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct RowProblem {
    /// The line of the file (CSV, from 1 with the header), or the feature's index (GeoJSON, from 0).
    pub line: usize,
    pub field: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DatasetImportReport {
    pub rows: usize,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub rejected: Vec<RowProblem>,
}

/// One source of access to a dataset.
#[derive(Debug, Clone)]
struct Grant {
    /// The properties it shows.
    shown: Shown,
    /// Only inside every one of these areas (an incident's, and the policy's own); none, anywhere.
    areas: Vec<Zone>,
    purpose: &'static str,
    incident_id: Option<i64>,
    policy_id: Option<i64>,
}

/// Which properties a grant shows.
#[derive(Debug, Clone)]
enum Shown {
    All,
    /// These fields (a policy's list).
    Only(BTreeSet<String>),
    /// Every property classified at most this (the classification's own grant).
    UpTo(Classification),
}

impl Grant {
    fn shows(&self, schema: &[FieldSpec], layer: Classification, key: &str) -> bool {
        match &self.shown {
            Shown::All => true,
            Shown::Only(set) => set.contains(key),
            Shown::UpTo(clearance) => field_class(schema, layer, key) <= *clearance,
        }
    }

    fn inside(&self, lon: f64, lat: f64) -> bool {
        self.areas.iter().all(|zone| zone.contains(lon, lat))
    }
}

/// What a caller may read of a dataset, broadest source first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    grants: Vec<Grant>,
}

fn classification(code: &str) -> Classification {
    Classification::parse("classification", code).unwrap_or(Classification::Confidential)
}

fn schema_of(meta: Option<&DatasetMeta>) -> Vec<FieldSpec> {
    meta.and_then(|m| serde_json::from_str(&m.schema).ok()).unwrap_or_default()
}

/// The classification of a property: its field's, or the dataset's for a property the schema does not name.
fn field_class(schema: &[FieldSpec], layer: Classification, name: &str) -> Classification {
    schema.iter().find(|f| f.name == name).map_or(layer, |f| classification(&f.classification).max(layer))
}

/// The most a caller may read by the classification alone: public for everyone, internal for accounts.
fn default_clearance(ctx: &Context) -> Classification {
    if ctx.is_system() {
        Classification::Confidential
    } else if ctx.subject.is_authenticated() && !ctx.subject.grants.is_empty() {
        Classification::Internal
    } else {
        Classification::Public
    }
}

/// What a stored policy shows and where: `None` when its list or area cannot be read.
fn policy_terms(policy: &PolicyRow) -> Option<(Shown, Vec<Zone>)> {
    let shown = match policy.fields.as_deref() {
        None => Shown::All,
        Some(text) => Shown::Only(serde_json::from_str::<BTreeSet<String>>(text).ok()?),
    };
    let areas = match policy.area.as_deref() {
        None => Vec::new(),
        Some(text) => vec![Zone(vec![spatial::Area::from_geojson(text).ok()?])],
    };
    Some((shown, areas))
}

/// Why a caller with no access is refused: sign in first, or not permitted.
pub(crate) fn no_access(ctx: &Context) -> DenyReason {
    if ctx.subject.is_authenticated() || ctx.is_system() { DenyReason::NotPermitted } else { DenyReason::SignInRequired }
}

/// Whether the caller manages a dataset for its owner: administrators, and the owning organization's liaisons (or,
/// for an enterprise, its enterprise accounts) — not every volunteer the organization counts.
pub(crate) fn owns(ctx: &Context, layer: &LayerRow) -> bool {
    ctx.is_system()
        || ctx.subject.has_role(AccountRole::Admin)
        || layer.organization_id.is_some_and(|org| {
            ctx.subject.grants.iter().any(|g| {
                g.organization.is_some_and(|o| o.0 == org) && matches!(g.role, AccountRole::DepartmentLiaison | AccountRole::Enterprise)
            })
        })
}

/// Every position of a GeoJSON geometry.
fn positions(geometry: &Value, out: &mut Vec<(f64, f64)>) {
    fn walk(value: &Value, out: &mut Vec<(f64, f64)>) {
        if let Some(items) = value.as_array() {
            if let (Some(lon), Some(lat)) = (items.first().and_then(Value::as_f64), items.get(1).and_then(Value::as_f64)) {
                out.push((lon, lat));
            } else {
                for item in items {
                    walk(item, out);
                }
            }
        }
    }
    walk(geometry.get("coordinates").unwrap_or(&Value::Null), out);
}

/// An area made of areas that may overlap (the jurisdictions an incident affects).
#[derive(Debug, Clone)]
pub(crate) struct Zone(Vec<spatial::Area>);

impl Zone {
    fn contains(&self, lon: f64, lat: f64) -> bool {
        self.0.iter().any(|area| area.contains(lon, lat))
    }
}

/// The part of a geometry inside an area (`inside` tells whether a position is): points inside it, lines cut where
/// they cross its edge (the crossing found by bisection, to well under a metre), polygons only when wholly inside.
/// `None` when nothing is inside. Nothing outside the area is ever returned.
fn clip(geometry: &Value, inside: &dyn Fn(f64, f64) -> bool) -> Option<Value> {
    let point = |c: &Value| -> Option<(f64, f64)> { Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?)) };
    let path = |coords: &Value| -> Vec<(f64, f64)> { coords.as_array().map(|a| a.iter().filter_map(point).collect()).unwrap_or_default() };
    let crossing = |a: (f64, f64), b: (f64, f64)| -> (f64, f64) {
        // `a` inside, `b` outside.
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..32 {
            let mid = (lo + hi) / 2.0;
            if inside(a.0 + (b.0 - a.0) * mid, a.1 + (b.1 - a.1) * mid) { lo = mid } else { hi = mid }
        }
        (a.0 + (b.0 - a.0) * lo, a.1 + (b.1 - a.1) * lo)
    };
    let clip_line = |line: &[(f64, f64)], parts: &mut Vec<Vec<(f64, f64)>>| {
        let mut current: Vec<(f64, f64)> = Vec::new();
        for (i, &v) in line.iter().enumerate() {
            let now = inside(v.0, v.1);
            if i == 0 {
                if now {
                    current.push(v);
                }
                continue;
            }
            let prev = line[i - 1];
            match (inside(prev.0, prev.1), now) {
                (true, true) => current.push(v),
                (true, false) => {
                    current.push(crossing(prev, v));
                    parts.push(std::mem::take(&mut current));
                }
                (false, true) => {
                    current.push(crossing(v, prev));
                    current.push(v);
                }
                (false, false) => {}
            }
        }
        if current.len() >= 2 {
            parts.push(current);
        }
        parts.retain(|p| p.len() >= 2);
    };
    let lines = |parts: Vec<Vec<(f64, f64)>>| -> Option<Value> {
        let coords: Vec<Vec<[f64; 2]>> = parts.into_iter().map(|p| p.into_iter().map(|(x, y)| [x, y]).collect()).collect();
        match coords.len() {
            0 => None,
            1 => Some(json!({"type": "LineString", "coordinates": coords[0]})),
            _ => Some(json!({"type": "MultiLineString", "coordinates": coords})),
        }
    };
    let coords = geometry.get("coordinates").unwrap_or(&Value::Null);
    match geometry.get("type")?.as_str()? {
        "Point" => point(coords).filter(|p| inside(p.0, p.1)).map(|_| geometry.clone()),
        "MultiPoint" => {
            let kept: Vec<[f64; 2]> = path(coords).into_iter().filter(|p| inside(p.0, p.1)).map(|(x, y)| [x, y]).collect();
            (!kept.is_empty()).then(|| json!({"type": "MultiPoint", "coordinates": kept}))
        }
        "LineString" => {
            let mut parts = Vec::new();
            clip_line(&path(coords), &mut parts);
            lines(parts)
        }
        "MultiLineString" => {
            let mut parts = Vec::new();
            for line in coords.as_array()? {
                clip_line(&path(line), &mut parts);
            }
            lines(parts)
        }
        "Polygon" | "MultiPolygon" => {
            let mut all = Vec::new();
            positions(geometry, &mut all);
            (!all.is_empty() && all.iter().all(|(x, y)| inside(*x, *y))).then(|| geometry.clone())
        }
        "GeometryCollection" => {
            let kept: Vec<Value> = geometry.get("geometries")?.as_array()?.iter().filter_map(|g| clip(g, inside)).collect();
            (!kept.is_empty()).then(|| json!({"type": "GeometryCollection", "geometries": kept}))
        }
        _ => None,
    }
}

impl Access {
    pub(crate) fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// Whether some grant covers the whole dataset, anywhere.
    pub(crate) fn covers_everywhere(&self) -> bool {
        self.grants.iter().any(|g| g.areas.is_empty())
    }

    /// What the caller may see of a feature: its geometry (whole, or the part inside the areas of area-bound grants)
    /// and the grants that cover it. `None` when none does.
    fn cover(&self, geometry: &Value) -> Option<(Value, Vec<&Grant>)> {
        let mut grants = Vec::new();
        let mut whole = false;
        let mut part: Option<Value> = None;
        for grant in &self.grants {
            if grant.areas.is_empty() {
                whole = true;
                grants.push(grant);
            } else if let Some(piece) = clip(geometry, &|lon, lat| grant.inside(lon, lat)) {
                part.get_or_insert(piece);
                grants.push(grant);
            }
        }
        if whole { Some((geometry.clone(), grants)) } else { part.map(|piece| (piece, grants)) }
    }

    /// Whether some grant shows this property.
    fn shows(&self, schema: &[FieldSpec], layer: Classification, key: &str) -> bool {
        self.grants.iter().any(|g| g.shows(schema, layer, key))
    }
}

impl Commons {
    /// Declares or changes a dataset (its owner organization's liaison, or an administrator): titles, kind,
    /// classification, typed and classified fields, licence, update interval. The layer is created if new.
    pub async fn save_dataset(&self, ctx: &Context, name: &str, input: DatasetInput) -> Result<DatasetView, AppError> {
        let name = Code::parse("name", name)?.as_str().to_string();
        if name == REGISTER {
            return Err(AppError::Forbidden { reason: DenyReason::NotPermitted });
        }
        let title_zh = Name::parse("title_zh", &input.title_zh)?.into_string();
        let title_en = Name::parse_optional("title_en", input.title_en.as_deref())?.map(Name::into_string);
        if !KINDS.contains(&input.kind.as_str()) {
            return Err(Invalid::new("kind", InvalidReason::UnknownValue { allowed: KINDS.to_vec() }).into());
        }
        let class = Classification::parse("classification", &input.classification)?;
        let mut seen = BTreeSet::new();
        for (i, field) in input.fields.iter().enumerate() {
            let at = |what: &str| format!("fields[{i}].{what}");
            Code::parse(&at("name"), &field.name)?;
            if !seen.insert(field.name.clone()) {
                return Err(Invalid::new(at("name"), InvalidReason::Duplicate).into());
            }
            Classification::parse(&at("classification"), &field.classification)?;
        }
        let interval = match input.update_interval_hours {
            None => None,
            Some(h) if h.is_finite() && (0.01..=24.0 * 366.0).contains(&h) => Some((h * 3600.0).round() as i64),
            Some(_) => {
                return Err(
                    Invalid::new("update_interval_hours", InvalidReason::OutOfRange { min: "0.01".into(), max: "8784".into() }).into()
                );
            }
        };
        let path = match input.jurisdiction_id {
            Some(id) => Some(self.registry.jurisdiction_path("jurisdiction_id", id).await?.0),
            None => None,
        };
        let resource = Resource::new(ResourceKind::Layer, class)
            .in_optional_jurisdiction(path.as_ref())
            .owned_by(input.organization_id.map(domain::ids::OrganizationId));
        let existing = {
            let mut reader = self.kernel.store().reader().await?;
            store::layers::get_layer(&mut reader.conn(), &name).await?
        };
        let allowed = match &existing {
            // Only the owner changes an existing dataset, and may not give it away to an organization it is not.
            Some(layer) => owns(ctx, layer) && decide(ctx, Action::Create, &resource).is_allowed(),
            None => decide(ctx, Action::Create, &resource).is_allowed(),
        };
        if !allowed {
            return Err(self.kernel.refuse(ctx, "dataset.save", "dataset", Some(name), DenyReason::NotPermitted).await);
        }
        let fields = LayerFields {
            name: name.clone(),
            title_zh,
            title_en,
            geometry_kind: existing.as_ref().map_or_else(|| "point".to_string(), |l| l.geometry_kind.clone()),
            classification: class.code().into(),
            organization_id: input.organization_id,
            path,
        };
        let meta = DatasetMeta {
            kind: input.kind.clone(),
            schema: serde_json::to_string(&input.fields).map_err(|e| AppError::Internal(e.to_string()))?,
            licence: input.licence.clone().filter(|l| !l.trim().is_empty()),
            description_zh: input.description_zh.clone(),
            description_en: input.description_en.clone(),
            update_interval_seconds: interval,
            ..DatasetMeta::default()
        };
        let (app, ctx2) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let layer = store::layers::upsert_layer(c, &fields, now).await?;
                    repo::upsert_meta(c, layer.id, &meta, now).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "dataset.save", "dataset", Some(layer.name.clone()))).await?;
                    Ok(Outcome::Done(()))
                })
            })
            .await?;
        self.get_dataset(ctx, &name).await
    }

    /// The datasets the caller may read, with freshness.
    pub async fn list_datasets(&self, ctx: &Context) -> Result<Vec<DatasetView>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let layers = store::layers::list_layers(&mut reader.conn()).await?;
        let metas: BTreeMap<i64, DatasetMeta> = repo::all_meta(&mut reader.conn()).await?.into_iter().collect();
        drop(reader);
        let mut views = Vec::new();
        for layer in layers {
            let meta = metas.get(&layer.id);
            let access = self.access_to(ctx, &layer).await?;
            let readable = if layer.name == REGISTER { self.register_access(ctx).await?.0 } else { !access.is_empty() };
            if readable {
                views.push(self.dataset_view(ctx, &layer, meta, &access).await?);
            }
        }
        Ok(views)
    }

    /// A dataset the caller may read.
    pub async fn get_dataset(&self, ctx: &Context, name: &str) -> Result<DatasetView, AppError> {
        let (layer, meta) = self.dataset_rows(name).await?;
        let access = self.access_to(ctx, &layer).await?;
        let allowed = if layer.name == REGISTER { self.register_access(ctx).await?.0 } else { !access.is_empty() };
        if !allowed {
            return Err(self.kernel.refuse(ctx, "dataset.read", "dataset", Some(layer.name.clone()), no_access(ctx)).await);
        }
        self.dataset_view(ctx, &layer, meta.as_ref(), &access).await
    }

    async fn dataset_rows(&self, name: &str) -> Result<(LayerRow, Option<DatasetMeta>), AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let layer = store::layers::get_layer(&mut reader.conn(), name).await?.ok_or(AppError::NotFound { kind: ResourceKind::Layer })?;
        let meta = repo::get_meta(&mut reader.conn(), layer.id).await?;
        Ok((layer, meta))
    }

    async fn dataset_view(
        &self,
        ctx: &Context,
        layer: &LayerRow,
        meta: Option<&DatasetMeta>,
        access: &Access,
    ) -> Result<DatasetView, AppError> {
        let owned = owns(ctx, layer) && layer.name != REGISTER;
        let layer_class = classification(&layer.classification);
        let schema = schema_of(meta);
        let fields: Vec<FieldSpec> =
            if owned { schema } else { schema.iter().filter(|f| access.shows(&schema, layer_class, &f.name)).cloned().collect() };
        let mut reader = self.kernel.store().reader().await?;
        let count = store::layers::count_features(&mut reader.conn(), layer.id).await?;
        let organization = match layer.organization_id {
            Some(id) => store::registry::get_organization(&mut reader.conn(), id)
                .await?
                .map(|o| title(ctx.locale, &o.fields.name_zh, o.fields.name_en.as_deref())),
            None => None,
        };
        let updated = meta.and_then(|m| m.data_updated_at).unwrap_or(layer.updated_at);
        Ok(DatasetView {
            name: layer.name.clone(),
            title: title(ctx.locale, &layer.title_zh, layer.title_en.as_deref()),
            title_zh: layer.title_zh.clone(),
            title_en: layer.title_en.clone(),
            kind: meta.map_or_else(|| "other".to_string(), |m| m.kind.clone()),
            classification: layer_class.code().into(),
            organization_id: layer.organization_id,
            organization,
            fields,
            licence: meta.and_then(|m| m.licence.clone()),
            description: meta.and_then(|m| match ctx.locale {
                Locale::En => m.description_en.clone().or_else(|| m.description_zh.clone()),
                Locale::ZhCn => m.description_zh.clone(),
            }),
            feature_count: count,
            updated_at: Some(crate::time::rfc3339(updated)),
            update_interval_hours: meta.and_then(|m| m.update_interval_seconds).map(|s| s as f64 / 3600.0),
            stale: meta.is_some_and(|m| m.stale_since.is_some()),
            stale_since: meta.and_then(|m| m.stale_since).map(crate::time::rfc3339),
            owned,
        })
    }

    /// What the caller may read of a stored dataset now: see the module documentation.
    pub(crate) async fn access_to(&self, ctx: &Context, layer: &LayerRow) -> Result<Access, AppError> {
        let mut access = Access::default();
        if layer.name == REGISTER {
            return Ok(access);
        }
        if owns(ctx, layer) {
            access.grants.push(Grant { shown: Shown::All, areas: Vec::new(), purpose: "owner", incident_id: None, policy_id: None });
            return Ok(access);
        }
        let layer_class = classification(&layer.classification);
        // Within its scope, a role cleared for internal data reads an internal layer as before datasets existed (a
        // community's shelters): the classification of each field still applies.
        // (Asked at internal, whatever the layer's classification: a public layer is readable by anyone, which says
        // nothing about its internal fields.)
        let by_scope = layer_class <= Classification::Internal
            && ctx.subject.is_authenticated()
            && decide(ctx, Action::Read, &layer_resource(layer, Classification::Internal)).is_allowed();
        let clearance = if by_scope { default_clearance(ctx).max(Classification::Internal) } else { default_clearance(ctx) };
        if layer_class <= clearance {
            access.grants.push(Grant {
                shown: Shown::UpTo(clearance),
                areas: Vec::new(),
                purpose: "classification",
                incident_id: None,
                policy_id: None,
            });
        }
        if !ctx.subject.is_authenticated() {
            return Ok(access);
        }
        let policies = {
            let mut reader = self.kernel.store().reader().await?;
            repo::policies_of(&mut reader.conn(), layer.id, false).await?
        };
        let mut bound = Vec::new();
        for policy in policies {
            if policy.activation.is_some() {
                bound.push(policy);
                continue;
            }
            let matches =
                policy.organization_id.is_some_and(|org| ctx.subject.grants.iter().any(|g| g.organization.is_some_and(|o| o.0 == org)))
                    || policy.role.as_deref().is_some_and(|role| ctx.subject.grants.iter().any(|g| g.role.code() == role));
            // A stored list or area that cannot be read grants nothing (never "every field" or "everywhere").
            if matches && let Some((shown, areas)) = policy_terms(&policy) {
                access.grants.push(Grant { shown, areas, purpose: "policy", incident_id: None, policy_id: Some(policy.id) });
            }
        }
        for policy in bound {
            let Some(condition) = policy.activation.as_deref().and_then(|a| serde_json::from_str::<ActivationCondition>(a).ok()) else {
                continue;
            };
            let Some((shown, areas)) = policy_terms(&policy) else { continue };
            for (incident_id, zone) in self.commanded_incidents(ctx, &condition).await? {
                // Inside the incident's area and inside the policy's own, if it has one.
                let mut areas = areas.clone();
                areas.push(zone);
                access.grants.push(Grant {
                    shown: shown.clone(),
                    areas,
                    purpose: "incident",
                    incident_id: Some(incident_id),
                    policy_id: Some(policy.id),
                });
            }
        }
        Ok(access)
    }

    /// The incidents with an activation in force that meet `condition` and that the caller commands, each with
    /// its area.
    async fn commanded_incidents(&self, ctx: &Context, condition: &ActivationCondition) -> Result<Vec<(i64, Zone)>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let activations = store::incidents::active_activations(&mut reader.conn()).await?;
        let min_grade = condition.min_grade.as_deref().and_then(|g| domain::incident::Grade::parse("min_grade", g).ok());
        let roles: Vec<&str> =
            if condition.roles.is_empty() { vec!["duty_officer"] } else { condition.roles.iter().map(String::as_str).collect() };
        let mut found = Vec::new();
        for activation in activations {
            let Some(incident) = store::incidents::get_incident(&mut reader.conn(), activation.incident_id).await? else { continue };
            if condition.category.as_deref().is_some_and(|c| c != incident.fields.category) {
                continue;
            }
            if let Some(min) = min_grade {
                let grade = incident.fields.grade.as_deref().and_then(|g| domain::incident::Grade::parse("grade", g).ok());
                if !grade.is_some_and(|g| g.at_least(min)) {
                    continue;
                }
            }
            // The command: the commanding jurisdiction's office (which may be above the incident's, when command
            // passed up) and the home office that still runs the scene.
            let scope: Value = serde_json::from_str(&activation.scope).unwrap_or_default();
            let mut offices = Vec::new();
            for id in [Some(activation.command_jurisdiction_id), scope["home"].as_i64()].into_iter().flatten() {
                if let Some(row) = store::registry::get_jurisdiction(&mut reader.conn(), id, false).await? {
                    offices.push(row.path);
                }
            }
            let commands = ctx.subject.grants.iter().any(|g| {
                roles.contains(&g.role.code()) && g.scope.as_ref().is_some_and(|scope| offices.iter().any(|office| scope.contains(office)))
            });
            if !commands {
                continue;
            }
            let area = match condition.radius_m {
                Some(radius) => spatial::LonLat::new(incident.fields.lon, incident.fields.lat)
                    .ok()
                    .and_then(|center| spatial::Area::circle(center, radius.clamp(10.0, 50_000.0)).ok())
                    .map(|area| Zone(vec![area])),
                None => {
                    // The jurisdictions the incident affects (its own when it names none), each its own area: they
                    // may nest or touch.
                    let mut ids: Vec<i64> = serde_json::from_str::<Vec<i64>>(&incident.fields.affected).unwrap_or_default();
                    if ids.is_empty() {
                        ids.push(incident.fields.jurisdiction_id);
                    }
                    let mut zone = Zone(Vec::new());
                    for id in ids {
                        if let Some(row) = store::registry::get_jurisdiction(&mut reader.conn(), id, true).await?
                            && let Some(area) = row.boundary.and_then(|b| spatial::Area::from_geojson(&b).ok())
                        {
                            zone.0.push(area);
                        }
                    }
                    (!zone.0.is_empty()).then_some(zone)
                }
            };
            if let Some(area) = area {
                found.push((incident.id, area));
            }
        }
        Ok(found)
    }

    /// Reads a dataset's features (inside `bbox`, or all; as they were at `as_of`, or now), each with only the
    /// properties the caller may read. A read that returns restricted or confidential data is logged with its
    /// purpose. No access at all is a 403.
    pub async fn read_dataset(&self, ctx: &Context, name: &str, bbox: Option<[f64; 4]>, as_of: Option<i64>) -> Result<Value, AppError> {
        if name == REGISTER {
            return self.read_register(ctx, bbox).await;
        }
        let (layer, meta) = self.dataset_rows(name).await?;
        let access = self.access_to(ctx, &layer).await?;
        if access.is_empty() {
            return Err(self.kernel.refuse(ctx, "dataset.read", "dataset", Some(layer.name.clone()), no_access(ctx)).await);
        }
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            match as_of {
                Some(at) => {
                    let mut rows = repo::features_as_of(&mut reader.conn(), layer.id, at, READ_LIMIT).await?;
                    if let Some(b) = bbox {
                        rows.retain(|f| feature_in_bbox(f, b));
                    }
                    rows
                }
                None => {
                    store::layers::features_in_bbox(&mut reader.conn(), layer.id, bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]), READ_LIMIT)
                        .await?
                }
            }
        };
        let features = self.filter_and_log(ctx, &layer, meta.as_ref(), &access, rows).await?;
        Ok(
            json!({"type": "FeatureCollection", "features": features, "properties": {"dataset": layer.name, "as_of": as_of.map(crate::time::rfc3339)}}),
        )
    }

    /// Keeps the features the caller's grants cover, with only the properties they show, and logs the read when it
    /// returned anything above internal.
    pub(crate) async fn filter_and_log(
        &self,
        ctx: &Context,
        layer: &LayerRow,
        meta: Option<&DatasetMeta>,
        access: &Access,
        rows: Vec<FeatureRow>,
    ) -> Result<Vec<Value>, AppError> {
        let layer_class = classification(&layer.classification);
        let schema = schema_of(meta);
        let mut out = Vec::with_capacity(rows.len());
        let mut shown_fields = BTreeSet::new();
        let mut highest = layer_class;
        // Which grants were used, for the log: (purpose, incident, policy) → features.
        let mut used: BTreeMap<(&'static str, Option<i64>, Option<i64>), i64> = BTreeMap::new();
        for feature in rows {
            let geometry: Value = serde_json::from_str(&feature.geometry).unwrap_or(Value::Null);
            let Some((geometry, grants)) = access.cover(&geometry) else { continue };
            let shows = |key: &str| grants.iter().any(|g| g.shows(&schema, layer_class, key));
            let mut properties: Value = serde_json::from_str(&feature.properties).unwrap_or_else(|_| json!({}));
            if let Some(object) = properties.as_object_mut() {
                object.retain(|key, _| shows(key));
                // The display name is a property like any other (it may be an address or a person's name).
                if let Some(name) = feature.name.as_ref().filter(|_| shows("name")) {
                    object.insert("name".into(), json!(name));
                }
                for key in object.keys() {
                    shown_fields.insert(key.clone());
                    highest = highest.max(field_class(&schema, layer_class, key));
                }
                object.insert("id".into(), json!(feature.external_id));
            }
            for grant in grants {
                *used.entry((grant.purpose, grant.incident_id, grant.policy_id)).or_default() += 1;
            }
            out.push(json!({"type": "Feature", "id": feature.external_id, "geometry": geometry, "properties": properties}));
        }
        if highest >= Classification::Restricted && !out.is_empty() && !ctx.is_system() {
            let fields = serde_json::to_string(&shown_fields).unwrap_or_else(|_| "[]".into());
            let entries: Vec<AccessEntry> = used
                .into_iter()
                .map(|((purpose, incident_id, policy_id), features)| AccessEntry {
                    id: 0,
                    at: self.kernel.now_ms(),
                    layer_id: layer.id,
                    owner_organization_id: layer.organization_id,
                    account_id: ctx.subject.account.map(|a| a.0),
                    actor: ctx.display_name.clone().unwrap_or_else(|| ctx.actor_label.clone()),
                    purpose: purpose.into(),
                    incident_id,
                    policy_id,
                    features,
                    fields: fields.clone(),
                })
                .collect();
            self.kernel
                .store()
                .write(move |c| {
                    Box::pin(async move {
                        for entry in &entries {
                            repo::log_access(c, entry, &[]).await?;
                        }
                        Ok::<(), store::StoreError>(())
                    })
                })
                .await?;
        }
        Ok(out)
    }

    /// Logs a map view that showed a protected point layer as counts per cell (no properties, but positions).
    pub(crate) async fn log_aggregate(&self, ctx: &Context, layer: &LayerRow, access: &Access, features: i64) -> Result<(), AppError> {
        if classification(&layer.classification) < Classification::Restricted || ctx.is_system() || features == 0 {
            return Ok(());
        }
        let Some(grant) = access.grants.iter().find(|g| g.areas.is_empty()) else { return Ok(()) };
        let entry = AccessEntry {
            id: 0,
            at: self.kernel.now_ms(),
            layer_id: layer.id,
            owner_organization_id: layer.organization_id,
            account_id: ctx.subject.account.map(|a| a.0),
            actor: ctx.display_name.clone().unwrap_or_else(|| ctx.actor_label.clone()),
            purpose: grant.purpose.into(),
            incident_id: grant.incident_id,
            policy_id: grant.policy_id,
            features,
            fields: "[]".into(),
        };
        self.kernel.store().write(move |c| Box::pin(async move { repo::log_access(c, &entry, &[]).await.map(|_| ()) })).await?;
        Ok(())
    }

    /// Who may read the register now: (any access at all, the grid paths assigned, the incident areas commanded).
    async fn register_access(&self, ctx: &Context) -> Result<(bool, Vec<domain::registry::JurisdictionPath>, Vec<(i64, Zone)>), AppError> {
        if !ctx.subject.is_authenticated() {
            return Ok((false, Vec::new(), Vec::new()));
        }
        let grids: Vec<_> =
            ctx.subject.grants.iter().filter(|g| g.role == AccountRole::GridMember).filter_map(|g| g.scope.clone()).collect();
        let incidents = self
            .commanded_incidents(ctx, &ActivationCondition { category: None, min_grade: None, radius_m: None, roles: Vec::new() })
            .await?;
        Ok((!grids.is_empty() || !incidents.is_empty(), grids, incidents))
    }

    /// The vulnerable-resident register: a grid member's own grids, an activation's command inside the incident's
    /// area; nobody else. Every read is logged, with each household it included.
    async fn read_register(&self, ctx: &Context, bbox: Option<[f64; 4]>) -> Result<Value, AppError> {
        let (any, grids, incidents) = self.register_access(ctx).await?;
        let layer = self.registry.register_layer().await?;
        if !any {
            return Err(self.kernel.refuse(ctx, "dataset.read", "dataset", Some(REGISTER.into()), no_access(ctx)).await);
        }
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            repo::vulnerable_in_bbox(&mut reader.conn(), bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]), READ_LIMIT).await?
        };
        let mut features = Vec::new();
        let mut by_purpose: BTreeMap<(&'static str, Option<i64>), Vec<i64>> = BTreeMap::new();
        for row in rows {
            let purpose = if grids.iter().any(|g| g.contains(&row.path)) {
                ("assigned", None)
            } else if let Some((incident, _)) = incidents.iter().find(|(_, area)| area.contains(row.lon, row.lat)) {
                ("incident", Some(*incident))
            } else {
                continue;
            };
            by_purpose.entry(purpose).or_default().push(row.household_id);
            features.push(json!({"type": "Feature", "id": row.code, "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
                "properties": {"id": row.code, "address": row.address, "residents": row.residents, "phone": row.phone, "needs": row.needs}}));
        }
        if !features.is_empty() {
            let (now, actor, account, layer_id) = (
                self.kernel.now_ms(),
                ctx.display_name.clone().unwrap_or_else(|| ctx.actor_label.clone()),
                ctx.subject.account.map(|a| a.0),
                layer.id,
            );
            self.kernel
                .store()
                .write(move |c| {
                    Box::pin(async move {
                        for ((purpose, incident_id), households) in &by_purpose {
                            let entry = AccessEntry {
                                id: 0,
                                at: now,
                                layer_id,
                                owner_organization_id: None,
                                account_id: account,
                                actor: actor.clone(),
                                purpose: (*purpose).into(),
                                incident_id: *incident_id,
                                policy_id: None,
                                features: households.len() as i64,
                                fields: r#"["address","needs","phone","residents"]"#.into(),
                            };
                            repo::log_access(c, &entry, households).await?;
                        }
                        Ok::<(), store::StoreError>(())
                    })
                })
                .await?;
        }
        Ok(json!({"type": "FeatureCollection", "features": features, "properties": {"dataset": REGISTER}}))
    }

    /// The reads of a dataset, newest first: its owner's (and administrators' and auditors') view.
    pub async fn dataset_access_log(&self, ctx: &Context, name: &str) -> Result<Vec<AccessView>, AppError> {
        let layer = if name == REGISTER { self.registry.register_layer().await? } else { self.dataset_rows(name).await?.0 };
        let allowed = (owns(ctx, &layer) && layer.name != REGISTER)
            || ctx.subject.has_role(AccountRole::Admin)
            || ctx.subject.has_role(AccountRole::Auditor);
        if !allowed {
            return Err(self.kernel.refuse(ctx, "dataset.access_log", "dataset", Some(layer.name.clone()), DenyReason::NotPermitted).await);
        }
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::access_log(&mut reader.conn(), layer.id, 500).await?.into_iter().map(|e| access_view(&layer.name, e)).collect())
    }

    /// Shares a dataset (its owner): see [`PolicyInput`].
    pub async fn create_policy(&self, ctx: &Context, name: &str, input: PolicyInput) -> Result<PolicyView, AppError> {
        let (layer, meta) = self.dataset_rows(name).await?;
        if !owns(ctx, &layer) || layer.name == REGISTER {
            return Err(self.kernel.refuse(ctx, "dataset.share", "dataset", Some(layer.name.clone()), DenyReason::NotPermitted).await);
        }
        if input.organization_id.is_none() && input.role.is_none() && input.activation.is_none() {
            return Err(Invalid::new("organization_id", InvalidReason::Required).into());
        }
        if let Some(role) = &input.role {
            AccountRole::parse("role", role)?;
        }
        let schema = schema_of(meta.as_ref());
        if let Some(fields) = &input.fields {
            for (i, field) in fields.iter().enumerate() {
                if !schema.iter().any(|f| &f.name == field) {
                    return Err(Invalid::new(format!("fields[{i}]"), InvalidReason::NotFound).into());
                }
            }
        }
        let area = match &input.area {
            None => None,
            Some(value) => {
                spatial::Area::from_geojson(&value.to_string()).map_err(|e| {
                    Invalid::new("area", InvalidReason::Explained { rule: "area".into(), en: e.to_string(), zh: e.to_string() })
                })?;
                Some(value.to_string())
            }
        };
        if let Some(condition) = &input.activation {
            if let Some(grade) = &condition.min_grade {
                domain::incident::Grade::parse("activation.min_grade", grade)?;
            }
            if condition.radius_m.is_some_and(|r| !(10.0..=50_000.0).contains(&r)) {
                return Err(Invalid::new("activation.radius_m", InvalidReason::OutOfRange { min: "10".into(), max: "50000".into() }).into());
            }
            for role in &condition.roles {
                AccountRole::parse("activation.roles", role)?;
            }
        }
        let row = PolicyRow {
            id: 0,
            layer_id: layer.id,
            organization_id: input.organization_id,
            role: input.role.clone(),
            fields: input.fields.as_ref().map(|f| json!(f).to_string()),
            area,
            activation: input.activation.as_ref().map(|a| json!(a).to_string()),
            note: input.note.clone(),
            created_by: ctx.actor_label.clone(),
            created_at: self.kernel.now_ms(),
            revoked_by: None,
            revoked_at: None,
        };
        let (app, ctx2) = (self.clone(), ctx.clone());
        let stored = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let stored = repo::insert_policy(c, &row).await?;
                    let mut record = app.kernel.audit(&ctx2, "dataset.share", "dataset", Some(format!("{}#{}", layer.name, stored.id)));
                    record.details = json!({"organization_id": stored.organization_id, "role": stored.role, "fields": stored.fields, "activation": stored.activation});
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(stored))
                })
            })
            .await?;
        self.policy_view(stored).await
    }

    /// Ends a policy (its owner).
    pub async fn revoke_policy(&self, ctx: &Context, name: &str, id: i64) -> Result<(), AppError> {
        let (layer, _) = self.dataset_rows(name).await?;
        if !owns(ctx, &layer) {
            return Err(self.kernel.refuse(ctx, "dataset.unshare", "dataset", Some(layer.name.clone()), DenyReason::NotPermitted).await);
        }
        let (app, ctx2, by, now) = (self.clone(), ctx.clone(), ctx.actor_label.clone(), self.kernel.now_ms());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    if !repo::revoke_policy(c, layer.id, id, &by, now).await? {
                        return Err(AppError::NotFound { kind: ResourceKind::Layer });
                    }
                    store::audit::append(c, &app.kernel.audit(&ctx2, "dataset.unshare", "dataset", Some(format!("{}#{id}", layer.name))))
                        .await?;
                    Ok(Outcome::Done(()))
                })
            })
            .await
    }

    /// A dataset's policies (its owner), each activation-bound one with the incidents that open it now.
    pub async fn dataset_policies(&self, ctx: &Context, name: &str) -> Result<Vec<PolicyView>, AppError> {
        let (layer, _) = self.dataset_rows(name).await?;
        if !owns(ctx, &layer) {
            return Err(self.kernel.refuse(ctx, "dataset.policies", "dataset", Some(layer.name.clone()), DenyReason::NotPermitted).await);
        }
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            repo::policies_of(&mut reader.conn(), layer.id, true).await?
        };
        let mut views = Vec::new();
        for row in rows {
            views.push(self.policy_view(row).await?);
        }
        Ok(views)
    }

    async fn policy_view(&self, row: PolicyRow) -> Result<PolicyView, AppError> {
        let activation: Option<ActivationCondition> = row.activation.as_deref().and_then(|a| serde_json::from_str(a).ok());
        let mut open = Vec::new();
        if let Some(condition) = &activation
            && row.revoked_at.is_none()
        {
            // The incidents whose activation meets the condition now (whoever commands them).
            let mut reader = self.kernel.store().reader().await?;
            for a in store::incidents::active_activations(&mut reader.conn()).await? {
                if let Some(incident) = store::incidents::get_incident(&mut reader.conn(), a.incident_id).await? {
                    let category_ok = condition.category.as_deref().is_none_or(|c| c == incident.fields.category);
                    let grade_ok =
                        condition.min_grade.as_deref().and_then(|g| domain::incident::Grade::parse("g", g).ok()).is_none_or(|min| {
                            incident
                                .fields
                                .grade
                                .as_deref()
                                .and_then(|g| domain::incident::Grade::parse("g", g).ok())
                                .is_some_and(|g| g.at_least(min))
                        });
                    if category_ok && grade_ok {
                        open.push(incident.id);
                    }
                }
            }
        }
        Ok(PolicyView {
            id: row.id,
            organization_id: row.organization_id,
            role: row.role,
            fields: row.fields.as_deref().and_then(|f| serde_json::from_str(f).ok()),
            area: row.area.as_deref().and_then(|a| serde_json::from_str(a).ok()),
            activation,
            note: row.note,
            created_by: row.created_by,
            created_at: crate::time::rfc3339(row.created_at),
            revoked_at: row.revoked_at.map(crate::time::rfc3339),
            open_for_incidents: open,
        })
    }

    /// Flags the datasets older than their update interval, once, with an event their owner sees; answers how many.
    pub async fn flag_stale_datasets(&self) -> Result<usize, AppError> {
        let now = self.kernel.now_ms();
        let ctx = Context::system("data-commons", Locale::ZhCn);
        let app = self.clone();
        Ok(self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let ids = repo::flag_stale(c, now).await?;
                    let layers = if ids.is_empty() { Vec::new() } else { store::layers::list_layers(c).await? };
                    for id in &ids {
                        if let Some(layer) = layers.iter().find(|l| l.id == *id) {
                            let payload = json!({"dataset": layer.name});
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx,
                                    "dataset.stale",
                                    "layer",
                                    layer.id,
                                    layer.path.as_ref(),
                                    layer.organization_id,
                                    Classification::Internal,
                                    payload,
                                ),
                            )
                            .await?;
                        }
                    }
                    Ok::<usize, store::StoreError>(ids.len())
                })
            })
            .await?)
    }

    /// Imports rows into a dataset (its owner): GeoJSON, or CSV with `lon`/`lat` columns (or `address`, matched to
    /// a building of the `osm-buildings` layer by its address). Every row is checked against the dataset's fields;
    /// the bad ones come back with their line, field and reason, the good ones are upserted by their `id`, and
    /// every change is versioned. A file that cannot be read as a whole (not UTF-8, no header, no id column, a
    /// duplicate column) is refused and nothing is written. Importing the same file again changes nothing.
    pub async fn import_dataset(
        &self,
        ctx: &Context,
        name: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<DatasetImportReport, AppError> {
        let (layer, meta) = self.dataset_rows(name).await?;
        if !owns(ctx, &layer) || layer.name == REGISTER {
            return Err(self.kernel.refuse(ctx, "dataset.import", "dataset", Some(layer.name.clone()), DenyReason::NotPermitted).await);
        }
        let schema = schema_of(meta.as_ref());
        let (rows, mut rejected) = if content_type.contains("csv") {
            let text = std::str::from_utf8(body).map_err(|_| Invalid::new("file", InvalidReason::Malformed { expected: "UTF-8 CSV" }))?;
            self.parse_csv(text, &schema).await?
        } else {
            let value: Value = serde_json::from_slice(body).map_err(|e| {
                Invalid::new("file", InvalidReason::Explained { rule: "json".into(), en: e.to_string(), zh: e.to_string() })
            })?;
            parse_geojson(&value, &schema)?
        };
        let total = rows.len() + rejected.len();
        rejected.sort_by_key(|p| p.line);
        let mut report = self.upsert_rows(ctx, &layer, rows, Vec::new()).await?;
        report.rows = total;
        report.rejected = rejected;
        Ok(report)
    }

    /// The upsert API: features by stable id (each checked against the fields), and ids to delete.
    pub async fn upsert_dataset(
        &self,
        ctx: &Context,
        name: &str,
        upsert: &[Value],
        delete: &[String],
    ) -> Result<DatasetImportReport, AppError> {
        let (layer, meta) = self.dataset_rows(name).await?;
        if !owns(ctx, &layer) || layer.name == REGISTER {
            return Err(self.kernel.refuse(ctx, "dataset.import", "dataset", Some(layer.name.clone()), DenyReason::NotPermitted).await);
        }
        let schema = schema_of(meta.as_ref());
        let (rows, rejected) = parse_geojson(&json!({"type": "FeatureCollection", "features": upsert}), &schema)?;
        let mut report = self.upsert_rows(ctx, &layer, rows, delete.to_vec()).await?;
        report.rows = upsert.len() + delete.len();
        report.rejected = rejected;
        Ok(report)
    }

    async fn upsert_rows(
        &self,
        ctx: &Context,
        layer: &LayerRow,
        rows: Vec<FeatureInput>,
        delete: Vec<String>,
    ) -> Result<DatasetImportReport, AppError> {
        let (app, ctx2, layer_id, layer_name) = (self.clone(), ctx.clone(), layer.id, layer.name.clone());
        let kind = geometry_kind(&rows, &layer.geometry_kind);
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).chain(delete.iter().cloned()).collect();
                    let before = repo::current_features(c, layer_id, &ids).await?;
                    let mut changes = Vec::new();
                    for row in &rows {
                        match before.get(&row.external_id) {
                            None => changes.push(change(row, "insert")),
                            Some((name, geometry, properties))
                                if name != &row.name || geometry != &row.geometry || properties != &row.properties =>
                            {
                                changes.push(change(row, "update"));
                            }
                            Some(_) => {}
                        }
                    }
                    let counts = store::layers::upsert_features(c, layer_id, &rows, now).await?;
                    let present: Vec<String> = delete.iter().filter(|id| before.contains_key(*id)).cloned().collect();
                    let deleted = repo::delete_features(c, layer_id, &present).await?;
                    changes.extend(present.iter().map(|id| FeatureChange {
                        external_id: id.clone(),
                        op: "delete",
                        name: None,
                        geometry: None,
                        properties: None,
                    }));
                    if !changes.is_empty() {
                        repo::record_changes(c, layer_id, &changes, &ctx2.actor_label, now).await?;
                        repo::touch(c, layer_id, now).await?;
                        c.execute("UPDATE layers SET geometry_kind = $1 WHERE id = $2", store::params![kind.as_str(), layer_id]).await?;
                    }
                    let mut record = app.kernel.audit(&ctx2, "dataset.import", "dataset", Some(layer_name.clone()));
                    record.details = json!({"inserted": counts.inserted, "updated": counts.updated, "deleted": deleted});
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(DatasetImportReport {
                        rows: 0,
                        inserted: counts.inserted,
                        updated: counts.updated,
                        unchanged: counts.unchanged,
                        deleted,
                        rejected: Vec::new(),
                    }))
                })
            })
            .await
    }

    /// Reads CSV rows: a header naming `id`, `lon` and `lat` (or `address`), and the dataset's fields.
    async fn parse_csv(&self, text: &str, schema: &[FieldSpec]) -> Result<(Vec<FeatureInput>, Vec<RowProblem>), AppError> {
        let mut lines = csv_records(text);
        let Some((_, header)) = lines.next() else {
            return Err(Invalid::new("file", InvalidReason::Required).into());
        };
        let header: Vec<String> = header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect();
        let column = |name: &str| header.iter().position(|h| h == name);
        let mut seen_columns = BTreeSet::new();
        for h in &header {
            if !seen_columns.insert(h.as_str()) {
                return Err(Invalid::new(format!("header.{h}"), InvalidReason::Duplicate).into());
            }
        }
        let Some(id_col) = column("id") else { return Err(Invalid::new("header.id", InvalidReason::Required).into()) };
        let (lon_col, lat_col, address_col) = (column("lon"), column("lat"), column("address"));
        if (lon_col.is_none() || lat_col.is_none()) && address_col.is_none() {
            return Err(Invalid::new("header.lon", InvalidReason::Required).into());
        }
        for spec in schema.iter().filter(|f| f.required) {
            if column(&spec.name).is_none() {
                return Err(Invalid::new(format!("header.{}", spec.name), InvalidReason::Required).into());
            }
        }
        let all: Vec<(usize, Vec<String>)> = lines.collect();
        // The buildings' addresses are read only when a row has no coordinates to go by.
        let needs_addresses = address_col.is_some()
            && all.iter().any(|(_, r)| [lon_col, lat_col].iter().any(|c| c.and_then(|i| r.get(i)).is_none_or(|v| v.trim().is_empty())));
        let addresses = if needs_addresses { self.building_addresses().await? } else { BTreeMap::new() };
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        for (line, record) in all {
            if record.iter().all(|v| v.trim().is_empty()) {
                continue;
            }
            if record.last().is_some_and(|v| v.starts_with(UNCLOSED)) {
                problems.push(RowProblem { line, field: "row".into(), reason: "a quote is opened and never closed".into() });
                continue;
            }
            let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).map(|v| v.trim()).filter(|v| !v.is_empty());
            let mut problem = |field: &str, reason: String| problems.push(RowProblem { line, field: field.into(), reason });
            let Some(id) = cell(Some(id_col)) else {
                problem("id", "required".into());
                continue;
            };
            if let Some(first) = ids.get(id) {
                problem("id", format!("duplicate of line {first}"));
                continue;
            }
            let position = match (cell(lon_col), cell(lat_col)) {
                (Some(lon), Some(lat)) => match (lon.parse::<f64>(), lat.parse::<f64>()) {
                    (Ok(lon), Ok(lat)) => match domain::geometry::GeoPoint::parse("lon", lon, lat) {
                        Ok(p) => Some((p.lon(), p.lat())),
                        Err(_) => {
                            problem("lon", "outside -180..180 / -90..90".into());
                            continue;
                        }
                    },
                    (Err(_), _) => {
                        problem("lon", "not a number".into());
                        continue;
                    }
                    (_, Err(_)) => {
                        problem("lat", "not a number".into());
                        continue;
                    }
                },
                _ => match cell(address_col).map(normalize_address).and_then(|a| addresses.get(&a).copied()) {
                    Some(p) => Some(p),
                    None => {
                        problem(
                            if address_col.is_some() { "address" } else { "lon" },
                            "no position: no coordinates and no building at this address".into(),
                        );
                        continue;
                    }
                },
            };
            let Some((lon, lat)) = position else { continue };
            let mut properties = serde_json::Map::new();
            let mut bad = None;
            for (i, name) in header.iter().enumerate() {
                // `name` is the display name; it is a property too when the schema declares it.
                let declared = schema.iter().any(|f| &f.name == name);
                if ["id", "lon", "lat"].contains(&name.as_str()) || (name == "name" && !declared) {
                    continue;
                }
                let raw = record.get(i).map(|v| v.trim()).unwrap_or("");
                match typed(schema.iter().find(|f| &f.name == name), raw) {
                    Ok(Some(value)) => {
                        properties.insert(name.clone(), value);
                    }
                    Ok(None) => {}
                    Err(reason) => {
                        bad = Some((name.clone(), reason));
                        break;
                    }
                }
            }
            if bad.is_none()
                && let Some(missing) = schema.iter().find(|f| f.required && !properties.contains_key(&f.name))
            {
                bad = Some((missing.name.clone(), "required".into()));
            }
            if let Some((field, reason)) = bad {
                problem(&field, reason);
                continue;
            }
            ids.insert(id.to_string(), line);
            let geometry = json!({"type": "Point", "coordinates": [lon, lat]});
            rows.push(FeatureInput {
                external_id: id.to_string(),
                name: cell(column("name")).map(str::to_string),
                geometry: geometry.to_string(),
                point: Some((lon, lat)),
                bbox: [lon, lat, lon, lat],
                properties: Value::Object(properties).to_string(),
            });
        }
        Ok((rows, problems))
    }

    /// The positions (centroids) of the buildings with an address ("street number", from OpenStreetMap's
    /// `addr:street` and `addr:housenumber`) in `osm-buildings`.
    async fn building_addresses(&self) -> Result<BTreeMap<String, (f64, f64)>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let Some(layer) = store::layers::get_layer(&mut reader.conn(), "osm-buildings").await? else { return Ok(BTreeMap::new()) };
        let mut found = BTreeMap::new();
        for f in store::layers::features_in_bbox(&mut reader.conn(), layer.id, [-180.0, -90.0, 180.0, 90.0], 500_000).await? {
            let properties: Value = serde_json::from_str(&f.properties).unwrap_or_default();
            if let (Some(address), Some(lon), Some(lat)) =
                (properties["address"].as_str(), properties["centroid"][0].as_f64(), properties["centroid"][1].as_f64())
            {
                found.insert(normalize_address(address), (lon, lat));
            }
        }
        Ok(found)
    }
}

fn layer_resource(row: &LayerRow, class: Classification) -> Resource<'_> {
    Resource::new(ResourceKind::Layer, class)
        .in_optional_jurisdiction(row.path.as_ref())
        .owned_by(row.organization_id.map(domain::ids::OrganizationId))
}

fn access_view(dataset: &str, e: AccessEntry) -> AccessView {
    AccessView {
        at: crate::time::rfc3339(e.at),
        dataset: dataset.into(),
        actor: e.actor,
        purpose: e.purpose,
        incident_id: e.incident_id,
        policy_id: e.policy_id,
        features: e.features,
        fields: serde_json::from_str(&e.fields).unwrap_or_default(),
    }
}

fn change(row: &FeatureInput, op: &'static str) -> FeatureChange {
    FeatureChange {
        external_id: row.external_id.clone(),
        op,
        name: row.name.clone(),
        geometry: Some(row.geometry.clone()),
        properties: Some(row.properties.clone()),
    }
}

fn geometry_kind(rows: &[FeatureInput], current: &str) -> String {
    let kinds: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<Value>(&r.geometry).ok())
        .map(|g| match g["type"].as_str() {
            Some("Point" | "MultiPoint") => "point",
            Some("LineString" | "MultiLineString") => "line",
            _ => "polygon",
        })
        .collect();
    match kinds.len() {
        0 => current.to_string(),
        1 => kinds.into_iter().next().unwrap_or("point").to_string(),
        _ => "mixed".into(),
    }
}

pub(crate) fn feature_in_bbox(f: &FeatureRow, [west, south, east, north]: [f64; 4]) -> bool {
    let geometry: Value = serde_json::from_str(&f.geometry).unwrap_or_default();
    let mut all = Vec::new();
    positions(&geometry, &mut all);
    all.iter().any(|(lon, lat)| *lon >= west && *lon <= east && *lat >= south && *lat <= north)
}

fn normalize_address(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A cell's value as its field's type says: `Ok(None)` for an empty cell, `Err(reason)` for a wrong one.
fn typed(spec: Option<&FieldSpec>, raw: &str) -> Result<Option<Value>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let Some(spec) = spec else { return Ok(Some(json!(raw))) };
    match spec.kind {
        FieldType::Text => Ok(Some(json!(raw))),
        FieldType::Number => {
            raw.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| Some(json!(v))).ok_or_else(|| format!("not a number: {raw:?}"))
        }
        FieldType::Integer => raw.parse::<i64>().map(|v| Some(json!(v))).map_err(|_| format!("not a whole number: {raw:?}")),
        FieldType::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "是" => Ok(Some(json!(true))),
            "false" | "no" | "0" | "否" => Ok(Some(json!(false))),
            _ => Err(format!("not true or false: {raw:?}")),
        },
        FieldType::Date => {
            raw.parse::<jiff::civil::Date>().map(|d| Some(json!(d.to_string()))).map_err(|_| format!("not a date (YYYY-MM-DD): {raw:?}"))
        }
    }
}

/// Checks a JSON property against its field.
fn typed_json(spec: Option<&FieldSpec>, value: &Value) -> Result<(), String> {
    let Some(spec) = spec else { return Ok(()) };
    let ok = match spec.kind {
        _ if value.is_null() => true,
        FieldType::Text => value.is_string(),
        FieldType::Number => value.as_f64().is_some_and(f64::is_finite),
        FieldType::Integer => value.is_i64() || value.is_u64(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Date => value.as_str().is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok()),
    };
    if ok { Ok(()) } else { Err(format!("expected {:?}, found {value}", spec.kind).to_lowercase()) }
}

/// Reads GeoJSON features, each checked against the fields; problems name the feature's index.
fn parse_geojson(value: &Value, schema: &[FieldSpec]) -> Result<(Vec<FeatureInput>, Vec<RowProblem>), AppError> {
    let features = match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {
            value.get("features").and_then(Value::as_array).cloned().ok_or_else(|| Invalid::new("features", InvalidReason::Required))?
        }
        Some("Feature") => vec![value.clone()],
        _ => return Err(Invalid::new("type", InvalidReason::UnknownValue { allowed: vec!["FeatureCollection", "Feature"] }).into()),
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (index, feature) in features.iter().enumerate() {
        let (input, _) = match crate::commons::layers::parse_feature(index, feature) {
            Ok(parsed) => parsed,
            Err(invalid) => {
                problems.push(RowProblem { line: index, field: invalid.field.clone(), reason: invalid.message(Locale::En) });
                continue;
            }
        };
        // A dataset's features keep stable ids: one without is refused (a position in the file is no identity).
        if input.external_id.starts_with('#') {
            problems.push(RowProblem { line: index, field: "id".into(), reason: "required".into() });
            continue;
        }
        if let Some(first) = ids.get(&input.external_id) {
            problems.push(RowProblem { line: index, field: "id".into(), reason: format!("duplicate of feature {first}") });
            continue;
        }
        let properties: Value = serde_json::from_str(&input.properties).unwrap_or_default();
        let mut bad = None;
        for spec in schema {
            match properties.get(&spec.name) {
                None | Some(Value::Null) if spec.required => bad = Some((spec.name.clone(), "required".to_string())),
                Some(v) => {
                    if let Err(reason) = typed_json(Some(spec), v) {
                        bad = Some((spec.name.clone(), reason));
                    }
                }
                None => {}
            }
            if bad.is_some() {
                break;
            }
        }
        if let Some((field, reason)) = bad {
            problems.push(RowProblem { line: index, field: format!("properties.{field}"), reason });
            continue;
        }
        ids.insert(input.external_id.clone(), index);
        rows.push(input);
    }
    Ok((rows, problems))
}

/// Marks a record whose quote was never closed.
const UNCLOSED: &str = "\u{0}unclosed";

/// CSV records with their line numbers (from 1, the header), quoted fields (with doubled quotes and line breaks)
/// as RFC 4180 writes them.
fn csv_records(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    let mut chars = text.chars().peekable();
    let mut line = 1;
    std::iter::from_fn(move || {
        chars.peek()?;
        let start = line;
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        loop {
            match chars.next() {
                None => {
                    record.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                Some('"') if field.is_empty() => quoted = true,
                Some(',') if !quoted => record.push(std::mem::take(&mut field)),
                Some('\r') if !quoted => {}
                Some('\n') if !quoted => {
                    line += 1;
                    record.push(std::mem::take(&mut field));
                    break;
                }
                Some(c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        if quoted {
            // The file ended inside quotes: the record says so instead of swallowing the rest silently.
            record.push(UNCLOSED.to_string());
        }
        Some((start, record))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_keep_quotes_commas_and_line_numbers() {
        let text = "id,name,note\r\n1,\"Gate, east\",\"said \"\"hi\"\"\"\n2,b,\"two\nlines\"\n3,c,d";
        let records: Vec<_> = csv_records(text).collect();
        assert_eq!(records[1], (2, vec!["1".into(), "Gate, east".into(), "said \"hi\"".into()]));
        assert_eq!(records[2], (3, vec!["2".into(), "b".into(), "two\nlines".into()]));
        assert_eq!(records[3].0, 5, "the quoted line break counts");
    }

    #[test]
    fn only_the_part_inside_an_area_is_returned() {
        let inside = |lon: f64, _lat: f64| lon <= 1.0;
        // A line from inside to outside is cut at the edge.
        let line = json!({"type": "LineString", "coordinates": [[0.0, 0.0], [0.5, 0.0], [2.0, 0.0]]});
        let cut = clip(&line, &inside).unwrap();
        let end = cut["coordinates"][2][0].as_f64().unwrap();
        assert!((end - 1.0).abs() < 1e-6 && end <= 1.0, "{cut}");
        // In, out, in again: two pieces.
        let zigzag = json!({"type": "LineString", "coordinates": [[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]});
        assert_eq!(clip(&zigzag, &inside).unwrap()["type"], "MultiLineString");
        // Points and polygons: inside or not at all.
        assert!(clip(&json!({"type": "Point", "coordinates": [3.0, 0.0]}), &inside).is_none());
        let straddling = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 0.0]]]});
        assert!(clip(&straddling, &inside).is_none(), "a polygon partly outside is left out");
        let within = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]});
        assert_eq!(clip(&within, &inside), Some(within));
        assert!(clip(&json!({"type": "LineString", "coordinates": [[3.0, 0.0], [4.0, 0.0]]}), &inside).is_none());
    }

    #[test]
    fn an_unclosed_quote_is_reported_not_swallowed() {
        let records: Vec<_> = csv_records("id,name\n1,\"open\n2,b\n").collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].1.last().map(String::as_str), Some(UNCLOSED));
    }

    #[test]
    fn cells_are_typed_by_their_field() {
        let spec = |kind| FieldSpec {
            name: "f".into(),
            kind,
            unit: None,
            classification: "internal".into(),
            title_zh: None,
            title_en: None,
            required: false,
        };
        assert_eq!(typed(Some(&spec(FieldType::Number)), "1.5"), Ok(Some(json!(1.5))));
        assert!(typed(Some(&spec(FieldType::Number)), "wide").is_err());
        assert!(typed(Some(&spec(FieldType::Number)), "NaN").is_err());
        assert!(typed(Some(&spec(FieldType::Integer)), "1.5").is_err());
        assert_eq!(typed(Some(&spec(FieldType::Date)), "2019-03-01"), Ok(Some(json!("2019-03-01"))));
        assert!(typed(Some(&spec(FieldType::Date)), "2019-13-01").is_err());
        assert_eq!(typed(Some(&spec(FieldType::Boolean)), "是"), Ok(Some(json!(true))));
        assert_eq!(typed(None, "x"), Ok(Some(json!("x"))));
        assert_eq!(typed(Some(&spec(FieldType::Number)), ""), Ok(None));
    }
}

impl Commons {
    /// A public dataset as DCAT-style JSON-LD for harvesters: every dataset an anonymous visitor may read, with its
    /// GeoJSON and CSV downloads.
    pub async fn public_catalog(&self, base_url: &str) -> Result<Value, AppError> {
        let anonymous = Context::anonymous(Locale::ZhCn);
        let datasets = self.list_datasets(&anonymous).await?;
        let entries: Vec<Value> = datasets
            .iter()
            .map(|d| {
                json!({
                    "@type": "dcat:Dataset",
                    "dct:identifier": d.name,
                    "dct:title": [{"@language": "zh-CN", "@value": d.title_zh}, {"@language": "en", "@value": d.title_en.clone().unwrap_or_else(|| d.title_zh.clone())}],
                    "dct:description": d.description,
                    "dct:publisher": d.organization,
                    "dct:license": d.licence,
                    "dct:modified": d.updated_at,
                    "dcat:keyword": [d.kind],
                    "dcat:landingPage": format!("{base_url}/public/data#{}", d.name),
                    "dcat:distribution": [
                        {"@type": "dcat:Distribution", "dcat:downloadURL": format!("{base_url}/public/data/{}.geojson", d.name), "dcat:mediaType": "application/geo+json"},
                        {"@type": "dcat:Distribution", "dcat:downloadURL": format!("{base_url}/public/data/{}.csv", d.name), "dcat:mediaType": "text/csv"},
                    ],
                })
            })
            .collect();
        Ok(json!({
            "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"},
            "@type": "dcat:Catalog",
            "dct:title": [{"@language": "zh-CN", "@value": "Gridline 开放数据"}, {"@language": "en", "@value": "Gridline open data"}],
            "dcat:dataset": entries,
        }))
    }

    /// A public dataset as CSV: `id`, `name`, `lon`, `lat` (a point, or the middle of a shape's positions), then its
    /// public fields. Only what an anonymous visitor may read.
    pub async fn public_csv(&self, name: &str) -> Result<String, AppError> {
        let anonymous = Context::anonymous(Locale::ZhCn);
        let view = self.get_dataset(&anonymous, name).await?;
        let collection = self.read_dataset(&anonymous, name, None, None).await?;
        let mut columns: Vec<String> = view.fields.iter().map(|f| f.name.clone()).collect();
        if view.fields.is_empty() {
            // No schema: every property an anonymous reader got, in the order first seen.
            for feature in collection["features"].as_array().into_iter().flatten() {
                for key in feature["properties"].as_object().into_iter().flat_map(|o| o.keys()) {
                    if !["id", "name"].contains(&key.as_str()) && !columns.contains(key) {
                        columns.push(key.clone());
                    }
                }
            }
        }
        let cell = |v: &Value| -> String {
            let text = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
        };
        let mut out = String::from("id,name,lon,lat");
        for c in &columns {
            out.push(',');
            out.push_str(&cell(&json!(c)));
        }
        out.push('\n');
        for feature in collection["features"].as_array().into_iter().flatten() {
            let mut all = Vec::new();
            positions(&feature["geometry"], &mut all);
            let n = all.len().max(1) as f64;
            let (lon, lat) = (all.iter().map(|p| p.0).sum::<f64>() / n, all.iter().map(|p| p.1).sum::<f64>() / n);
            let p = &feature["properties"];
            out.push_str(&format!("{},{},{lon:.6},{lat:.6}", cell(&p["id"]), cell(&p["name"])));
            for c in &columns {
                out.push(',');
                out.push_str(&cell(&p[c.as_str()]));
            }
            out.push('\n');
        }
        Ok(out)
    }
}

/// How long a resident's code is valid.
const CODE_TTL_MS: i64 = 10 * 60_000;
/// Wrong tries a code survives.
const CODE_ATTEMPTS: i64 = 5;
/// Codes a household may be sent per hour.
const CODES_PER_HOUR: i64 = 3;

/// A read of a resident's record, as the resident sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResidentAccessView {
    pub at: String,
    /// Who read it (the person's name as the platform knows it).
    pub actor: String,
    /// `assigned` (the grid member of the household's grid), `incident` (the command of an incident).
    pub purpose: String,
    /// The incident's reference, for a read during an incident.
    pub incident: Option<String>,
}

fn normalize_phone(phone: &str) -> String {
    phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect()
}

fn code_hash(household_id: i64, code: &str) -> String {
    crate::util::sha256_hex(&format!("gridline-resident-code:{household_id}:{code}"))
}

impl Commons {
    /// Sends a one-time code by text to a registered household's phone, so that its residents can see who viewed
    /// their record. Answers the same whether or not the number is registered (nobody learns who is), and sends at
    /// most three codes an hour to a household.
    pub async fn request_resident_code(&self, phone: &str, locale: Locale) -> Result<(), AppError> {
        let phone = normalize_phone(phone);
        if phone.len() < 6 || phone.len() > 20 {
            return Err(Invalid::new("phone", InvalidReason::Malformed { expected: "a phone number" }).into());
        }
        let now = self.kernel.now_ms();
        let household = {
            let mut reader = self.kernel.store().reader().await?;
            match repo::household_by_phone(&mut reader.conn(), &phone).await? {
                Some(id) if repo::codes_since(&mut reader.conn(), id, now - 3_600_000).await? < CODES_PER_HOUR => id,
                _ => return Ok(()),
            }
        };
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let code = format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000);
        let hash = code_hash(household, &code);
        self.kernel
            .store()
            .write(move |c| Box::pin(async move { repo::insert_code(c, household, &hash, now, now + CODE_TTL_MS).await }))
            .await?;
        let text = domain::i18n::format(locale, "resident.code_text", &[("code", code)]);
        let Some(url) = self.kernel.config().delivery.sms_gateway_url.as_deref().and_then(crate::transport::HttpUrl::parse) else {
            tracing::warn!("a resident asked for a code, and no SMS gateway is configured ([delivery] sms_gateway_url)");
            return Ok(());
        };
        let body = json!({"to": phone, "text": text, "id": format!("gridline-resident-code-{household}-{now}")});
        // Sent after the answer, so that how long the answer takes says nothing about whether the number is registered.
        tokio::spawn(async move {
            let client = crate::transport::HttpClient::default();
            let sent = client
                .post(
                    &url,
                    &[("content-type", "application/json".to_string())],
                    body.to_string().into(),
                    std::time::Duration::from_secs(10),
                )
                .await;
            if let Err(error) = sent {
                tracing::warn!(%error, "a resident's code could not be sent");
            }
        });
        Ok(())
    }

    /// With the phone and its code, the reads of the household's record, newest first. A wrong code counts
    /// against the code; after five, the code is spent.
    pub async fn resident_accesses(&self, phone: &str, code: &str) -> Result<Vec<ResidentAccessView>, AppError> {
        let phone = normalize_phone(phone);
        let wrong = || {
            AppError::from(Invalid::new(
                "code",
                InvalidReason::Explained {
                    rule: "code".into(),
                    en: "this code is wrong or has expired; ask for a new one".into(),
                    zh: "验证码错误或已过期，请重新获取".into(),
                },
            ))
        };
        let now = self.kernel.now_ms();
        let (household, live) = {
            let mut reader = self.kernel.store().reader().await?;
            let Some(household) = repo::household_by_phone(&mut reader.conn(), &phone).await? else { return Err(wrong()) };
            (household, repo::live_code(&mut reader.conn(), household, now).await?)
        };
        let Some((id, hash, _)) = live else { return Err(wrong()) };
        // Every try is counted first, atomically: tries in parallel cannot exceed the limit; a right code is then used
        // once, by the first to claim it.
        let correct = crate::util::tokens_equal(&hash, &code_hash(household, code.trim()));
        let accepted =
            self.kernel.store().write(move |c| Box::pin(async move { repo::try_code(c, id, CODE_ATTEMPTS, correct, now).await })).await?;
        if !accepted {
            return Err(wrong());
        }
        let mut reader = self.kernel.store().reader().await?;
        let entries = repo::accesses_of_household(&mut reader.conn(), household, 200).await?;
        let mut views = Vec::with_capacity(entries.len());
        for e in entries {
            let incident = e.incident_id.map(crate::incidents::reference);
            views.push(ResidentAccessView { at: crate::time::rfc3339(e.at), actor: e.actor, purpose: e.purpose, incident });
        }
        Ok(views)
    }
}
