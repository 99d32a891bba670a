//! Accounts, role grants, passwords and API tokens. Administrators manage accounts; everyone manages their own
//! password and tokens. A new token is shown once and stored only as a hash.

use domain::Classification;
use domain::ids::AccountId;
use domain::policy::{AccountRole, Action, Decision, Resource, ResourceKind};
use domain::text::{Name, Username};
use domain::{Invalid, InvalidReason, Locale};
use store::accounts::{self as repo, AccountFields, AccountRow, ApiTokenRow, GrantRow};
use store::list::{ListQuery, Visibility};
use store::registry::Versioned;

use crate::access::Access;
use crate::access::auth::{check_new_password, generate_password, new_api_token};
use crate::context::Credential;
use crate::time::rfc3339;
use crate::util::{ListParams, Outcome, Page, decide, refusal, sha256_hex};
use crate::{AppError, Context};

/// A role to grant.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    /// `admin`, `duty_officer`, `community_cadre`, `grid_member`, `department_liaison`, `volunteer`, `enterprise`, `auditor` or `hotline_operator`.
    pub role: String,
    /// The jurisdiction the role covers (required for duty officers, cadres and grid members).
    pub jurisdiction_id: Option<i64>,
    /// The organization the role acts for (required for liaisons, volunteers and enterprises).
    pub organization_id: Option<i64>,
}

/// A new account.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Login name: 3–64 of a-z 0-9 . _ -, starting with a letter.
    pub username: String,
    /// Name shown in the console.
    pub display_name: Option<String>,
    /// Initial password (at least 10 characters); generated and returned once if absent.
    pub password: Option<String>,
    /// `zh-CN` or `en`.
    pub locale: Option<String>,
    /// The member record of the person.
    pub member_id: Option<i64>,
    /// Roles to grant.
    #[serde(default)]
    pub grants: Vec<GrantInput>,
}

/// Changes to an account.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// The version being changed (or send an `If-Match` header).
    pub version: Option<i64>,
    /// New display name.
    pub display_name: Option<String>,
    /// New locale.
    pub locale: Option<String>,
    /// Disable or re-enable sign-in (administrators only).
    pub disabled: Option<bool>,
    /// Link to a member record; `null` unlinks (administrators only).
    #[serde(default, deserialize_with = "crate::registry::double_option")]
    #[schema(value_type = Option<i64>)]
    pub member_id: Option<Option<i64>>,
}

/// A password change.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password (required when changing one's own).
    pub current_password: Option<String>,
    /// The new password (at least 10 characters).
    pub new_password: String,
}

/// A role grant on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GrantView {
    /// Id.
    pub id: i64,
    /// Role code.
    pub role: String,
    /// Role, in the caller's language.
    pub role_label: String,
    /// Scope jurisdiction.
    pub jurisdiction_id: Option<i64>,
    /// Organization.
    pub organization_id: Option<i64>,
}

/// An account on the wire (never its password hash).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Locale.
    pub locale: String,
    /// Linked member.
    pub member_id: Option<i64>,
    /// Whether sign-in is refused.
    pub disabled: bool,
    /// Roles.
    pub grants: Vec<GrantView>,
    /// Version.
    pub version: i64,
    /// Created (RFC 3339 UTC).
    pub created_at: String,
    /// Last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// A created account, with its generated password if one was generated (shown once).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedAccount {
    /// The account.
    pub account: AccountView,
    /// The generated password, if no password was given.
    pub generated_password: Option<String>,
}

/// A new API token.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    /// What the token is for, such as `water gauges of pump station 3`.
    pub name: String,
    /// Days until it expires (1–3650); never if absent.
    pub expires_in_days: Option<i64>,
    /// The account it acts as (administrators only; default: yourself).
    pub account_id: Option<i64>,
}

/// An API token on the wire (never the token itself, except once at creation).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ApiTokenView {
    /// Id.
    pub id: i64,
    /// The account it acts as.
    pub account_id: i64,
    /// Its name.
    pub name: String,
    /// Its first characters, to recognise it.
    pub prefix: String,
    /// Created (RFC 3339 UTC).
    pub created_at: String,
    /// Expiry (RFC 3339 UTC).
    pub expires_at: Option<String>,
    /// Revocation (RFC 3339 UTC).
    pub revoked_at: Option<String>,
}

/// A created token: the secret, shown once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedApiToken {
    /// The token: send it as `Authorization: Bearer <token>`. It is not shown again.
    pub token: String,
    /// The token's record.
    pub details: ApiTokenView,
}

fn grant_view(grant: GrantRow, locale: Locale) -> GrantView {
    GrantView {
        role_label: AccountRole::parse("role", &grant.role)
            .map(|role| role.label(locale).to_string())
            .unwrap_or_else(|_| grant.role.clone()),
        id: grant.id,
        role: grant.role,
        jurisdiction_id: grant.jurisdiction_id,
        organization_id: grant.organization_id,
    }
}

fn account_view(row: AccountRow, grants: Vec<GrantRow>, locale: Locale) -> AccountView {
    AccountView {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        locale: row.locale,
        member_id: row.member_id,
        disabled: row.disabled,
        grants: grants.into_iter().map(|grant| grant_view(grant, locale)).collect(),
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

fn token_view(row: ApiTokenRow) -> ApiTokenView {
    ApiTokenView {
        id: row.id,
        account_id: row.account_id,
        name: row.name,
        prefix: row.prefix,
        created_at: rfc3339(row.created_at),
        expires_at: row.expires_at.map(rfc3339),
        revoked_at: row.revoked_at.map(rfc3339),
    }
}

fn parse_locale(value: Option<&str>, default: Locale) -> Result<String, AppError> {
    match value {
        None => Ok(default.tag().to_string()),
        Some(tag) => match Locale::from_tag(tag) {
            Some(locale) => Ok(locale.tag().to_string()),
            None => Err(Invalid::new("locale", InvalidReason::UnknownValue { allowed: vec!["zh-CN", "en"] }).into()),
        },
    }
}

fn account_resource(account: i64) -> Resource<'static> {
    Resource::new(ResourceKind::Account, Classification::Internal).about_account(AccountId(account))
}

/// A grant checked against its role's needs.
struct CheckedGrant {
    role: AccountRole,
    jurisdiction_id: Option<i64>,
    organization_id: Option<i64>,
}

impl Access {
    async fn check_grant(&self, field: &str, grant: &GrantInput) -> Result<CheckedGrant, AppError> {
        let role = AccountRole::parse(&format!("{field}.role"), &grant.role)?;
        let needs_jurisdiction = matches!(role, AccountRole::DutyOfficer | AccountRole::CommunityCadre | AccountRole::GridMember);
        let needs_organization = matches!(role, AccountRole::DepartmentLiaison | AccountRole::Volunteer | AccountRole::Enterprise);
        if needs_jurisdiction && grant.jurisdiction_id.is_none() {
            return Err(Invalid::new(format!("{field}.jurisdiction_id"), InvalidReason::Required).into());
        }
        if needs_organization && grant.organization_id.is_none() {
            return Err(Invalid::new(format!("{field}.organization_id"), InvalidReason::Required).into());
        }
        let mut reader = self.kernel.store().reader().await?;
        if let Some(id) = grant.jurisdiction_id {
            if store::registry::get_jurisdiction(&mut reader.conn(), id, false).await?.is_none() {
                return Err(Invalid::new(format!("{field}.jurisdiction_id"), InvalidReason::NotFound).into());
            }
        }
        if let Some(id) = grant.organization_id {
            if store::registry::get_organization(&mut reader.conn(), id).await?.is_none() {
                return Err(Invalid::new(format!("{field}.organization_id"), InvalidReason::NotFound).into());
            }
        }
        Ok(CheckedGrant { role, jurisdiction_id: grant.jurisdiction_id, organization_id: grant.organization_id })
    }

    async fn require(
        &self,
        ctx: &Context,
        action: Action,
        resource: &Resource<'_>,
        audit_action: &str,
        object_id: Option<String>,
    ) -> Result<(), AppError> {
        if let Decision::Deny(reason) = decide(ctx, action, resource) {
            let object_type = resource.kind.code();
            return Err(self.kernel.refuse(ctx, audit_action, object_type, object_id, reason).await);
        }
        Ok(())
    }

    /// Creates an account with its grants (administrators).
    pub async fn create_account(&self, ctx: &Context, input: NewAccount) -> Result<CreatedAccount, AppError> {
        self.require(ctx, Action::Create, &Resource::new(ResourceKind::Account, Classification::Internal), "account.create", None).await?;
        let username = Username::parse("username", &input.username)?;
        let display_name = match input.display_name.as_deref() {
            Some(name) => Name::parse("display_name", name)?.into_string(),
            None => username.as_str().to_string(),
        };
        let (password, generated) = match &input.password {
            Some(password) => (check_new_password(username.as_str(), password)?, None),
            None => {
                let password = generate_password()?;
                let text = password.expose().to_string();
                (password, Some(text))
            }
        };
        let locale = parse_locale(input.locale.as_deref(), self.kernel.config().default_locale)?;
        let mut grants = Vec::new();
        for (index, grant) in input.grants.iter().enumerate() {
            grants.push(self.check_grant(&format!("grants[{index}]"), grant).await?);
        }
        let password_hash = self.hash_password(&password).await?;
        let account =
            repo::NewAccount { username: username.as_str().to_string(), display_name, password_hash, locale, member_id: input.member_id };
        let (app, ctx2) = (self.clone(), ctx.clone());
        let (row, grant_rows) = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let row = repo::insert_account(c, &account, now).await?;
                    for grant in &grants {
                        repo::insert_grant(c, row.id, grant.role.code(), grant.jurisdiction_id, grant.organization_id, now).await?;
                    }
                    let grant_rows = repo::grants_of(c, row.id).await?;
                    let roles: Vec<&str> = grants.iter().map(|grant| grant.role.code()).collect();
                    let payload = serde_json::json!({ "id": row.id, "username": row.username, "roles": roles });
                    store::events::append(
                        c,
                        &app.kernel.event(
                            &ctx2,
                            "account.created",
                            "account",
                            row.id,
                            None,
                            None,
                            Classification::Internal,
                            payload.clone(),
                        ),
                    )
                    .await?;
                    let mut record = app.kernel.audit(&ctx2, "account.create", "account", Some(row.id.to_string()));
                    record.details = payload;
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done((row, grant_rows)))
                })
            })
            .await?;
        Ok(CreatedAccount { account: account_view(row, grant_rows, ctx.locale), generated_password: generated })
    }

    /// One account (administrators, auditors, or the account itself).
    pub async fn get_account(&self, ctx: &Context, id: i64) -> Result<AccountView, AppError> {
        self.require(ctx, Action::Read, &account_resource(id), "account.read", Some(id.to_string())).await?;
        let mut reader = self.kernel.store().reader().await?;
        let row = repo::get_account(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Account })?;
        let grants = repo::grants_of(&mut reader.conn(), id).await?;
        Ok(account_view(row, grants, ctx.locale))
    }

    /// The caller's own account.
    pub async fn me(&self, ctx: &Context) -> Result<AccountView, AppError> {
        let id = ctx.account_id().ok_or(AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired })?;
        self.get_account(ctx, id).await
    }

    /// Lists accounts (administrators and auditors).
    pub async fn list_accounts(&self, ctx: &Context, params: &ListParams) -> Result<Page<AccountView>, AppError> {
        self.require(ctx, Action::Read, &Resource::new(ResourceKind::Account, Classification::Internal), "account.list", None).await?;
        let mut query = ListQuery::new(Visibility::Everything, params.limit()?);
        query.offset = params.offset()?;
        query.search = params.q.clone();
        query.sort = params.sort(&["username", "display_name", "created_at", "updated_at"])?;
        let mut reader = self.kernel.store().reader().await?;
        let page = repo::list_accounts(&mut reader.conn(), &query).await?;
        let mut items = Vec::new();
        for row in page.items {
            let grants = repo::grants_of(&mut reader.conn(), row.id).await?;
            items.push(account_view(row, grants, ctx.locale));
        }
        Ok(Page { items, total: page.total, limit: query.limit, offset: query.offset })
    }

    /// Changes an account. The account itself may change its display name and locale; administrators all fields.
    pub async fn update_account(&self, ctx: &Context, id: i64, patch: AccountPatch) -> Result<AccountView, AppError> {
        let version = patch.version.ok_or(AppError::VersionRequired)?;
        let administrative = patch.disabled.is_some() || patch.member_id.is_some();
        let admin_probe = Resource::new(ResourceKind::Account, Classification::Internal);
        let decision =
            if administrative { decide(ctx, Action::Update, &admin_probe) } else { decide(ctx, Action::Update, &account_resource(id)) };
        if let Decision::Deny(reason) = decision {
            return Err(self.kernel.refuse(ctx, "account.update", "account", Some(id.to_string()), reason).await);
        }
        let display_name = patch.display_name.as_deref().map(|name| Name::parse("display_name", name)).transpose()?;
        let locale = patch.locale.as_deref().map(|tag| parse_locale(Some(tag), Locale::En)).transpose()?;
        let (app, ctx2) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let Some(current) = repo::get_account(c, id).await? else {
                        return Err(AppError::NotFound { kind: ResourceKind::Account });
                    };
                    if current.version != version {
                        return Err(AppError::Conflict { current: current.version });
                    }
                    let fields = AccountFields {
                        display_name: display_name.map(Name::into_string).unwrap_or(current.display_name.clone()),
                        locale: locale.unwrap_or(current.locale.clone()),
                        member_id: patch.member_id.unwrap_or(current.member_id),
                        disabled: patch.disabled.unwrap_or(current.disabled),
                    };
                    match repo::update_account(c, id, version, &fields, app.kernel.now_ms()).await? {
                        Versioned::Done(new_version) => {
                            if fields.disabled && !current.disabled {
                                // Disabling signs the account out everywhere at once.
                                c.execute("DELETE FROM sessions WHERE account_id = $1", store::params![id]).await?;
                            }
                            let payload = serde_json::json!({ "id": id, "version": new_version, "disabled": fields.disabled });
                            store::events::append(
                                c,
                                &app.kernel.event(
                                    &ctx2,
                                    "account.updated",
                                    "account",
                                    id,
                                    None,
                                    None,
                                    Classification::Internal,
                                    payload.clone(),
                                ),
                            )
                            .await?;
                            let mut record = app.kernel.audit(&ctx2, "account.update", "account", Some(id.to_string()));
                            record.details = payload;
                            store::audit::append(c, &record).await?;
                            Ok(Outcome::Done(()))
                        }
                        Versioned::Conflict(current) => Err(AppError::Conflict { current }),
                        Versioned::Missing => Err(AppError::NotFound { kind: ResourceKind::Account }),
                    }
                })
            })
            .await?;
        self.get_account(ctx, id).await
    }

    /// Grants a role (administrators).
    pub async fn add_grant(&self, ctx: &Context, account_id: i64, grant: GrantInput) -> Result<AccountView, AppError> {
        self.require(
            ctx,
            Action::Update,
            &Resource::new(ResourceKind::Account, Classification::Internal),
            "account.grant",
            Some(account_id.to_string()),
        )
        .await?;
        let checked = self.check_grant("grant", &grant).await?;
        let (app, ctx2) = (self.clone(), ctx.clone());
        self.kernel.transact(move |c| {
            Box::pin(async move {
                if repo::get_account(c, account_id).await?.is_none() {
                    return Err(AppError::NotFound { kind: ResourceKind::Account });
                }
                let grant_id = repo::insert_grant(c, account_id, checked.role.code(), checked.jurisdiction_id, checked.organization_id, app.kernel.now_ms()).await?;
                c.execute("UPDATE accounts SET version = version + 1, updated_at = $1 WHERE id = $2", store::params![app.kernel.now_ms(), account_id]).await?;
                let payload = serde_json::json!({ "id": account_id, "grant_id": grant_id, "role": checked.role.code(), "jurisdiction_id": checked.jurisdiction_id, "organization_id": checked.organization_id });
                store::events::append(c, &app.kernel.event(&ctx2, "account.granted", "account", account_id, None, None, Classification::Internal, payload.clone())).await?;
                let mut record = app.kernel.audit(&ctx2, "account.grant", "account", Some(account_id.to_string()));
                record.details = payload;
                store::audit::append(c, &record).await?;
                Ok(Outcome::Done(()))
            })
        })
        .await?;
        self.get_account(ctx, account_id).await
    }

    /// Withdraws a role (administrators).
    pub async fn remove_grant(&self, ctx: &Context, account_id: i64, grant_id: i64) -> Result<AccountView, AppError> {
        self.require(
            ctx,
            Action::Update,
            &Resource::new(ResourceKind::Account, Classification::Internal),
            "account.revoke_grant",
            Some(account_id.to_string()),
        )
        .await?;
        let (app, ctx2) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    if !repo::delete_grant(c, account_id, grant_id).await? {
                        return Err(AppError::NotFound { kind: ResourceKind::Account });
                    }
                    c.execute(
                        "UPDATE accounts SET version = version + 1, updated_at = $1 WHERE id = $2",
                        store::params![app.kernel.now_ms(), account_id],
                    )
                    .await?;
                    let payload = serde_json::json!({ "id": account_id, "grant_id": grant_id });
                    store::events::append(
                        c,
                        &app.kernel.event(
                            &ctx2,
                            "account.grant_revoked",
                            "account",
                            account_id,
                            None,
                            None,
                            Classification::Internal,
                            payload.clone(),
                        ),
                    )
                    .await?;
                    let mut record = app.kernel.audit(&ctx2, "account.revoke_grant", "account", Some(account_id.to_string()));
                    record.details = payload;
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(()))
                })
            })
            .await?;
        self.get_account(ctx, account_id).await
    }

    /// Sets a password: one's own (with the current password) or anyone's (administrators). Ends the
    /// account's sessions.
    pub async fn change_password(&self, ctx: &Context, account_id: i64, change: PasswordChange) -> Result<(), AppError> {
        let own = ctx.account_id() == Some(account_id) && !ctx.is_system();
        let admin = decide(ctx, Action::Update, &Resource::new(ResourceKind::Account, Classification::Internal)).is_allowed();
        if !own && !admin {
            return Err(self
                .kernel
                .refuse(ctx, "account.password", "account", Some(account_id.to_string()), domain::policy::DenyReason::NotPermitted)
                .await);
        }
        let account = {
            let mut reader = self.kernel.store().reader().await?;
            repo::get_account(&mut reader.conn(), account_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Account })?
        };
        if own && !admin {
            let current = change.current_password.as_deref().ok_or_else(|| Invalid::new("current_password", InvalidReason::Required))?;
            let username = Username::parse("username", &account.username)?;
            if !self.check_password(&username, current).await? {
                return Err(AppError::InvalidCredentials);
            }
        }
        let password = check_new_password(&account.username, &change.new_password).map_err(|error| match error {
            AppError::Invalid(invalid) => AppError::Invalid(Invalid { field: "new_password".into(), ..invalid }),
            other => other,
        })?;
        let hash = self.hash_password(&password).await?;
        let (app, ctx2) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    repo::set_password(c, account_id, &hash, app.kernel.now_ms()).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "account.password", "account", Some(account_id.to_string()))).await?;
                    Ok(Outcome::Done(()))
                })
            })
            .await
    }

    /// Creates an API token; the secret is in the result and nowhere else.
    pub async fn create_api_token(&self, ctx: &Context, input: NewApiToken) -> Result<CreatedApiToken, AppError> {
        let account_id = match (input.account_id, ctx.account_id()) {
            (Some(id), _) => id,
            (None, Some(id)) => id,
            (None, None) => return Err(Invalid::new("account_id", InvalidReason::Required).into()),
        };
        let resource = Resource::new(ResourceKind::ApiToken, Classification::Internal).about_account(AccountId(account_id));
        self.require(ctx, Action::Create, &resource, "api_token.create", None).await?;
        let name = Name::parse("name", &input.name)?.into_string();
        let expires_at = match input.expires_in_days {
            None => None,
            Some(days) if (1..=3650).contains(&days) => Some(self.kernel.now_ms() + days * 86_400_000),
            Some(_) => {
                return Err(Invalid::new("expires_in_days", InvalidReason::OutOfRange { min: "1".into(), max: "3650".into() }).into());
            }
        };
        {
            let mut reader = self.kernel.store().reader().await?;
            if repo::get_account(&mut reader.conn(), account_id).await?.is_none() {
                return Err(Invalid::new("account_id", InvalidReason::NotFound).into());
            }
        }
        let token = new_api_token()?;
        let token_hash = sha256_hex(&token);
        let prefix: String = token.chars().take(10).collect();
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_api_token(c, account_id, &name, &token_hash, &prefix, app.kernel.now_ms(), expires_at).await?;
                    let mut record = app.kernel.audit(&ctx2, "api_token.create", "api_token", Some(row.id.to_string()));
                    record.details = serde_json::json!({ "account_id": account_id, "name": row.name, "prefix": row.prefix });
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(CreatedApiToken { token, details: token_view(row) })
    }

    /// The API tokens of an account (its own, or any for administrators).
    pub async fn list_api_tokens(&self, ctx: &Context, account_id: Option<i64>) -> Result<Vec<ApiTokenView>, AppError> {
        let account_id = account_id.or(ctx.account_id()).ok_or_else(|| Invalid::new("account_id", InvalidReason::Required))?;
        let resource = Resource::new(ResourceKind::ApiToken, Classification::Internal).about_account(AccountId(account_id));
        self.require(ctx, Action::Read, &resource, "api_token.list", None).await?;
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::api_tokens_of(&mut reader.conn(), account_id).await?.into_iter().map(token_view).collect())
    }

    /// Revokes an API token at once: the next request with it is refused.
    pub async fn revoke_api_token(&self, ctx: &Context, token_id: i64) -> Result<ApiTokenView, AppError> {
        let row = {
            let mut reader = self.kernel.store().reader().await?;
            repo::get_api_token(&mut reader.conn(), token_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::ApiToken })?
        };
        let resource = Resource::new(ResourceKind::ApiToken, Classification::Internal).about_account(AccountId(row.account_id));
        if let Decision::Deny(reason) = decide(ctx, Action::Delete, &resource) {
            return Err(self.kernel.refuse(ctx, "api_token.revoke", "api_token", Some(token_id.to_string()), reason).await);
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    repo::revoke_api_token(c, token_id, app.kernel.now_ms()).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "api_token.revoke", "api_token", Some(token_id.to_string()))).await?;
                    Ok(Outcome::Done(()))
                })
            })
            .await?;
        let mut reader = self.kernel.store().reader().await?;
        Ok(token_view(repo::get_api_token(&mut reader.conn(), token_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::ApiToken })?))
    }

    /// Creates the first administrator if there is no account at all; returns its username and password.
    pub async fn ensure_first_admin(&self) -> Result<Option<(String, String)>, AppError> {
        {
            let mut reader = self.kernel.store().reader().await?;
            if repo::count_accounts(&mut reader.conn()).await? > 0 {
                return Ok(None);
            }
        }
        let ctx = Context::system("first-start", self.kernel.config().default_locale);
        let created = self
            .create_account(
                &ctx,
                NewAccount {
                    username: "admin".into(),
                    display_name: Some("Administrator".into()),
                    password: None,
                    locale: None,
                    member_id: None,
                    grants: vec![GrantInput { role: "admin".into(), jurisdiction_id: None, organization_id: None }],
                },
            )
            .await?;
        Ok(Some((created.account.username, created.generated_password.unwrap_or_default())))
    }
}

/// Whether a context came from a browser session (for CSRF checks in the server).
pub fn is_session(ctx: &Context) -> bool {
    ctx.credential == Credential::Session
}

#[allow(dead_code)]
fn refusal_record_is_used(record: store::audit::NewAudit) -> store::audit::NewAudit {
    refusal(record, domain::policy::DenyReason::NotPermitted)
}
