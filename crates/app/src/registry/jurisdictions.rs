//! Jurisdictions: the tree of city › district › sub-district › community › grid, with boundaries. Names and
//! boundaries are public; changing them is for admins and for scoped roles below their own scope.

use domain::Classification;
use domain::policy::{Action, Decision, Resource, ResourceKind};
use domain::registry::{JurisdictionLevel, JurisdictionMode, JurisdictionPath};
use domain::text::{Code, Name};
use store::list::{ListQuery, Visibility};
use store::registry::{self as repo, JurisdictionFields, JurisdictionRow, Versioned};

use super::{double_option, optional_text, parse_boundary};
use crate::registry::Registry;
use crate::time::{is_known_timezone, rfc3339};
use crate::util::{ListParams, Outcome, Page, decide, refusal};
use crate::{AppError, Context};

/// A new jurisdiction.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJurisdiction {
    /// The parent jurisdiction; none for a root (a city).
    pub parent_id: Option<i64>,
    /// `city`, `district`, `sub_district`, `community` or `grid`; narrower than the parent's.
    pub level: String,
    /// A unique code, such as the administrative-division code `310104`.
    pub code: String,
    /// The name in Chinese.
    pub name_zh: String,
    /// The name in English.
    pub name_en: Option<String>,
    /// IANA time zone for local times (default: the parent's, or Asia/Shanghai).
    pub timezone: Option<String>,
    /// The boundary: a GeoJSON Polygon or MultiPolygon, (lon, lat) in WGS 84.
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<serde_json::Value>,
}

/// Changes to a jurisdiction; absent fields are left alone, `null` clears an optional field.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionPatch {
    /// The version being changed (or send an `If-Match` header).
    pub version: Option<i64>,
    /// New code.
    pub code: Option<String>,
    /// New Chinese name.
    pub name_zh: Option<String>,
    /// New English name; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    /// New time zone.
    pub timezone: Option<String>,
    /// New boundary; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<Option<serde_json::Value>>,
    /// New operating mode: `peacetime`, `heightened` or `emergency`.
    pub mode: Option<String>,
}

/// A jurisdiction on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JurisdictionView {
    /// Id.
    pub id: i64,
    /// Parent, if any.
    pub parent_id: Option<i64>,
    /// Level code.
    pub level: String,
    /// Level, in the caller's language.
    pub level_label: String,
    /// Unique code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// Position in the tree: the ids from the root, `/1/4/9/`.
    pub path: String,
    /// IANA time zone.
    pub timezone: String,
    /// Bounding box of the boundary: west, south, east, north.
    pub bbox: Option<[f64; 4]>,
    /// Operating mode: `peacetime`, `heightened` (a warning in force) or `emergency` (a plan active).
    pub mode: String,
    /// Mode, in the caller's language.
    pub mode_label: String,
    /// The boundary (GeoJSON MultiPolygon), on single-item reads.
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<serde_json::Value>,
    /// Version, for optimistic concurrency.
    pub version: i64,
    /// Created (RFC 3339 UTC).
    pub created_at: String,
    /// Last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// List filters for jurisdictions beyond the common ones.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JurisdictionFilter {
    /// Only this level.
    pub level: Option<String>,
    /// Only the direct children of this jurisdiction.
    pub parent_id: Option<i64>,
    /// Only roots (jurisdictions without a parent).
    #[serde(default)]
    pub roots: bool,
}

pub(crate) fn view(row: JurisdictionRow, locale: domain::Locale) -> JurisdictionView {
    let level_label =
        JurisdictionLevel::parse("level", &row.level).map(|level| level.label(locale).to_string()).unwrap_or_else(|_| row.level.clone());
    let mode_label =
        JurisdictionMode::parse("mode", &row.mode).map(|mode| mode.label(locale).to_string()).unwrap_or_else(|_| row.mode.clone());
    JurisdictionView {
        id: row.id,
        parent_id: row.parent_id,
        level: row.level,
        level_label,
        code: row.code,
        name_zh: row.name_zh,
        name_en: row.name_en,
        path: row.path.as_str().to_string(),
        timezone: row.timezone,
        bbox: row.bbox,
        mode: row.mode,
        mode_label,
        boundary: row.boundary.and_then(|text| serde_json::from_str(&text).ok()),
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

fn resource(path: Option<&JurisdictionPath>) -> Resource<'_> {
    Resource::new(ResourceKind::Jurisdiction, Classification::Public).in_optional_jurisdiction(path)
}

/// The sortable fields of the jurisdiction list.
const SORTABLE: &[&str] = &["path", "code", "name_zh", "name_en", "level", "mode", "updated_at"];

impl Registry {
    /// Creates a jurisdiction.
    pub async fn create_jurisdiction(&self, ctx: &Context, input: NewJurisdiction) -> Result<JurisdictionView, AppError> {
        self.jurisdictions_changed();
        let level = JurisdictionLevel::parse("level", &input.level)?;
        let code = Code::parse("code", &input.code)?;
        let name_zh = Name::parse("name_zh", &input.name_zh)?;
        let name_en = Name::parse_optional("name_en", input.name_en.as_deref())?;
        let boundary = input.boundary.as_ref().map(|value| parse_boundary("boundary", value)).transpose()?;
        let parent = match input.parent_id {
            Some(parent_id) => {
                let mut reader = self.kernel.store().reader().await?;
                let row = repo::get_jurisdiction(&mut reader.conn(), parent_id, false)
                    .await?
                    .ok_or_else(|| domain::Invalid::new("parent_id", domain::InvalidReason::NotFound))?;
                Some(row)
            }
            None => None,
        };
        let parent_level = parent.as_ref().map(|p| JurisdictionLevel::parse("parent", &p.level)).transpose()?;
        level.check_parent(parent_level)?;
        let timezone = match optional_text(input.timezone) {
            Some(timezone) if is_known_timezone(&timezone) => timezone,
            Some(_) => {
                return Err(domain::Invalid::new(
                    "timezone",
                    domain::InvalidReason::Malformed { expected: "an IANA time zone such as Asia/Shanghai" },
                )
                .into());
            }
            None => parent.as_ref().map(|p| p.timezone.clone()).unwrap_or_else(|| self.kernel.config().default_timezone.clone()),
        };
        let fields = JurisdictionFields {
            level: level.code().to_string(),
            code: code.as_str().to_string(),
            name_zh: name_zh.into_string(),
            name_en: name_en.map(Name::into_string),
            timezone,
            boundary: boundary.as_ref().map(|(text, _)| text.clone()),
            bbox: boundary.map(|(_, bbox)| bbox),
            mode: JurisdictionMode::Peacetime.code().to_string(),
        };
        let parent_place = parent.map(|p| (p.id, p.path));
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource(parent_place.as_ref().map(|(_, path)| path))) {
            return Err(self.kernel.refuse(ctx, "jurisdiction.create", "jurisdiction", None, reason).await);
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row =
                        repo::insert_jurisdiction(c, parent_place.as_ref().map(|(id, path)| (*id, path)), &fields, app.kernel.now_ms())
                            .await?;
                    let payload = serde_json::json!({ "id": row.id, "code": row.code, "level": row.level, "version": row.version });
                    store::events::append(
                        c,
                        &app.kernel.event(
                            &ctx2,
                            "jurisdiction.created",
                            "jurisdiction",
                            row.id,
                            Some(&row.path),
                            None,
                            Classification::Public,
                            payload,
                        ),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "jurisdiction.create", "jurisdiction", Some(row.id.to_string())))
                        .await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(row, ctx.locale))
    }

    /// One jurisdiction, with its boundary.
    pub async fn get_jurisdiction(&self, ctx: &Context, id: i64) -> Result<JurisdictionView, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let row =
            repo::get_jurisdiction(&mut reader.conn(), id, true).await?.ok_or(AppError::NotFound { kind: ResourceKind::Jurisdiction })?;
        Ok(view(row, ctx.locale))
    }

    /// One jurisdiction by code, without its boundary.
    pub async fn find_jurisdiction_by_code(&self, code: &str) -> Result<Option<JurisdictionRow>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::get_jurisdiction_by_code(&mut reader.conn(), code).await?)
    }

    /// Lists jurisdictions (without boundaries).
    pub async fn list_jurisdictions(
        &self,
        ctx: &Context,
        params: &ListParams,
        filter: &JurisdictionFilter,
    ) -> Result<Page<JurisdictionView>, AppError> {
        let mut query = ListQuery::new(Visibility::Everything, params.limit()?);
        query.offset = params.offset()?;
        query.search = params.q.clone();
        query.sort = params.sort(SORTABLE)?;
        if let Some(id) = params.jurisdiction_id {
            query.within = Some(self.jurisdiction_path("jurisdiction_id", id).await?.0);
        }
        if let Some(level) = &filter.level {
            query.equals.push(("level", JurisdictionLevel::parse("level", level)?.code().into()));
        }
        if let Some(parent_id) = filter.parent_id {
            query.equals.push(("parent_id", parent_id.into()));
        }
        if filter.roots {
            query.conditions.push(("parent_id IS NULL", Vec::new()));
        }
        let mut reader = self.kernel.store().reader().await?;
        let page = repo::list_jurisdictions(&mut reader.conn(), &query).await?;
        Ok(Page {
            items: page.items.into_iter().map(|row| view(row, ctx.locale)).collect(),
            total: page.total,
            limit: query.limit,
            offset: query.offset,
        })
    }

    /// Changes a jurisdiction, if it is still at the version the caller read.
    pub async fn update_jurisdiction(&self, ctx: &Context, id: i64, patch: JurisdictionPatch) -> Result<JurisdictionView, AppError> {
        self.jurisdictions_changed();
        let version = patch.version.ok_or(AppError::VersionRequired)?;
        let code = patch.code.as_deref().map(|code| Code::parse("code", code)).transpose()?;
        let name_zh = patch.name_zh.as_deref().map(|name| Name::parse("name_zh", name)).transpose()?;
        let name_en = match &patch.name_en {
            None => None,
            Some(value) => Some(Name::parse_optional("name_en", value.as_deref())?),
        };
        let timezone = match optional_text(patch.timezone.clone()) {
            Some(timezone) if !is_known_timezone(&timezone) => {
                return Err(domain::Invalid::new(
                    "timezone",
                    domain::InvalidReason::Malformed { expected: "an IANA time zone such as Asia/Shanghai" },
                )
                .into());
            }
            other => other,
        };
        let boundary = match &patch.boundary {
            None => None,
            Some(None) => Some(None),
            Some(Some(value)) => Some(Some(parse_boundary("boundary", value)?)),
        };
        let mode = patch.mode.as_deref().map(|mode| JurisdictionMode::parse("mode", mode)).transpose()?;
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_jurisdiction(c, id, true).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Jurisdiction });
                    };
                    let record = app.kernel.audit(&ctx2, "jurisdiction.update", "jurisdiction", Some(id.to_string()));
                    if let Decision::Deny(reason) = decide(&ctx2, Action::Update, &resource(Some(&current.path))) {
                        store::audit::append(c, &refusal(record, reason)).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    let mut changed = Vec::new();
                    let mut fields = JurisdictionFields {
                        level: current.level.clone(),
                        code: current.code.clone(),
                        name_zh: current.name_zh.clone(),
                        name_en: current.name_en.clone(),
                        timezone: current.timezone.clone(),
                        boundary: current.boundary.clone(),
                        bbox: current.bbox,
                        mode: current.mode.clone(),
                    };
                    if let Some(code) = code.filter(|code| code.as_str() != fields.code) {
                        fields.code = code.as_str().to_string();
                        changed.push("code");
                    }
                    if let Some(name) = name_zh.filter(|name| name.as_str() != fields.name_zh) {
                        fields.name_zh = name.into_string();
                        changed.push("name_zh");
                    }
                    if let Some(name) = name_en {
                        let name = name.map(Name::into_string);
                        if name != fields.name_en {
                            fields.name_en = name;
                            changed.push("name_en");
                        }
                    }
                    if let Some(timezone) = timezone.filter(|tz| *tz != fields.timezone) {
                        fields.timezone = timezone;
                        changed.push("timezone");
                    }
                    if let Some(boundary) = boundary {
                        let text = boundary.as_ref().map(|(text, _)| text.clone());
                        if text != fields.boundary {
                            fields.boundary = text;
                            fields.bbox = boundary.map(|(_, bbox)| bbox);
                            changed.push("boundary");
                        }
                    }
                    if let Some(mode) = mode.filter(|mode| mode.code() != fields.mode) {
                        fields.mode = mode.code().to_string();
                        changed.push("mode");
                    }
                    if changed.is_empty() {
                        // Nothing to change: no new version, no event, no audit record (a re-import is a no-op).
                        return Ok(Outcome::Done(current));
                    }
                    match repo::update_jurisdiction(c, id, version, &fields, app.kernel.now_ms()).await? {
                        Versioned::Done(new_version) => {
                            let payload = serde_json::json!({ "id": id, "version": new_version, "changed": changed });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx2,
                                    "jurisdiction.updated",
                                    "jurisdiction",
                                    id,
                                    Some(&current.path),
                                    None,
                                    Classification::Public,
                                    payload.clone(),
                                ),
                            )
                            .await?;
                            let mut record = record;
                            record.details = serde_json::json!({ "changed": changed });
                            store::audit::append(c, &record).await?;
                            let row = repo::get_jurisdiction(c, id, true)
                                .await?
                                .ok_or(AppError::NotFound { kind: ResourceKind::Jurisdiction })?;
                            Ok(Outcome::Done(row))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Jurisdiction }),
                    }
                })
            })
            .await?;
        Ok(view(row, ctx.locale))
    }

    /// Deletes a jurisdiction that nothing refers to any more.
    pub async fn delete_jurisdiction(&self, ctx: &Context, id: i64, version: Option<i64>) -> Result<(), AppError> {
        self.jurisdictions_changed();
        let version = version.ok_or(AppError::VersionRequired)?;
        let (app, ctx) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_jurisdiction(c, id, false).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Jurisdiction });
                    };
                    let record = app.kernel.audit(&ctx, "jurisdiction.delete", "jurisdiction", Some(id.to_string()));
                    if let Decision::Deny(reason) = decide(&ctx, Action::Delete, &resource(Some(&current.path))) {
                        store::audit::append(c, &refusal(record, reason)).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    let dependents = repo::jurisdiction_dependents(c, id).await?;
                    if !dependents.is_empty() {
                        return Err(AppError::HasDependents { what: dependents });
                    }
                    match repo::delete_jurisdiction(c, id, version).await? {
                        Versioned::Done(_) => {
                            let payload = serde_json::json!({ "id": id, "code": current.code });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx,
                                    "jurisdiction.deleted",
                                    "jurisdiction",
                                    id,
                                    Some(&current.path),
                                    None,
                                    Classification::Public,
                                    payload,
                                ),
                            )
                            .await?;
                            store::audit::append(c, &record).await?;
                            Ok(Outcome::Done(()))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Jurisdiction }),
                    }
                })
            })
            .await
    }

    /// Jurisdiction boundaries intersecting a box, for the map.
    pub async fn jurisdictions_in_bbox(&self, ctx: &Context, bbox: [f64; 4], limit: i64) -> Result<Vec<JurisdictionView>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::jurisdictions_in_bbox(&mut reader.conn(), bbox, limit).await?.into_iter().map(|row| view(row, ctx.locale)).collect())
    }
}
