//! Map layers: what the map can draw, and the features of each within a view, simplified and aggregated for the
//! zoom level so that the browser never receives more than it can draw smoothly.
//!
//! Two layers are built from the registry — `jurisdictions` (boundaries) and `members` (duty bases of the members
//! the caller may see) — and the others are stored layers, imported from GeoJSON (OpenStreetMap facilities,
//! shelters, a department's assets), each with an owner and a classification.

use domain::Classification;
use domain::geometry::{BBox, GeoPoint, MultiPolygon};
use domain::ids::OrganizationId;
use domain::policy::{Action, Decision, Resource, ResourceKind, read_filter};
use domain::registry::JurisdictionPath;
use domain::text::{Code, Name};
use domain::{Invalid, InvalidReason, Locale};
use serde_json::{Value, json};
use store::layers::{self as repo, FeatureInput, LayerFields};
use store::list::ListQuery;

use crate::commons::Commons;
use crate::util::{Outcome, decide};
use crate::{AppError, Context};

/// Above this many features in view, point layers are aggregated into grid cells.
const AGGREGATE_ABOVE: i64 = 1500;
/// Grid cell size for aggregation, in screen pixels.
const CELL_PIXELS: f64 = 48.0;
/// At most this many shapes are sent for one view.
const SHAPE_LIMIT: i64 = 3000;

/// A layer on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LayerView {
    /// Name used in URLs.
    pub name: String,
    /// Title in the caller's language.
    pub title: String,
    /// `point`, `line`, `polygon` or `mixed`.
    pub geometry_kind: String,
    /// Classification code.
    pub classification: String,
    /// Number of features (for built-in layers, those the caller may see; `null` when not counted).
    pub feature_count: Option<i64>,
    /// Whether the layer is built from the registry rather than stored.
    pub built_in: bool,
    /// The box around its features (west, south, east, north), for stored layers.
    pub extent: Option<[f64; 4]>,
    /// Whether maps show it when they open (the base map: roads, buildings, water, facilities; the installation
    /// may name others in the `map.default_layers` setting).
    pub shown_by_default: bool,
    /// Its data is older than its owner's update interval: maps show it greyed.
    pub stale: bool,
}

/// The layers maps show when they open, unless the installation's `map.default_layers` setting names others.
pub const DEFAULT_MAP_LAYERS: &str = "osm-water,osm-roads,osm-buildings,osm-facilities";
/// The setting naming the layers maps show when they open (comma-separated names).
pub const DEFAULT_MAP_LAYERS_KEY: &str = "map.default_layers";

/// `?bbox=west,south,east,north&zoom=` for feature queries.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeatureQuery {
    /// The view: west,south,east,north in degrees.
    pub bbox: String,
    /// The map zoom level (0–22); sets simplification and aggregation.
    pub zoom: Option<u8>,
    /// For stored layers: the features as they were at this time (RFC 3339), from their versions.
    pub as_of: Option<String>,
}

/// A new or replaced stored layer.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerImport {
    /// Name used in URLs: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: Option<String>,
    /// `public` (default), `internal`, `restricted` or `confidential`.
    pub classification: Option<String>,
    /// Owning organization.
    pub organization_id: Option<i64>,
    /// The jurisdiction the layer belongs to (for scoped access).
    pub jurisdiction_id: Option<i64>,
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct LayerImportReport {
    /// Features read.
    pub features: usize,
    /// New features.
    pub inserted: u64,
    /// Changed features.
    pub updated: u64,
    /// Features identical to what was stored.
    pub unchanged: u64,
    /// Features rejected: index and reason.
    pub rejected: Vec<crate::registry::RejectedFeature>,
}

/// Degrees per screen pixel at `zoom` (Web Mercator, at the equator; close enough for simplification).
fn degrees_per_pixel(zoom: u8) -> f64 {
    360.0 / (256.0 * 2_f64.powi(i32::from(zoom.min(22))))
}

fn title(locale: Locale, zh: &str, en: Option<&str>) -> String {
    match (locale, en) {
        (Locale::En, Some(en)) => en.to_string(),
        _ => zh.to_string(),
    }
}

fn point_feature(lon: f64, lat: f64, properties: Value) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties})
}

fn cluster_features(cells: Vec<store::layers::GridCell>) -> Vec<Value> {
    cells.into_iter().map(|cell| point_feature(cell.lon, cell.lat, json!({"cluster": true, "count": cell.count}))).collect()
}

impl Commons {
    /// The layers the caller may see.
    pub async fn list_layers(&self, ctx: &Context) -> Result<Vec<LayerView>, AppError> {
        let locale = ctx.locale;
        // Built from the registry and the live data: the boundaries and the public live layers for everyone,
        // members and sensors for accounts.
        let mut built: Vec<(&str, &str, &str, Classification, bool)> = vec![
            ("jurisdictions", "layer.jurisdictions", "polygon", Classification::Public, false),
            ("warnings-in-force", "layer.warnings_in_force", "polygon", Classification::Public, false),
            ("incidents-public", "layer.incidents_public", "point", Classification::Public, false),
        ];
        if ctx.subject.is_authenticated() || ctx.is_system() {
            built.push(("members", "layer.members", "point", Classification::Internal, false));
            built.push(("sensors", "layer.sensors", "point", Classification::Internal, true));
        }
        let mut views: Vec<LayerView> = built
            .into_iter()
            .map(|(name, key, kind, classification, shown_by_default)| LayerView {
                name: name.into(),
                title: domain::i18n::text(locale, key).to_string(),
                geometry_kind: kind.into(),
                classification: classification.code().into(),
                feature_count: None,
                built_in: true,
                extent: None,
                shown_by_default,
                stale: false,
            })
            .collect();
        let mut reader = self.kernel.store().reader().await?;
        let shown = store::settings::get(&mut reader.conn(), DEFAULT_MAP_LAYERS_KEY).await?.unwrap_or_else(|| DEFAULT_MAP_LAYERS.into());
        let shown: Vec<&str> = shown.split(',').map(str::trim).collect();
        let metas: std::collections::BTreeMap<i64, store::datasets::DatasetMeta> =
            store::datasets::all_meta(&mut reader.conn()).await?.into_iter().collect();
        for row in repo::list_layers(&mut reader.conn()).await? {
            if row.name == crate::registry::REGISTER || self.access_to(ctx, &row).await?.is_empty() {
                continue;
            }
            let stale = metas.get(&row.id).is_some_and(|m| m.stale_since.is_some());
            let count = repo::count_features(&mut reader.conn(), row.id).await?;
            let extent = repo::layer_extent(&mut reader.conn(), row.id).await?;
            let shown_by_default = shown.contains(&row.name.as_str());
            views.push(LayerView {
                title: title(locale, &row.title_zh, row.title_en.as_deref()),
                name: row.name,
                geometry_kind: row.geometry_kind,
                classification: row.classification,
                feature_count: Some(count),
                built_in: false,
                extent,
                shown_by_default,
                stale,
            });
        }
        Ok(views)
    }

    /// The features of layer `name` within `bbox` at `zoom`, as a GeoJSON FeatureCollection whose `properties`
    /// say whether it was aggregated.
    pub async fn layer_features(&self, ctx: &Context, name: &str, query: &FeatureQuery) -> Result<Value, AppError> {
        let bbox = BBox::parse("bbox", &query.bbox)?;
        let zoom = query.zoom.unwrap_or(12);
        if zoom > 22 {
            return Err(Invalid::new("zoom", InvalidReason::OutOfRange { min: "0".into(), max: "22".into() }).into());
        }
        let view = [bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat];
        let pixel = degrees_per_pixel(zoom);
        let (features, aggregated) = match name {
            "jurisdictions" => (self.jurisdiction_features(ctx, view, pixel).await?, false),
            "members" => self.member_features(ctx, view, pixel).await?,
            "sensors" => (self.sensor_features(ctx, view).await?, false),
            "warnings-in-force" => {
                (self.warnings.public_live_warnings(ctx.locale).await?["features"].as_array().cloned().unwrap_or_default(), false)
            }
            "incidents-public" => {
                (self.incidents.public_live_incidents(ctx.locale).await?["features"].as_array().cloned().unwrap_or_default(), true)
            }
            _ => {
                let as_of = match query.as_of.as_deref().filter(|t| !t.is_empty()) {
                    None => None,
                    Some(text) => Some(
                        text.parse::<jiff::Timestamp>()
                            .map_err(|_| Invalid::new("as_of", InvalidReason::Malformed { expected: "RFC 3339" }))?
                            .as_millisecond(),
                    ),
                };
                self.stored_features(ctx, name, view, pixel, as_of).await?
            }
        };
        Ok(
            json!({"type": "FeatureCollection", "features": features, "properties": {"layer": name, "zoom": zoom, "aggregated": aggregated}}),
        )
    }

    async fn jurisdiction_features(&self, ctx: &Context, view: [f64; 4], pixel: f64) -> Result<Vec<Value>, AppError> {
        let rows = self.registry.jurisdictions_in_bbox(ctx, view, SHAPE_LIMIT).await?;
        let mut features = Vec::new();
        for row in rows {
            let Some(boundary) = row.boundary.as_ref() else { continue };
            let Ok(shape) = MultiPolygon::from_geojson("boundary", boundary) else { continue };
            let Some(simple) = shape.simplified(pixel) else { continue };
            let name = title(ctx.locale, &row.name_zh, row.name_en.as_deref());
            features.push(json!({
                "type": "Feature",
                "id": row.id,
                "geometry": simple.to_geojson(),
                "properties": {
                    "id": row.id, "code": row.code, "name": name, "level": row.level, "level_label": row.level_label,
                    "mode": row.mode, "mode_label": row.mode_label, "url": format!("/jurisdictions/{}", row.id),
                },
            }));
        }
        Ok(features)
    }

    /// The sensors in view, each with its state: `alarm` (a rule's episode in force for it or its area), `stale`
    /// (silent for three intervals) or `ok`.
    async fn sensor_features(&self, ctx: &Context, view: [f64; 4]) -> Result<Vec<Value>, AppError> {
        if !ctx.is_system() && !ctx.subject.is_authenticated() {
            return Err(self
                .kernel
                .refuse(ctx, "layer.read", "layer", Some("sensors".into()), domain::policy::DenyReason::SignInRequired)
                .await);
        }
        let [west, south, east, north] = view;
        let mut reader = self.kernel.store().reader().await?;
        let sensors = store::sensors::list_sensors(&mut reader.conn(), "/").await?;
        let in_force = store::sensors::scopes_in_alarm(&mut reader.conn()).await?;
        let locale = ctx.locale;
        Ok(sensors
            .into_iter()
            .filter(|s| s.fields.lon >= west && s.fields.lon <= east && s.fields.lat >= south && s.fields.lat <= north)
            .map(|s| {
                let state = crate::monitoring::state_of(&s, &in_force);
                point_feature(
                    s.fields.lon,
                    s.fields.lat,
                    json!({
                        "name": s.fields.code, "kind": s.fields.kind, "state": state,
                        "status": domain::i18n::text(locale, &format!("sensor.state.{state}")),
                        "last_value": s.last_value.map(|v| format!("{v} {}", s.fields.unit)),
                        "last_reading": s.last_reading_at.map(crate::time::rfc3339),
                    }),
                )
            })
            .collect())
    }

    async fn member_features(&self, ctx: &Context, view: [f64; 4], pixel: f64) -> Result<(Vec<Value>, bool), AppError> {
        if !ctx.is_system() && !ctx.subject.is_authenticated() {
            return Err(self
                .kernel
                .refuse(ctx, "layer.read", "layer", Some("members".into()), domain::policy::DenyReason::SignInRequired)
                .await);
        }
        let visibility = if ctx.is_system() {
            store::list::Visibility::Everything
        } else {
            crate::util::visibility(read_filter(&ctx.subject, ResourceKind::Member, Classification::Internal))
        };
        let [west, south, east, north] = view;
        let mut query = ListQuery::new(visibility, 1000);
        query.conditions.push((
            "base_lon >= {} AND base_lon <= {} AND base_lat >= {} AND base_lat <= {}",
            vec![west.into(), east.into(), south.into(), north.into()],
        ));
        let mut reader = self.kernel.store().reader().await?;
        let page = store::registry::list_members(&mut reader.conn(), &query).await?;
        let aggregated = page.total > AGGREGATE_ABOVE;
        let features = if aggregated {
            // Few enough to aggregate in memory: the member list is bounded by a community's size.
            let cell = pixel * CELL_PIXELS;
            let mut cells: std::collections::BTreeMap<(i64, i64), (i64, f64, f64)> = Default::default();
            let all = store::registry::list_members(&mut reader.conn(), &ListQuery { limit: 1000, ..query.clone() }).await?;
            for member in all.items {
                if let Some((lon, lat)) = member.fields.base {
                    let key = (((lon - west) / cell) as i64, ((lat - south) / cell) as i64);
                    let entry = cells.entry(key).or_default();
                    *entry = (entry.0 + 1, entry.1 + lon, entry.2 + lat);
                }
            }
            cells
                .into_values()
                .map(|(n, lon, lat)| point_feature(lon / n as f64, lat / n as f64, json!({"cluster": true, "count": n})))
                .collect()
        } else {
            page.items
                .into_iter()
                .filter_map(|member| {
                    let (lon, lat) = member.fields.base?;
                    Some(point_feature(
                        lon,
                        lat,
                        json!({"id": member.id, "name": member.fields.name, "status": member.fields.status, "url": format!("/members/{}", member.id)}),
                    ))
                })
                .collect()
        };
        Ok((features, aggregated))
    }

    async fn stored_features(
        &self,
        ctx: &Context,
        name: &str,
        view: [f64; 4],
        pixel: f64,
        as_of: Option<i64>,
    ) -> Result<(Vec<Value>, bool), AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let row = repo::get_layer(&mut reader.conn(), name).await?.ok_or(AppError::NotFound { kind: ResourceKind::Layer })?;
        drop(reader);
        let meta = {
            let mut reader = self.kernel.store().reader().await?;
            store::datasets::get_meta(&mut reader.conn(), row.id).await?
        };
        let access = self.access_to(ctx, &row).await?;
        if access.is_empty() || row.name == crate::registry::REGISTER {
            return Err(self
                .kernel
                .refuse(ctx, "layer.read", "layer", Some(row.name.clone()), crate::commons::datasets::no_access(ctx))
                .await);
        }
        let mut reader = self.kernel.store().reader().await?;
        if let Some(at) = as_of {
            // The layer as it was: its versions (a layer imported before versions were kept shows nothing then).
            let rows: Vec<_> = store::datasets::features_as_of(&mut reader.conn(), row.id, at, SHAPE_LIMIT)
                .await?
                .into_iter()
                .filter(|f| crate::commons::datasets::feature_in_bbox(f, view))
                .collect();
            drop(reader);
            return Ok((self.filter_and_log(ctx, &row, meta.as_ref(), &access, rows).await?, false));
        }
        let count = repo::count_in_bbox(&mut reader.conn(), row.id, view).await?;
        // Counts in cells would tell what lies outside an area-bound grant: aggregate only for whole-layer access.
        if row.geometry_kind == "point" && count > AGGREGATE_ABOVE && access.covers_everywhere() {
            let cells = repo::point_grid(&mut reader.conn(), row.id, view, pixel * CELL_PIXELS).await?;
            drop(reader);
            self.log_aggregate(ctx, &row, &access, count).await?;
            return Ok((cluster_features(cells), true));
        }
        let rows = repo::features_in_bbox(&mut reader.conn(), row.id, view, SHAPE_LIMIT).await?;
        drop(reader);
        // Only the features and properties the caller's grants cover; protected reads are logged.
        let mut features = self.filter_and_log(ctx, &row, meta.as_ref(), &access, rows).await?;
        for feature in &mut features {
            if let Ok(shape) = MultiPolygon::from_geojson("geometry", &feature["geometry"])
                && let Some(simple) = shape.simplified(pixel)
            {
                feature["geometry"] = simple.to_geojson();
            }
        }
        Ok((features, false))
    }

    /// Creates or replaces a stored layer and upserts the features of a GeoJSON FeatureCollection into it. Bad
    /// features are reported and skipped; features are matched by their `id` (or `properties.id`, else their
    /// position in the file), so re-importing the same file changes nothing.
    pub async fn import_layer(&self, ctx: &Context, input: LayerImport, geojson: &Value) -> Result<LayerImportReport, AppError> {
        let name = Code::parse("name", &input.name)?.as_str().to_string();
        let title_zh = Name::parse("title_zh", &input.title_zh)?.into_string();
        let title_en = Name::parse_optional("title_en", input.title_en.as_deref())?.map(Name::into_string);
        let classification = Classification::parse("classification", input.classification.as_deref().unwrap_or("public"))?;
        let path: Option<JurisdictionPath> = match input.jurisdiction_id {
            Some(id) => Some(self.registry.jurisdiction_path("jurisdiction_id", id).await?.0),
            None => None,
        };
        let features = match geojson.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") => {
                geojson.get("features").and_then(Value::as_array).ok_or_else(|| Invalid::new("features", InvalidReason::Required))?.clone()
            }
            Some("Feature") => vec![geojson.clone()],
            _ => return Err(Invalid::new("type", InvalidReason::UnknownValue { allowed: vec!["FeatureCollection", "Feature"] }).into()),
        };
        let resource = Resource::new(ResourceKind::Layer, classification)
            .in_optional_jurisdiction(path.as_ref())
            .owned_by(input.organization_id.map(OrganizationId));
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource) {
            return Err(self.kernel.refuse(ctx, "layer.import", "layer", Some(name), reason).await);
        }
        // An existing layer is changed only by who manages it: nobody takes over another organization's dataset by
        // importing under its name (nor the register's).
        let existing = {
            let mut reader = self.kernel.store().reader().await?;
            repo::get_layer(&mut reader.conn(), &name).await?
        };
        if name == crate::registry::REGISTER || existing.as_ref().is_some_and(|layer| !crate::commons::datasets::owns(ctx, layer)) {
            return Err(self.kernel.refuse(ctx, "layer.import", "layer", Some(name), domain::policy::DenyReason::NotPermitted).await);
        }
        let mut report = LayerImportReport { features: features.len(), ..LayerImportReport::default() };
        let mut inputs = Vec::new();
        let mut kinds = std::collections::BTreeSet::new();
        for (index, feature) in features.iter().enumerate() {
            match parse_feature(index, feature) {
                Ok((input, kind)) => {
                    kinds.insert(kind);
                    inputs.push(input);
                }
                Err(invalid) => report.rejected.push(crate::registry::RejectedFeature {
                    index,
                    field: Some(invalid.field.clone()),
                    message: invalid.message(ctx.locale),
                }),
            }
        }
        let geometry_kind = match kinds.len() {
            0 | 1 => kinds.into_iter().next().unwrap_or("point").to_string(),
            _ => "mixed".to_string(),
        };
        let fields = LayerFields {
            name: name.clone(),
            title_zh,
            title_en,
            geometry_kind,
            classification: classification.code().into(),
            organization_id: input.organization_id,
            path,
        };
        let (app, ctx2) = (self.clone(), ctx.clone());
        let counts = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let layer = repo::upsert_layer(c, &fields, now).await?;
                    let counts = repo::upsert_features(c, layer.id, &inputs, now).await?;
                    let payload = json!({"name": layer.name, "inserted": counts.inserted, "updated": counts.updated});
                    if counts.inserted + counts.updated > 0 {
                        store::events::append(
                            c,
                            &app.kernel.event(
                                &ctx2,
                                "layer.imported",
                                "layer",
                                layer.id,
                                layer.path.as_ref(),
                                layer.organization_id,
                                classification,
                                payload.clone(),
                            ),
                        )
                        .await?;
                    }
                    let mut record = app.kernel.audit(&ctx2, "layer.import", "layer", Some(layer.name.clone()));
                    record.details = payload;
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(counts))
                })
            })
            .await?;
        report.inserted = counts.inserted;
        report.updated = counts.updated;
        report.unchanged = counts.unchanged;
        Ok(report)
    }
}

/// Parses one GeoJSON feature for storage: its id, name, geometry (checked), position or box, and properties.
pub(crate) fn parse_feature(index: usize, feature: &Value) -> Result<(FeatureInput, &'static str), Invalid> {
    let field = |name: &str| format!("features[{index}].{name}");
    let geometry =
        feature.get("geometry").filter(|g| !g.is_null()).ok_or_else(|| Invalid::new(field("geometry"), InvalidReason::Required))?;
    let properties = feature.get("properties").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
    let external_id = match feature.get("id").or_else(|| properties.get("id")) {
        Some(Value::String(text)) if !text.is_empty() => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => format!("#{index}"),
    };
    let name = properties.get("name").and_then(Value::as_str).map(str::to_string);
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let (point, bbox, kind_code) = match kind {
        "Point" => {
            let coordinates = geometry
                .get("coordinates")
                .and_then(Value::as_array)
                .ok_or_else(|| Invalid::new(field("geometry.coordinates"), InvalidReason::Required))?;
            let number = |i: usize| {
                coordinates.get(i).and_then(Value::as_f64).ok_or_else(|| {
                    Invalid::new(field(&format!("geometry.coordinates[{i}]")), InvalidReason::Malformed { expected: "a number" })
                })
            };
            let point = GeoPoint::parse(&field("geometry.coordinates"), number(0)?, number(1)?)?;
            (Some((point.lon(), point.lat())), [point.lon(), point.lat(), point.lon(), point.lat()], "point")
        }
        "Polygon" | "MultiPolygon" => {
            let shape = MultiPolygon::from_geojson(&field("geometry"), geometry)?;
            let b = shape.bbox();
            (None, [b.min_lon, b.min_lat, b.max_lon, b.max_lat], "polygon")
        }
        "LineString" | "MultiLineString" => {
            let mut positions = Vec::new();
            collect_positions(geometry.get("coordinates").unwrap_or(&Value::Null), &mut positions);
            if positions.len() < 2 {
                return Err(Invalid::new(field("geometry.coordinates"), InvalidReason::Malformed { expected: "at least two positions" }));
            }
            let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            for (lon, lat) in positions {
                let point = GeoPoint::parse(&field("geometry.coordinates"), lon, lat)?;
                b = [b[0].min(point.lon()), b[1].min(point.lat()), b[2].max(point.lon()), b[3].max(point.lat())];
            }
            (None, b, "line")
        }
        other => return Err(Invalid::new(field("geometry.type"), InvalidReason::UnsupportedGeometry { found: other.to_string() })),
    };
    Ok((FeatureInput { external_id, name, geometry: geometry.to_string(), point, bbox, properties: properties.to_string() }, kind_code))
}

fn collect_positions(value: &Value, out: &mut Vec<(f64, f64)>) {
    if let Some(items) = value.as_array() {
        if let (Some(lon), Some(lat)) = (items.first().and_then(Value::as_f64), items.get(1).and_then(Value::as_f64)) {
            out.push((lon, lat));
        } else {
            for item in items {
                collect_positions(item, out);
            }
        }
    }
}
