//! Teams: standing community forces and professional forces, with their members. Internal data.

use domain::Classification;
use domain::ids::OrganizationId;
use domain::policy::{Action, Decision, DenyReason, Resource, ResourceKind};
use domain::registry::{JurisdictionPath, TeamKind, TeamTier};
use domain::text::Name;
use store::list::ListQuery;
use store::registry::{self as repo, TeamFields, TeamRow, Versioned};

use super::double_option;
use crate::registry::Registry;
use crate::time::rfc3339;
use crate::util::{ListParams, Outcome, Page, decide, refusal};
use crate::util::{overlaps, visibility};
use crate::{AppError, Context};

/// A new team.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// `standing`, `professional`, `grassroots`, `volunteer`, `unit` or `social` (ERL Art. 39).
    pub kind: String,
    /// `community` (acts first, nearby) or `professional` (called when the community force cannot cope).
    pub tier: String,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: Option<String>,
    /// Home jurisdiction.
    pub jurisdiction_id: i64,
    /// Owning organization.
    pub organization_id: Option<i64>,
    /// Leader (a member id).
    pub leader_member_id: Option<i64>,
    /// Members (member ids).
    #[serde(default)]
    pub member_ids: Vec<i64>,
}

/// Changes to a team; absent fields are left alone, `null` clears an optional field.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    /// The version being changed (or send an `If-Match` header).
    pub version: Option<i64>,
    /// New kind.
    pub kind: Option<String>,
    /// New tier.
    pub tier: Option<String>,
    /// New Chinese name.
    pub name_zh: Option<String>,
    /// New English name; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    /// Move to another jurisdiction.
    pub jurisdiction_id: Option<i64>,
    /// New owner; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub organization_id: Option<Option<i64>>,
    /// New leader; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub leader_member_id: Option<Option<i64>>,
    /// New member list (replaces the old one).
    pub member_ids: Option<Vec<i64>>,
}

/// A team on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TeamView {
    /// Id.
    pub id: i64,
    /// Kind code.
    pub kind: String,
    /// Kind, in the caller's language.
    pub kind_label: String,
    /// Tier code.
    pub tier: String,
    /// Tier, in the caller's language.
    pub tier_label: String,
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
    /// Members.
    pub member_ids: Vec<i64>,
    /// Version.
    pub version: i64,
    /// Created (RFC 3339 UTC).
    pub created_at: String,
    /// Last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// List filters for teams.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this tier.
    pub tier: Option<String>,
}

/// The sortable fields of the team list.
const SORTABLE: &[&str] = &["name_zh", "name_en", "kind", "tier", "updated_at"];

fn resource(path: &JurisdictionPath, organization: Option<i64>) -> Resource<'_> {
    Resource::new(ResourceKind::Team, Classification::Internal).in_jurisdiction(path).owned_by(organization.map(OrganizationId))
}

fn view(ctx: &Context, row: TeamRow) -> TeamView {
    let f = row.fields;
    TeamView {
        id: row.id,
        kind_label: TeamKind::parse("kind", &f.kind).map(|k| k.label(ctx.locale).to_string()).unwrap_or_else(|_| f.kind.clone()),
        tier_label: TeamTier::parse("tier", &f.tier).map(|t| t.label(ctx.locale).to_string()).unwrap_or_else(|_| f.tier.clone()),
        kind: f.kind,
        tier: f.tier,
        name_zh: f.name_zh,
        name_en: f.name_en,
        jurisdiction_id: f.jurisdiction_id,
        organization_id: f.organization_id,
        leader_member_id: f.leader_member_id,
        member_ids: f.member_ids,
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

impl Registry {
    /// Checks that every member id exists; returns them sorted without duplicates.
    async fn check_members(&self, field: &str, ids: &[i64]) -> Result<Vec<i64>, AppError> {
        let mut sorted: Vec<i64> = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut reader = self.kernel.store().reader().await?;
        for (index, id) in ids.iter().enumerate() {
            if repo::get_member(&mut reader.conn(), *id).await?.is_none() {
                return Err(domain::Invalid::new(format!("{field}[{index}]"), domain::InvalidReason::NotFound).into());
            }
        }
        Ok(sorted)
    }

    /// Creates a team.
    pub async fn create_team(&self, ctx: &Context, input: NewTeam) -> Result<TeamView, AppError> {
        let kind = TeamKind::parse("kind", &input.kind)?;
        let tier = TeamTier::parse("tier", &input.tier)?;
        let name_zh = Name::parse("name_zh", &input.name_zh)?.into_string();
        let name_en = Name::parse_optional("name_en", input.name_en.as_deref())?.map(Name::into_string);
        let (path, _) = self.jurisdiction_path("jurisdiction_id", input.jurisdiction_id).await?;
        self.check_organization_exists_for_team(input.organization_id).await?;
        let member_ids = self.check_members("member_ids", &input.member_ids).await?;
        if let Some(leader) = input.leader_member_id {
            self.check_members("leader_member_id", &[leader])
                .await
                .map_err(|_| AppError::from(domain::Invalid::new("leader_member_id", domain::InvalidReason::NotFound)))?;
        }
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource(&path, input.organization_id)) {
            return Err(self.kernel.refuse(ctx, "team.create", "team", None, reason).await);
        }
        let fields = TeamFields {
            kind: kind.code().into(),
            tier: tier.code().into(),
            name_zh,
            name_en,
            jurisdiction_id: input.jurisdiction_id,
            organization_id: input.organization_id,
            leader_member_id: input.leader_member_id,
            member_ids,
        };
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_team(c, &fields, &path, app.kernel.now_ms()).await?;
                    let payload = serde_json::json!({ "id": row.id, "version": row.version });
                    store::events::append(
                        c,
                        &app.kernel.event(
                            &ctx2,
                            "team.created",
                            "team",
                            row.id,
                            Some(&row.path),
                            row.fields.organization_id,
                            Classification::Internal,
                            payload,
                        ),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "team.create", "team", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(ctx, row))
    }

    async fn check_organization_exists_for_team(&self, organization_id: Option<i64>) -> Result<(), AppError> {
        if let Some(id) = organization_id {
            let mut reader = self.kernel.store().reader().await?;
            if repo::get_organization(&mut reader.conn(), id).await?.is_none() {
                return Err(domain::Invalid::new("organization_id", domain::InvalidReason::NotFound).into());
            }
        }
        Ok(())
    }

    /// One team.
    pub async fn get_team(&self, ctx: &Context, id: i64) -> Result<TeamView, AppError> {
        let row = {
            let mut reader = self.kernel.store().reader().await?;
            repo::get_team(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Team })?
        };
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &resource(&row.path, row.fields.organization_id)) {
            return Err(self.kernel.refuse(ctx, "team.read", "team", Some(id.to_string()), reason).await);
        }
        Ok(view(ctx, row))
    }

    /// Lists the teams visible to the caller.
    pub async fn list_teams(&self, ctx: &Context, params: &ListParams, filter: &TeamFilter) -> Result<Page<TeamView>, AppError> {
        if !ctx.is_system() && !ctx.subject.is_authenticated() {
            return Err(self.kernel.refuse(ctx, "team.list", "team", None, DenyReason::SignInRequired).await);
        }
        let visible = if ctx.is_system() {
            store::list::Visibility::Everything
        } else {
            visibility(domain::policy::read_filter(&ctx.subject, ResourceKind::Team, Classification::Internal))
        };
        let mut query = ListQuery::new(visible, params.limit()?);
        query.offset = params.offset()?;
        query.search = params.q.clone();
        query.sort = params.sort(SORTABLE)?;
        if let Some(id) = params.jurisdiction_id {
            let (path, _) = self.jurisdiction_path("jurisdiction_id", id).await?;
            if !overlaps(&query.visibility, &path) {
                return Err(self.kernel.refuse(ctx, "team.list", "jurisdiction", Some(id.to_string()), DenyReason::OutOfScope).await);
            }
            query.within = Some(path);
        }
        if let Some(kind) = &filter.kind {
            query.equals.push(("kind", TeamKind::parse("kind", kind)?.code().into()));
        }
        if let Some(tier) = &filter.tier {
            query.equals.push(("tier", TeamTier::parse("tier", tier)?.code().into()));
        }
        let mut reader = self.kernel.store().reader().await?;
        let page = repo::list_teams(&mut reader.conn(), &query).await?;
        Ok(Page {
            items: page.items.into_iter().map(|row| view(ctx, row)).collect(),
            total: page.total,
            limit: query.limit,
            offset: query.offset,
        })
    }

    /// Changes a team, if it is still at the version the caller read.
    pub async fn update_team(&self, ctx: &Context, id: i64, patch: TeamPatch) -> Result<TeamView, AppError> {
        let version = patch.version.ok_or(AppError::VersionRequired)?;
        let kind = patch.kind.as_deref().map(|kind| TeamKind::parse("kind", kind)).transpose()?;
        let tier = patch.tier.as_deref().map(|tier| TeamTier::parse("tier", tier)).transpose()?;
        let name_zh = patch.name_zh.as_deref().map(|name| Name::parse("name_zh", name)).transpose()?;
        let name_en = patch.name_en.as_ref().map(|name| Name::parse_optional("name_en", name.as_deref())).transpose()?;
        let new_place = match patch.jurisdiction_id {
            Some(jurisdiction_id) => Some((jurisdiction_id, self.jurisdiction_path("jurisdiction_id", jurisdiction_id).await?.0)),
            None => None,
        };
        if let Some(organization_id) = patch.organization_id {
            self.check_organization_exists_for_team(organization_id).await?;
        }
        let member_ids = match &patch.member_ids {
            Some(ids) => Some(self.check_members("member_ids", ids).await?),
            None => None,
        };
        if let Some(Some(leader)) = patch.leader_member_id {
            self.check_members("leader_member_id", &[leader])
                .await
                .map_err(|_| AppError::from(domain::Invalid::new("leader_member_id", domain::InvalidReason::NotFound)))?;
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_team(c, id).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Team });
                    };
                    let record = app.kernel.audit(&ctx2, "team.update", "team", Some(id.to_string()));
                    let mut f = current.fields.clone();
                    if let Some(organization_id) = patch.organization_id {
                        f.organization_id = organization_id;
                    }
                    let mut decision = decide(&ctx2, Action::Update, &resource(&current.path, current.fields.organization_id));
                    if decision.is_allowed() && (new_place.is_some() || f.organization_id != current.fields.organization_id) {
                        let target = new_place.as_ref().map(|(_, path)| path).unwrap_or(&current.path);
                        decision = decide(&ctx2, Action::Update, &resource(target, f.organization_id));
                    }
                    if let Decision::Deny(reason) = decision {
                        store::audit::append(c, &refusal(record, reason)).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    let mut path = current.path.clone();
                    if let Some((jurisdiction_id, new_path)) = new_place {
                        f.jurisdiction_id = jurisdiction_id;
                        path = new_path;
                    }
                    if let Some(kind) = kind {
                        f.kind = kind.code().into();
                    }
                    if let Some(tier) = tier {
                        f.tier = tier.code().into();
                    }
                    if let Some(name) = name_zh {
                        f.name_zh = name.into_string();
                    }
                    if let Some(name) = name_en {
                        f.name_en = name.map(Name::into_string);
                    }
                    if let Some(leader) = patch.leader_member_id {
                        f.leader_member_id = leader;
                    }
                    if let Some(ids) = member_ids {
                        f.member_ids = ids;
                    }
                    match repo::update_team(c, id, version, &f, &path, app.kernel.now_ms()).await? {
                        Versioned::Done(new_version) => {
                            let payload = serde_json::json!({ "id": id, "version": new_version, "members": f.member_ids.len() });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx2,
                                    "team.updated",
                                    "team",
                                    id,
                                    Some(&path),
                                    f.organization_id,
                                    Classification::Internal,
                                    payload,
                                ),
                            )
                            .await?;
                            store::audit::append(c, &record).await?;
                            Ok(Outcome::Done(repo::get_team(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Team })?))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Team }),
                    }
                })
            })
            .await?;
        Ok(view(ctx, row))
    }

    /// Deletes a team and its membership list.
    pub async fn delete_team(&self, ctx: &Context, id: i64, version: Option<i64>) -> Result<(), AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let (app, ctx) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_team(c, id).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Team });
                    };
                    let record = app.kernel.audit(&ctx, "team.delete", "team", Some(id.to_string()));
                    if let Decision::Deny(reason) = decide(&ctx, Action::Delete, &resource(&current.path, current.fields.organization_id)) {
                        store::audit::append(c, &refusal(record, reason)).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    match repo::delete_team(c, id, version).await? {
                        Versioned::Done(_) => {
                            let payload = serde_json::json!({ "id": id });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx,
                                    "team.deleted",
                                    "team",
                                    id,
                                    Some(&current.path),
                                    current.fields.organization_id,
                                    Classification::Internal,
                                    payload,
                                ),
                            )
                            .await?;
                            store::audit::append(c, &record).await?;
                            Ok(Outcome::Done(()))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Team }),
                    }
                })
            })
            .await
    }
}
