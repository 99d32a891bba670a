//! Members: the people of the emergency system, with roles, skills, credentials and locations. A member's name,
//! roles, skills and status are internal; their phone, e-mail, home location and certificate numbers are
//! personal data, confidential by default: lists always mask them, and revealing them on one record needs a
//! cleared role, a stated purpose, and writes an audit record.

use domain::Classification;
use domain::ids::{MemberId, OrganizationId};
use domain::masking;
use domain::policy::{Action, Decision, DenyReason, Resource, ResourceKind};
use domain::registry::{Credential, CredentialState, JurisdictionPath, MemberRole, MemberStatus, Skill};
use domain::text::Name;
use store::list::ListQuery;
use store::registry::{self as repo, MemberFields, MemberRow, Versioned};

use super::organizations::{parse_email, parse_phone};
use super::{Point, double_option};
use crate::registry::Registry;
use crate::time::{local_date, rfc3339};
use crate::util::{ListParams, Outcome, Page, decide, refusal};
use crate::util::{overlaps, visibility};
use crate::{AppError, Context};

/// A credential on the wire.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialInput {
    /// What it is, as a code: `first_aid_certificate`, `boat_licence`.
    pub kind: String,
    /// Certificate number (personal data).
    pub number: Option<String>,
    /// Who issued it.
    pub issuer: Option<String>,
    /// Last valid day, `YYYY-MM-DD`; absent if it does not expire.
    pub expires_on: Option<String>,
}

/// A new member.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The jurisdiction the member belongs to (usually a community or grid).
    pub jurisdiction_id: i64,
    /// The organization they act for, if any.
    pub organization_id: Option<i64>,
    /// Full name.
    pub name: String,
    /// Phone number (personal data).
    pub phone: Option<String>,
    /// E-mail (personal data).
    pub email: Option<String>,
    /// Roles: `grid_member`, `cadre`, `volunteer`, `police`, `property_staff`, `firefighter`, ….
    #[serde(default)]
    pub roles: Vec<String>,
    /// Skill codes: `first_aid`, `boat_handling`, `sign_language`, ….
    #[serde(default)]
    pub skills: Vec<String>,
    /// Credentials with expiry dates.
    #[serde(default)]
    pub credentials: Vec<CredentialInput>,
    /// Home location (personal data).
    pub home: Option<Point>,
    /// Where they are usually on duty.
    pub base: Option<Point>,
    /// `active` (default), `unavailable`, `deployed` or `inactive`.
    pub status: Option<String>,
}

/// Changes to a member; absent fields are left alone, `null` clears an optional field. A member editing their
/// own record may change only their contact details, locations, skills, credentials and status.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// The version being changed (or send an `If-Match` header).
    pub version: Option<i64>,
    /// Move to another jurisdiction.
    pub jurisdiction_id: Option<i64>,
    /// New organization; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub organization_id: Option<Option<i64>>,
    /// New name.
    pub name: Option<String>,
    /// New phone; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// New e-mail; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// New roles (replace the list).
    pub roles: Option<Vec<String>>,
    /// New skills (replace the list).
    pub skills: Option<Vec<String>>,
    /// New credentials (replace the list).
    pub credentials: Option<Vec<CredentialInput>>,
    /// New home; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Point>)]
    pub home: Option<Option<Point>>,
    /// New base; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Point>)]
    pub base: Option<Option<Point>>,
    /// New status.
    pub status: Option<String>,
}

/// A credential on the wire, with its state today.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    /// What it is.
    pub kind: String,
    /// Certificate number (masked unless revealed).
    pub number: Option<String>,
    /// Issuer.
    pub issuer: Option<String>,
    /// Last valid day.
    pub expires_on: Option<String>,
    /// `valid`, `expiring_soon` (within 30 days) or `expired`, today in the member's time zone.
    pub state: String,
}

/// A member on the wire. Personal fields are masked unless the record was revealed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// Id.
    pub id: i64,
    /// Jurisdiction.
    pub jurisdiction_id: i64,
    /// Organization.
    pub organization_id: Option<i64>,
    /// Name.
    pub name: String,
    /// Phone (masked unless revealed).
    pub phone: Option<String>,
    /// E-mail (masked unless revealed).
    pub email: Option<String>,
    /// Role codes.
    pub roles: Vec<String>,
    /// Skill codes.
    pub skills: Vec<String>,
    /// Credentials.
    pub credentials: Vec<CredentialView>,
    /// Home (to about 1 km unless revealed).
    pub home: Option<Point>,
    /// Duty base.
    pub base: Option<Point>,
    /// Status code.
    pub status: String,
    /// Status, in the caller's language.
    pub status_label: String,
    /// `masked` or `revealed`.
    pub personal_data: String,
    /// Version.
    pub version: i64,
    /// Created (RFC 3339 UTC).
    pub created_at: String,
    /// Last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// List filters for members.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only members with this role.
    pub role: Option<String>,
    /// Only members with this skill.
    pub skill: Option<String>,
    /// Only members of this organization.
    pub organization_id: Option<i64>,
    /// Only members with a credential expiring on or before this day (`YYYY-MM-DD`).
    pub credential_expires_before: Option<String>,
}

/// The sortable fields of the member list.
const SORTABLE: &[&str] = &["name", "status", "next_credential_expiry", "updated_at", "created_at"];

fn resource(path: &JurisdictionPath, organization: Option<i64>, member: i64, classification: Classification) -> Resource<'_> {
    Resource::new(ResourceKind::Member, classification)
        .in_jurisdiction(path)
        .owned_by(organization.map(OrganizationId))
        .about_member(MemberId(member))
}

fn view(app: &Registry, ctx: &Context, row: MemberRow, revealed: bool) -> MemberView {
    let today = local_date(app.kernel.now_ms(), &app.kernel.config().default_timezone);
    let f = row.fields;
    let credentials = f
        .credentials
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let text = |key: &str| item.get(key).and_then(|v| v.as_str()).map(str::to_string);
                    let expires_on = text("expires_on");
                    let state = expires_on
                        .as_deref()
                        .and_then(|day| day.parse::<jiff::civil::Date>().ok())
                        .map(|last_day| CredentialState::on(Some(last_day), today))
                        .unwrap_or(CredentialState::Valid);
                    CredentialView {
                        kind: text("kind").unwrap_or_default(),
                        number: text("number").map(|number| if revealed { number } else { "***".to_string() }),
                        issuer: text("issuer"),
                        expires_on,
                        state: state.code().to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let status_label =
        MemberStatus::parse("status", &f.status).map(|s| s.label(ctx.locale).to_string()).unwrap_or_else(|_| f.status.clone());
    MemberView {
        id: row.id,
        jurisdiction_id: f.jurisdiction_id,
        organization_id: f.organization_id,
        name: f.name,
        phone: f.phone.map(|phone| if revealed { phone } else { masking::phone(&phone) }),
        email: f.email.map(|email| if revealed { email } else { masking::email(&email) }),
        roles: f.roles,
        skills: f.skills,
        credentials,
        home: f.home.map(|(lon, lat)| {
            if revealed { Point { lon, lat } } else { Point { lon: masking::coordinate(lon), lat: masking::coordinate(lat) } }
        }),
        base: f.base.map(|(lon, lat)| Point { lon, lat }),
        status: f.status,
        status_label,
        personal_data: if revealed { "revealed" } else { "masked" }.to_string(),
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

/// Parsed list fields of a member.
struct Lists {
    roles: Vec<String>,
    skills: Vec<String>,
    credentials: serde_json::Value,
    next_expiry: Option<String>,
}

fn parse_roles(roles: &[String]) -> Result<Vec<String>, AppError> {
    let mut parsed = Vec::new();
    for (index, role) in roles.iter().enumerate() {
        let code = MemberRole::parse(&format!("roles[{index}]"), role)?.code().to_string();
        if !parsed.contains(&code) {
            parsed.push(code);
        }
    }
    Ok(parsed)
}

fn parse_skills(skills: &[String]) -> Result<Vec<String>, AppError> {
    let mut parsed = Vec::new();
    for (index, skill) in skills.iter().enumerate() {
        let code = Skill::parse(&format!("skills[{index}]"), skill)?.as_str().to_string();
        if !parsed.contains(&code) {
            parsed.push(code);
        }
    }
    Ok(parsed)
}

fn parse_credentials(credentials: &[CredentialInput]) -> Result<(serde_json::Value, Option<String>), AppError> {
    let mut items = Vec::new();
    let mut next_expiry: Option<jiff::civil::Date> = None;
    for (index, input) in credentials.iter().enumerate() {
        let credential = Credential::parse(
            &format!("credentials[{index}]"),
            &input.kind,
            input.number.as_deref(),
            input.issuer.as_deref(),
            input.expires_on.as_deref(),
        )?;
        if let Some(day) = credential.expires_on {
            next_expiry = Some(next_expiry.map_or(day, |current| current.min(day)));
        }
        items.push(serde_json::json!({
            "kind": credential.kind.as_str(),
            "number": credential.number.as_ref().map(Name::as_str),
            "issuer": credential.issuer.as_ref().map(Name::as_str),
            "expires_on": credential.expires_on.map(|day| day.to_string()),
        }));
    }
    Ok((serde_json::Value::Array(items), next_expiry.map(|day| day.to_string())))
}

fn parse_status(status: Option<&str>) -> Result<String, AppError> {
    Ok(MemberStatus::parse("status", status.unwrap_or("active"))?.code().to_string())
}

impl Registry {
    async fn check_organization_exists(&self, field: &str, organization_id: Option<i64>) -> Result<(), AppError> {
        if let Some(id) = organization_id {
            let mut reader = self.kernel.store().reader().await?;
            if repo::get_organization(&mut reader.conn(), id).await?.is_none() {
                return Err(domain::Invalid::new(field, domain::InvalidReason::NotFound).into());
            }
        }
        Ok(())
    }

    /// Registers a member.
    pub async fn create_member(&self, ctx: &Context, input: NewMember) -> Result<MemberView, AppError> {
        let name = Name::parse("name", &input.name)?.into_string();
        let phone = parse_phone("phone", input.phone.as_deref())?;
        let email = parse_email("email", input.email.as_deref())?;
        let (credentials, next_expiry) = parse_credentials(&input.credentials)?;
        let lists = Lists { roles: parse_roles(&input.roles)?, skills: parse_skills(&input.skills)?, credentials, next_expiry };
        let home = Point::parse("home", input.home)?;
        let base = Point::parse("base", input.base)?;
        let status = parse_status(input.status.as_deref())?;
        let (path, _) = self.jurisdiction_path("jurisdiction_id", input.jurisdiction_id).await?;
        self.check_organization_exists("organization_id", input.organization_id).await?;
        let probe = Resource::new(ResourceKind::Member, Classification::Internal)
            .in_jurisdiction(&path)
            .owned_by(input.organization_id.map(OrganizationId));
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &probe) {
            return Err(self.kernel.refuse(ctx, "member.create", "member", None, reason).await);
        }
        let fields = MemberFields {
            jurisdiction_id: input.jurisdiction_id,
            organization_id: input.organization_id,
            name,
            phone,
            email,
            roles: lists.roles,
            skills: lists.skills,
            credentials: lists.credentials,
            next_credential_expiry: lists.next_expiry,
            home,
            base,
            status,
        };
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_member(c, &fields, &path, app.kernel.now_ms()).await?;
                    let payload = serde_json::json!({ "id": row.id, "version": row.version });
                    store::events::append(
                        c,
                        &app.kernel.event(
                            &ctx2,
                            "member.created",
                            "member",
                            row.id,
                            Some(&row.path),
                            row.fields.organization_id,
                            Classification::Internal,
                            payload,
                        ),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "member.create", "member", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(self, ctx, row, false))
    }

    /// One member. With `reveal_purpose`, personal data is shown unmasked if the caller is cleared for it; the
    /// purpose is recorded in the audit log.
    pub async fn get_member(&self, ctx: &Context, id: i64, reveal_purpose: Option<&str>) -> Result<MemberView, AppError> {
        let row = {
            let mut reader = self.kernel.store().reader().await?;
            repo::get_member(&mut reader.conn(), id).await?
        };
        let Some(row) = row else {
            // Unknown ids are refused like hidden ones for callers who could not see the record anyway.
            return Err(AppError::NotFound { kind: ResourceKind::Member });
        };
        let internal = resource(&row.path, row.fields.organization_id, row.id, Classification::Internal);
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &internal) {
            return Err(self.kernel.refuse(ctx, "member.read", "member", Some(id.to_string()), reason).await);
        }
        let Some(purpose) = reveal_purpose else { return Ok(view(self, ctx, row, false)) };
        let purpose = purpose.trim();
        if purpose.is_empty() {
            return Err(domain::Invalid::new("purpose", domain::InvalidReason::Required).into());
        }
        let purpose = Name::parse("purpose", purpose)?.into_string();
        let confidential = internal.clone().classified(Classification::Confidential);
        let mut record = self.kernel.audit(ctx, "member.reveal", "member", Some(id.to_string()));
        record.purpose = purpose;
        record.details = serde_json::json!({ "fields": ["phone", "email", "home", "credentials.number"] });
        let decision = decide(ctx, Action::Read, &confidential);
        if let Decision::Deny(reason) = decision {
            let record = refusal(record, reason);
            self.kernel.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
            return Err(AppError::Forbidden { reason });
        }
        self.kernel.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
        Ok(view(self, ctx, row, true))
    }

    /// Lists members visible to the caller, personal data masked.
    pub async fn list_members(&self, ctx: &Context, params: &ListParams, filter: &MemberFilter) -> Result<Page<MemberView>, AppError> {
        if !ctx.is_system() && !ctx.subject.is_authenticated() {
            return Err(self.kernel.refuse(ctx, "member.list", "member", None, DenyReason::SignInRequired).await);
        }
        let visible = if ctx.is_system() {
            store::list::Visibility::Everything
        } else {
            visibility(domain::policy::read_filter(&ctx.subject, ResourceKind::Member, Classification::Internal))
        };
        let mut query = ListQuery::new(visible, params.limit()?);
        query.offset = params.offset()?;
        query.search = params.q.clone();
        query.sort = params.sort(SORTABLE)?;
        if let Some(id) = params.jurisdiction_id {
            let (path, _) = self.jurisdiction_path("jurisdiction_id", id).await?;
            if !overlaps(&query.visibility, &path) {
                return Err(self.kernel.refuse(ctx, "member.list", "jurisdiction", Some(id.to_string()), DenyReason::OutOfScope).await);
            }
            query.within = Some(path);
        }
        if let Some(status) = &filter.status {
            query.equals.push(("status", MemberStatus::parse("status", status)?.code().into()));
        }
        if let Some(organization_id) = filter.organization_id {
            query.equals.push(("organization_id", organization_id.into()));
        }
        if let Some(role) = &filter.role {
            let role = MemberRole::parse("role", role)?;
            query.conditions.push(("roles LIKE {}", vec![format!("%\"{}\"%", role.code()).into()]));
        }
        if let Some(skill) = &filter.skill {
            let skill = Skill::parse("skill", skill)?;
            query.conditions.push(("skills LIKE {}", vec![format!("%\"{}\"%", skill.as_str()).into()]));
        }
        if let Some(day) = &filter.credential_expires_before {
            let day = domain::text::parse_date("credential_expires_before", day)?;
            query.conditions.push(("next_credential_expiry <= {}", vec![day.to_string().into()]));
        }
        let mut reader = self.kernel.store().reader().await?;
        let page = repo::list_members(&mut reader.conn(), &query).await?;
        Ok(Page {
            items: page.items.into_iter().map(|row| view(self, ctx, row, false)).collect(),
            total: page.total,
            limit: query.limit,
            offset: query.offset,
        })
    }

    /// Changes a member, if it is still at the version the caller read.
    pub async fn update_member(&self, ctx: &Context, id: i64, patch: MemberPatch) -> Result<MemberView, AppError> {
        let version = patch.version.ok_or(AppError::VersionRequired)?;
        let name = patch.name.as_deref().map(|name| Name::parse("name", name)).transpose()?;
        let phone = patch.phone.as_ref().map(|v| parse_phone("phone", v.as_deref())).transpose()?;
        let email = patch.email.as_ref().map(|v| parse_email("email", v.as_deref())).transpose()?;
        let roles = patch.roles.as_deref().map(parse_roles).transpose()?;
        let skills = patch.skills.as_deref().map(parse_skills).transpose()?;
        let credentials = patch.credentials.as_deref().map(parse_credentials).transpose()?;
        let home = patch.home.map(|point| Point::parse("home", point)).transpose()?;
        let base = patch.base.map(|point| Point::parse("base", point)).transpose()?;
        let status = patch.status.as_deref().map(|status| parse_status(Some(status))).transpose()?;
        let new_place = match patch.jurisdiction_id {
            Some(jurisdiction_id) => Some((jurisdiction_id, self.jurisdiction_path("jurisdiction_id", jurisdiction_id).await?.0)),
            None => None,
        };
        if let Some(organization_id) = patch.organization_id {
            self.check_organization_exists("organization_id", organization_id).await?;
        }
        let touches_managed_fields =
            patch.jurisdiction_id.is_some() || patch.organization_id.is_some() || patch.name.is_some() || patch.roles.is_some();
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_member(c, id).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Member });
                    };
                    let record = app.kernel.audit(&ctx2, "member.update", "member", Some(id.to_string()));
                    let mut f = current.fields.clone();
                    if let Some(organization_id) = patch.organization_id {
                        f.organization_id = organization_id;
                    }
                    // Managing the record (any field) is decided without self-service; a person editing their own
                    // record gets self-service, limited to their own details.
                    let managed = |path: &JurisdictionPath, organization: Option<i64>| {
                        let probe = Resource::new(ResourceKind::Member, Classification::Internal)
                            .in_jurisdiction(path)
                            .owned_by(organization.map(OrganizationId));
                        decide(&ctx2, Action::Update, &probe)
                    };
                    let mut decision = managed(&current.path, current.fields.organization_id);
                    if decision.is_allowed() && (new_place.is_some() || f.organization_id != current.fields.organization_id) {
                        let target = new_place.as_ref().map(|(_, path)| path).unwrap_or(&current.path);
                        decision = managed(target, f.organization_id);
                    }
                    if !decision.is_allowed() && !touches_managed_fields {
                        let own = decide(
                            &ctx2,
                            Action::Update,
                            &resource(&current.path, current.fields.organization_id, id, Classification::Internal),
                        );
                        if own.is_allowed() {
                            decision = own;
                        }
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
                    if let Some(name) = name {
                        f.name = name.into_string();
                    }
                    if let Some(phone) = phone {
                        f.phone = phone;
                    }
                    if let Some(email) = email {
                        f.email = email;
                    }
                    if let Some(roles) = roles {
                        f.roles = roles;
                    }
                    if let Some(skills) = skills {
                        f.skills = skills;
                    }
                    if let Some((credentials, next_expiry)) = credentials {
                        f.credentials = credentials;
                        f.next_credential_expiry = next_expiry;
                    }
                    if let Some(home) = home {
                        f.home = home;
                    }
                    if let Some(base) = base {
                        f.base = base;
                    }
                    if let Some(status) = status {
                        f.status = status;
                    }
                    let changed = changed_fields(&current.fields, &f);
                    match repo::update_member(c, id, version, &f, &path, app.kernel.now_ms()).await? {
                        Versioned::Done(new_version) => {
                            // Events say which fields changed, never their values: personal data stays out of the stream.
                            let payload = serde_json::json!({ "id": id, "version": new_version, "changed": changed, "status": f.status });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx2,
                                    "member.updated",
                                    "member",
                                    id,
                                    Some(&path),
                                    f.organization_id,
                                    Classification::Internal,
                                    payload,
                                ),
                            )
                            .await?;
                            let mut record = record;
                            record.details = serde_json::json!({ "changed": changed });
                            store::audit::append(c, &record).await?;
                            Ok(Outcome::Done(repo::get_member(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Member })?))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Member }),
                    }
                })
            })
            .await?;
        Ok(view(self, ctx, row, false))
    }

    /// Deletes a member nothing refers to any more.
    pub async fn delete_member(&self, ctx: &Context, id: i64, version: Option<i64>) -> Result<(), AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let (app, ctx) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_member(c, id).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Member });
                    };
                    let record = app.kernel.audit(&ctx, "member.delete", "member", Some(id.to_string()));
                    if let Decision::Deny(reason) =
                        decide(&ctx, Action::Delete, &resource(&current.path, current.fields.organization_id, id, Classification::Internal))
                    {
                        store::audit::append(c, &refusal(record, reason)).await?;
                        return Ok(Outcome::Refused(AppError::Forbidden { reason }));
                    }
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    let dependents = repo::member_dependents(c, id).await?;
                    if !dependents.is_empty() {
                        return Err(AppError::HasDependents { what: dependents });
                    }
                    match repo::delete_member(c, id, version).await? {
                        Versioned::Done(_) => {
                            let payload = serde_json::json!({ "id": id });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx,
                                    "member.deleted",
                                    "member",
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
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Member }),
                    }
                })
            })
            .await
    }
}

fn changed_fields(before: &MemberFields, after: &MemberFields) -> Vec<&'static str> {
    let pairs: [(&'static str, bool); 12] = [
        ("jurisdiction_id", before.jurisdiction_id != after.jurisdiction_id),
        ("organization_id", before.organization_id != after.organization_id),
        ("name", before.name != after.name),
        ("phone", before.phone != after.phone),
        ("email", before.email != after.email),
        ("roles", before.roles != after.roles),
        ("skills", before.skills != after.skills),
        ("credentials", before.credentials != after.credentials),
        ("home", before.home != after.home),
        ("base", before.base != after.base),
        ("status", before.status != after.status),
        ("next_credential_expiry", before.next_credential_expiry != after.next_credential_expiry),
    ];
    pairs.into_iter().filter(|(_, differs)| *differs).map(|(name, _)| name).collect()
}
