//! Organizations: departments, enterprises, NGOs, volunteer teams, mutual-aid groups, property companies….
//! Their names and kinds are public; their contact details are internal.

use domain::Classification;
use domain::ids::OrganizationId;
use domain::policy::{Action, Decision, Resource, ResourceKind};
use domain::registry::{JurisdictionPath, OrganizationKind, Sector};
use domain::text::{Code, Email, Name, Phone};
use store::list::ListQuery;
use store::registry::{self as repo, OrganizationFields, OrganizationRow, Versioned};

use super::double_option;
use crate::registry::Registry;
use crate::time::rfc3339;
use crate::util::{ListParams, Outcome, Page, decide, refusal};
use crate::util::{overlaps, visibility};
use crate::{AppError, Context};

/// A new organization.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Kind: `department`, `enterprise`, `ngo`, `volunteer_team`, `mutual_aid_group`, `property_company`, ….
    pub kind: String,
    /// Sector for departments and utilities: `water_affairs`, `health`, `fire_rescue`, ….
    pub sector: Option<String>,
    /// A unique code.
    pub code: String,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: Option<String>,
    /// The jurisdiction it belongs to.
    pub jurisdiction_id: i64,
    /// The organization it is part of.
    pub parent_id: Option<i64>,
    /// Contact phone (internal).
    pub contact_phone: Option<String>,
    /// Contact e-mail (internal).
    pub contact_email: Option<String>,
    /// Street address (internal).
    pub address: Option<String>,
}

/// Changes to an organization; absent fields are left alone, `null` clears an optional field.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    /// The version being changed (or send an `If-Match` header).
    pub version: Option<i64>,
    /// New kind.
    pub kind: Option<String>,
    /// New sector; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub sector: Option<Option<String>>,
    /// New code.
    pub code: Option<String>,
    /// New Chinese name.
    pub name_zh: Option<String>,
    /// New English name; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    /// Move to another jurisdiction.
    pub jurisdiction_id: Option<i64>,
    /// New parent; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<Option<i64>>,
    /// New contact phone; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_phone: Option<Option<String>>,
    /// New contact e-mail; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_email: Option<Option<String>>,
    /// New address; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
}

/// An organization on the wire. Contact fields are present only for callers who may see internal data.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OrganizationView {
    /// Id.
    pub id: i64,
    /// Kind code.
    pub kind: String,
    /// Kind, in the caller's language.
    pub kind_label: String,
    /// Sector code.
    pub sector: Option<String>,
    /// Unique code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: Option<String>,
    /// Its jurisdiction.
    pub jurisdiction_id: i64,
    /// Its parent organization.
    pub parent_id: Option<i64>,
    /// Contact phone (internal; omitted for the public).
    pub contact_phone: Option<String>,
    /// Contact e-mail (internal).
    pub contact_email: Option<String>,
    /// Address (internal).
    pub address: Option<String>,
    /// Version.
    pub version: i64,
    /// Created (RFC 3339 UTC).
    pub created_at: String,
    /// Last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// List filters for organizations.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganizationFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this sector.
    pub sector: Option<String>,
}

/// The sortable fields of the organization list.
const SORTABLE: &[&str] = &["name_zh", "name_en", "code", "kind", "sector", "updated_at"];

fn resource(path: &JurisdictionPath, owner: Option<i64>, classification: Classification) -> Resource<'_> {
    Resource::new(ResourceKind::Organization, classification).in_jurisdiction(path).owned_by(owner.map(OrganizationId))
}

fn view(ctx: &Context, row: OrganizationRow) -> OrganizationView {
    let internal = decide(ctx, Action::Read, &resource(&row.path, Some(row.id), Classification::Internal)).is_allowed();
    let kind_label = OrganizationKind::parse("kind", &row.fields.kind)
        .map(|k| k.label(ctx.locale).to_string())
        .unwrap_or_else(|_| row.fields.kind.clone());
    let f = row.fields;
    OrganizationView {
        id: row.id,
        kind: f.kind,
        kind_label,
        sector: f.sector,
        code: f.code,
        name_zh: f.name_zh,
        name_en: f.name_en,
        jurisdiction_id: f.jurisdiction_id,
        parent_id: f.parent_id,
        contact_phone: f.contact_phone.filter(|_| internal),
        contact_email: f.contact_email.filter(|_| internal),
        address: f.address.filter(|_| internal),
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

pub(crate) fn parse_phone(field: &str, value: Option<&str>) -> Result<Option<String>, AppError> {
    Ok(match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(text) => Some(Phone::parse(field, text)?.as_str().to_string()),
        None => None,
    })
}

pub(crate) fn parse_email(field: &str, value: Option<&str>) -> Result<Option<String>, AppError> {
    Ok(match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(text) => Some(Email::parse(field, text)?.as_str().to_string()),
        None => None,
    })
}

fn parse_sector(value: Option<&str>) -> Result<Option<String>, AppError> {
    Ok(match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(text) => Some(Sector::parse("sector", text)?.code().to_string()),
        None => None,
    })
}

fn parse_address(value: Option<&str>) -> Result<Option<String>, AppError> {
    Ok(Name::parse_optional("address", value)?.map(Name::into_string))
}

impl Registry {
    async fn check_parent_organization(&self, parent_id: Option<i64>) -> Result<(), AppError> {
        if let Some(parent_id) = parent_id {
            let mut reader = self.kernel.store().reader().await?;
            if repo::get_organization(&mut reader.conn(), parent_id).await?.is_none() {
                return Err(domain::Invalid::new("parent_id", domain::InvalidReason::NotFound).into());
            }
        }
        Ok(())
    }

    /// Creates an organization.
    pub async fn create_organization(&self, ctx: &Context, input: NewOrganization) -> Result<OrganizationView, AppError> {
        let fields = OrganizationFields {
            kind: OrganizationKind::parse("kind", &input.kind)?.code().to_string(),
            sector: parse_sector(input.sector.as_deref())?,
            code: Code::parse("code", &input.code)?.as_str().to_string(),
            name_zh: Name::parse("name_zh", &input.name_zh)?.into_string(),
            name_en: Name::parse_optional("name_en", input.name_en.as_deref())?.map(Name::into_string),
            jurisdiction_id: input.jurisdiction_id,
            parent_id: input.parent_id,
            contact_phone: parse_phone("contact_phone", input.contact_phone.as_deref())?,
            contact_email: parse_email("contact_email", input.contact_email.as_deref())?,
            address: parse_address(input.address.as_deref())?,
        };
        let (path, _) = self.jurisdiction_path("jurisdiction_id", input.jurisdiction_id).await?;
        self.check_parent_organization(input.parent_id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource(&path, input.parent_id, Classification::Internal)) {
            return Err(self.kernel.refuse(ctx, "organization.create", "organization", None, reason).await);
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_organization(c, &fields, &path, app.kernel.now_ms()).await?;
                    let payload =
                        serde_json::json!({ "id": row.id, "code": row.fields.code, "kind": row.fields.kind, "version": row.version });
                    store::events::append(
                        c,
                        &app.kernel.event(
                            &ctx2,
                            "organization.created",
                            "organization",
                            row.id,
                            Some(&row.path),
                            Some(row.id),
                            Classification::Public,
                            payload,
                        ),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "organization.create", "organization", Some(row.id.to_string())))
                        .await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(ctx, row))
    }

    /// One organization.
    pub async fn get_organization(&self, ctx: &Context, id: i64) -> Result<OrganizationView, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let row = repo::get_organization(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Organization })?;
        Ok(view(ctx, row))
    }

    /// One organization by code.
    pub async fn find_organization_by_code(&self, code: &str) -> Result<Option<OrganizationRow>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::get_organization_by_code(&mut reader.conn(), code).await?)
    }

    /// Lists organizations (public data for everyone; contacts for those who may see them).
    pub async fn list_organizations(
        &self,
        ctx: &Context,
        params: &ListParams,
        filter: &OrganizationFilter,
    ) -> Result<Page<OrganizationView>, AppError> {
        let visible = visibility(domain::policy::read_filter(&ctx.subject, ResourceKind::Organization, Classification::Public));
        let mut query = ListQuery::new(visible, params.limit()?);
        query.offset = params.offset()?;
        query.search = params.q.clone();
        query.sort = params.sort(SORTABLE)?;
        if let Some(id) = params.jurisdiction_id {
            let (path, _) = self.jurisdiction_path("jurisdiction_id", id).await?;
            debug_assert!(overlaps(&query.visibility, &path));
            query.within = Some(path);
        }
        if let Some(kind) = &filter.kind {
            query.equals.push(("kind", OrganizationKind::parse("kind", kind)?.code().into()));
        }
        if let Some(sector) = &filter.sector {
            query.equals.push(("sector", Sector::parse("sector", sector)?.code().into()));
        }
        let mut reader = self.kernel.store().reader().await?;
        let page = repo::list_organizations(&mut reader.conn(), &query).await?;
        Ok(Page {
            items: page.items.into_iter().map(|row| view(ctx, row)).collect(),
            total: page.total,
            limit: query.limit,
            offset: query.offset,
        })
    }

    /// Changes an organization, if it is still at the version the caller read.
    pub async fn update_organization(&self, ctx: &Context, id: i64, patch: OrganizationPatch) -> Result<OrganizationView, AppError> {
        let version = patch.version.ok_or(AppError::VersionRequired)?;
        let kind = patch.kind.as_deref().map(|kind| OrganizationKind::parse("kind", kind)).transpose()?;
        let sector = patch.sector.as_ref().map(|sector| parse_sector(sector.as_deref())).transpose()?;
        let code = patch.code.as_deref().map(|code| Code::parse("code", code)).transpose()?;
        let name_zh = patch.name_zh.as_deref().map(|name| Name::parse("name_zh", name)).transpose()?;
        let name_en = patch.name_en.as_ref().map(|name| Name::parse_optional("name_en", name.as_deref())).transpose()?;
        let contact_phone = patch.contact_phone.as_ref().map(|v| parse_phone("contact_phone", v.as_deref())).transpose()?;
        let contact_email = patch.contact_email.as_ref().map(|v| parse_email("contact_email", v.as_deref())).transpose()?;
        let address = patch.address.as_ref().map(|v| parse_address(v.as_deref())).transpose()?;
        let new_place = match patch.jurisdiction_id {
            Some(jurisdiction_id) => Some((jurisdiction_id, self.jurisdiction_path("jurisdiction_id", jurisdiction_id).await?.0)),
            None => None,
        };
        if let Some(Some(parent_id)) = patch.parent_id {
            if parent_id == id {
                return Err(domain::Invalid::new("parent_id", domain::InvalidReason::Malformed { expected: "another organization" }).into());
            }
            self.check_parent_organization(Some(parent_id)).await?;
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_organization(c, id).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Organization });
                    };
                    let record = app.kernel.audit(&ctx2, "organization.update", "organization", Some(id.to_string()));
                    let mut denied = match decide(&ctx2, Action::Update, &resource(&current.path, Some(id), Classification::Internal)) {
                        Decision::Deny(reason) => Some(reason),
                        Decision::Allow => None,
                    };
                    if let (None, Some((_, path))) = (denied, &new_place) {
                        if let Decision::Deny(reason) = decide(&ctx2, Action::Update, &resource(path, Some(id), Classification::Internal)) {
                            denied = Some(reason);
                        }
                    }
                    if let Some(reason) = denied {
                        store::audit::append(c, &refusal(record, reason)).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    let mut f = current.fields.clone();
                    let mut path = current.path.clone();
                    if let Some(kind) = kind {
                        f.kind = kind.code().to_string();
                    }
                    if let Some(sector) = sector {
                        f.sector = sector;
                    }
                    if let Some(code) = code {
                        f.code = code.as_str().to_string();
                    }
                    if let Some(name) = name_zh {
                        f.name_zh = name.into_string();
                    }
                    if let Some(name) = name_en {
                        f.name_en = name.map(Name::into_string);
                    }
                    if let Some((jurisdiction_id, new_path)) = new_place {
                        f.jurisdiction_id = jurisdiction_id;
                        path = new_path;
                    }
                    if let Some(parent_id) = patch.parent_id {
                        f.parent_id = parent_id;
                    }
                    if let Some(phone) = contact_phone {
                        f.contact_phone = phone;
                    }
                    if let Some(email) = contact_email {
                        f.contact_email = email;
                    }
                    if let Some(address) = address {
                        f.address = address;
                    }
                    let changed = changed_fields(&current.fields, &f);
                    match repo::update_organization(c, id, version, &f, &path, app.kernel.now_ms()).await? {
                        Versioned::Done(new_version) => {
                            let payload = serde_json::json!({ "id": id, "version": new_version, "changed": changed });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx2,
                                    "organization.updated",
                                    "organization",
                                    id,
                                    Some(&path),
                                    Some(id),
                                    Classification::Public,
                                    payload,
                                ),
                            )
                            .await?;
                            let mut record = record;
                            record.details = serde_json::json!({ "changed": changed });
                            store::audit::append(c, &record).await?;
                            Ok(Outcome::Done(
                                repo::get_organization(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Organization })?,
                            ))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Organization }),
                    }
                })
            })
            .await?;
        Ok(view(ctx, row))
    }

    /// Deletes an organization nothing refers to any more.
    pub async fn delete_organization(&self, ctx: &Context, id: i64, version: Option<i64>) -> Result<(), AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let (app, ctx) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_organization(c, id).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Organization });
                    };
                    let record = app.kernel.audit(&ctx, "organization.delete", "organization", Some(id.to_string()));
                    if let Decision::Deny(reason) =
                        decide(&ctx, Action::Delete, &resource(&current.path, Some(id), Classification::Internal))
                    {
                        store::audit::append(c, &refusal(record, reason)).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    let dependents = repo::organization_dependents(c, id).await?;
                    if !dependents.is_empty() {
                        return Err(AppError::HasDependents { what: dependents });
                    }
                    match repo::delete_organization(c, id, version).await? {
                        Versioned::Done(_) => {
                            let payload = serde_json::json!({ "id": id, "code": current.fields.code });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx,
                                    "organization.deleted",
                                    "organization",
                                    id,
                                    Some(&current.path),
                                    Some(id),
                                    Classification::Public,
                                    payload,
                                ),
                            )
                            .await?;
                            store::audit::append(c, &record).await?;
                            Ok(Outcome::Done(()))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Organization }),
                    }
                })
            })
            .await
    }
}

fn changed_fields(before: &OrganizationFields, after: &OrganizationFields) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let pairs: [(&'static str, bool); 10] = [
        ("kind", before.kind != after.kind),
        ("sector", before.sector != after.sector),
        ("code", before.code != after.code),
        ("name_zh", before.name_zh != after.name_zh),
        ("name_en", before.name_en != after.name_en),
        ("jurisdiction_id", before.jurisdiction_id != after.jurisdiction_id),
        ("parent_id", before.parent_id != after.parent_id),
        ("contact_phone", before.contact_phone != after.contact_phone),
        ("contact_email", before.contact_email != after.contact_email),
        ("address", before.address != after.address),
    ];
    for (name, differs) in pairs {
        if differs {
            changed.push(name);
        }
    }
    changed
}
