//! Identity: passwords (Argon2id), sign-in with throttling, sessions, API tokens, CSRF tokens, and turning a
//! credential into the [`Subject`] the policy reasons about. Secrets are stored only as hashes: a password as
//! its Argon2id PHC string, a session or API token as its SHA-256.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use domain::ids::{AccountId, MemberId, OrganizationId};
use domain::policy::{AccountRole, Grant, Subject};
use domain::registry::JurisdictionPath;
use domain::text::{Password, Username};
use domain::{Invalid, InvalidReason, Locale};
use store::accounts::{self as repo, AccountRow, GrantRow, Throttle};

use crate::context::Credential;
use crate::util::{Outcome, random_hex, sha256_hex};
use crate::{App, AppError, Context};

/// Builds the context of a signed-in account from its row and grants.
fn context_of(
    account: AccountRow,
    grants: Vec<GrantRow>,
    credential: Credential,
    locale: Locale,
    client_address: Option<String>,
) -> Result<Context, AppError> {
    if account.disabled {
        return Err(AppError::AccountDisabled);
    }
    let subject = Subject {
        account: Some(AccountId(account.id)),
        member: account.member_id.map(MemberId),
        grants: grants
            .iter()
            .filter_map(|grant| {
                Some(Grant {
                    role: AccountRole::parse("role", &grant.role).ok()?,
                    scope: grant.jurisdiction_path.as_deref().and_then(JurisdictionPath::parse),
                    organization: grant.organization_id.map(OrganizationId),
                })
            })
            .collect(),
    };
    let actor_label = match &credential {
        Credential::ApiToken(id) => format!("token:{id}/{}", account.username),
        _ => account.username.clone(),
    };
    Ok(Context { subject, actor_label, display_name: Some(account.display_name), credential, locale, client_address })
}

/// The prefix of every API token, so that leaked tokens are easy to recognise in logs and by secret scanners.
pub const TOKEN_PREFIX: &str = "gl_";

impl App {
    fn argon2(&self) -> Result<Argon2<'static>, AppError> {
        let params = Params::new(self.config().argon2_memory_kib, self.config().argon2_iterations, 1, None)
            .map_err(|error| AppError::Internal(format!("argon2 parameters: {error}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes a password with Argon2id on a blocking thread (it takes tens of milliseconds by design).
    pub async fn hash_password(&self, password: &Password) -> Result<String, AppError> {
        let hasher = self.argon2()?;
        let password = password.expose().to_string();
        tokio::task::spawn_blocking(move || {
            let mut salt = [0u8; 16];
            getrandom::fill(&mut salt).map_err(|error| AppError::Internal(format!("no randomness: {error}")))?;
            hasher
                .hash_password_with_salt(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| AppError::Internal(format!("argon2: {error}")))
        })
        .await
        .map_err(|error| AppError::Internal(error.to_string()))?
    }

    /// Checks a password against a stored hash (the hash carries its own parameters).
    async fn verify_password(&self, password: String, hash: String) -> bool {
        tokio::task::spawn_blocking(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok())
            .await
            .unwrap_or(false)
    }

    /// Signs in with a username and password. Refuses while the username or the client address is locked out
    /// after repeated failures; every attempt is audited.
    pub async fn login(&self, ctx: &Context, username: &str, password: &str) -> Result<Session, AppError> {
        let now = self.now_ms();
        let username_text = username.trim().to_ascii_lowercase();
        let user_key = format!("user:{username_text}");
        let address_key = ctx.client_address.as_ref().map(|address| format!("address:{address}"));

        let (user_throttle, address_throttle, account) = {
            let mut reader = self.store().reader().await?;
            let user = repo::throttle(&mut reader.conn(), &user_key).await?;
            let address = match &address_key {
                Some(key) => repo::throttle(&mut reader.conn(), key).await?,
                None => Throttle::default(),
            };
            let account = repo::get_account_by_username(&mut reader.conn(), &username_text).await?;
            (user, address, account)
        };
        let locked_until = user_throttle.locked_until.max(address_throttle.locked_until);
        if locked_until > now {
            let retry_after_seconds = (locked_until - now + 999) / 1000;
            let mut record = self.audit(ctx, "auth.login", "account", account.as_ref().map(|a| a.id.to_string()));
            record.allowed = false;
            record.reason = "rate_limited".into();
            record.details = serde_json::json!({ "username": username_text });
            self.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
            return Err(AppError::RateLimited { retry_after_seconds });
        }

        // Verify even when the account does not exist, so that timing does not reveal which usernames exist.
        let stored_hash = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
        let password_ok = self.verify_password(password.to_string(), stored_hash).await && account.is_some();
        let account = account.filter(|_| password_ok);

        let Some(account) = account else {
            let config = self.config().clone();
            let mut record = self.audit(ctx, "auth.login", "account", None);
            record.allowed = false;
            record.reason = "invalid_credentials".into();
            record.details = serde_json::json!({ "username": username_text });
            self.store()
                .write(move |c| {
                    Box::pin(async move {
                        let window_ms = config.login_lock_seconds * 1000;
                        let mut keys = vec![(user_key, config.login_failures_per_user)];
                        if let Some(key) = address_key {
                            keys.push((key, config.login_failures_per_address));
                        }
                        for (key, limit) in keys {
                            let mut state = repo::throttle(c, &key).await?;
                            if now - state.window_start > window_ms {
                                state = Throttle { failures: 0, window_start: now, locked_until: 0 };
                            }
                            state.failures += 1;
                            if state.failures >= limit {
                                state.locked_until = now + window_ms;
                            }
                            repo::set_throttle(c, &key, state).await?;
                        }
                        store::audit::append(c, &record).await?;
                        Ok::<(), store::StoreError>(())
                    })
                })
                .await?;
            return Err(AppError::InvalidCredentials);
        };
        if account.disabled {
            let record = crate::util::refusal(
                self.audit(ctx, "auth.login", "account", Some(account.id.to_string())),
                domain::policy::DenyReason::NotPermitted,
            );
            self.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
            return Err(AppError::AccountDisabled);
        }

        let token = random_hex(32)?;
        let token_hash = sha256_hex(&token);
        let expires_at = now + self.config().session_ttl_seconds * 1000;
        let account_id = account.id;
        let mut record = self.audit(ctx, "auth.login", "account", Some(account_id.to_string()));
        record.actor_account = Some(account_id);
        record.actor_label = account.username.clone();
        self.transact(move |c| {
            Box::pin(async move {
                repo::insert_session(c, &token_hash, account_id, now, expires_at).await?;
                repo::clear_throttle(c, &user_key).await?;
                store::audit::append(c, &record).await?;
                Ok(Outcome::Done(()))
            })
        })
        .await?;
        Ok(Session { csrf_token: csrf_token_for(&token), token, expires_at_ms: expires_at, account_id, username: account.username })
    }

    /// Ends the session with this token.
    pub async fn logout(&self, ctx: &Context, session_token: &str) -> Result<(), AppError> {
        let token_hash = sha256_hex(session_token);
        let record = self.audit(ctx, "auth.logout", "account", ctx.account_id().map(|id| id.to_string()));
        self.store()
            .write(move |c| {
                Box::pin(async move {
                    repo::delete_session(c, &token_hash).await?;
                    store::audit::append(c, &record).await
                })
            })
            .await?;
        Ok(())
    }

    /// The caller behind a session cookie's token; `InvalidToken` if unknown or expired.
    pub async fn context_from_session(&self, token: &str, locale: Locale, client_address: Option<String>) -> Result<Context, AppError> {
        let mut reader = self.store().reader().await?;
        let account = repo::session_owner(&mut reader.conn(), &sha256_hex(token), self.now_ms()).await?.ok_or(AppError::InvalidToken)?;
        let grants = repo::grants_of(&mut reader.conn(), account.id).await?;
        context_of(account, grants, Credential::Session, locale, client_address)
    }

    /// The caller behind an API token; `InvalidToken` if unknown, expired or revoked.
    pub async fn context_from_api_token(&self, token: &str, locale: Locale, client_address: Option<String>) -> Result<Context, AppError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(AppError::InvalidToken);
        }
        let mut reader = self.store().reader().await?;
        let (account, token_id) =
            repo::api_token_owner(&mut reader.conn(), &sha256_hex(token), self.now_ms()).await?.ok_or(AppError::InvalidToken)?;
        let grants = repo::grants_of(&mut reader.conn(), account.id).await?;
        context_of(account, grants, Credential::ApiToken(token_id), locale, client_address)
    }

    /// The context of an account: its subject (grants with scope paths) and labels.
    pub async fn context_for_account(
        &self,
        account_id: i64,
        credential: Credential,
        locale: Locale,
        client_address: Option<String>,
    ) -> Result<Context, AppError> {
        let mut reader = self.store().reader().await?;
        let account = repo::get_account(&mut reader.conn(), account_id).await?.ok_or(AppError::InvalidToken)?;
        let grants = repo::grants_of(&mut reader.conn(), account_id).await?;
        context_of(account, grants, credential, locale, client_address)
    }

    /// Checks that a signed-in caller may act as `username` with `password` (for changing one's own password).
    pub async fn check_password(&self, username: &Username, password: &str) -> Result<bool, AppError> {
        let mut reader = self.store().reader().await?;
        let Some(account) = repo::get_account_by_username(&mut reader.conn(), username.as_str()).await? else { return Ok(false) };
        drop(reader);
        Ok(self.verify_password(password.to_string(), account.password_hash).await)
    }
}

/// A new sign-in session. The token goes in an HttpOnly cookie; the CSRF token goes to the page.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session token (secret).
    pub token: String,
    /// The CSRF token derived from it.
    pub csrf_token: String,
    /// When it expires, Unix ms.
    pub expires_at_ms: i64,
    /// The account.
    pub account_id: i64,
    /// The account's username.
    pub username: String,
}

/// The CSRF token of a session: derived from the session token, so it needs no storage, and useless without the
/// cookie. Cookie-authenticated writes must echo it in the `X-CSRF-Token` header (or a `csrf_token` form field).
pub fn csrf_token_for(session_token: &str) -> String {
    sha256_hex(&format!("gridline-csrf:{session_token}"))
}

/// Constant-time comparison of two tokens.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Generates a password for a new account: 20 hex characters (80 bits).
pub fn generate_password() -> Result<Password, AppError> {
    Password::parse("password", &random_hex(10)?).map_err(AppError::from)
}

/// Checks a password chosen by a person: rules of `Password::parse`, and not the username.
pub fn check_new_password(username: &str, password: &str) -> Result<Password, AppError> {
    let parsed = Password::parse("password", password)?;
    if password.eq_ignore_ascii_case(username) {
        return Err(Invalid::new("password", InvalidReason::Malformed { expected: "a password other than the username" }).into());
    }
    Ok(parsed)
}

/// A valid Argon2id hash of a random string, verified against when the username is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yb2D4pcGm9hqkBbzfJy8G5WuVwAqIJNrK4TI6BlFiV8";

/// Creates a new API token string: `gl_` and 64 hex characters.
pub(crate) fn new_api_token() -> Result<String, AppError> {
    Ok(format!("{TOKEN_PREFIX}{}", random_hex(32)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_derived_and_compared_in_constant_time() {
        let a = csrf_token_for("session-a");
        assert_eq!(a, csrf_token_for("session-a"));
        assert_ne!(a, csrf_token_for("session-b"));
        assert!(tokens_equal(&a, &a.clone()));
        assert!(!tokens_equal(&a, &csrf_token_for("session-b")));
        assert!(!tokens_equal("abc", "abcd"));
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
        let token = new_api_token().unwrap();
        assert!(token.starts_with("gl_") && token.len() == 67);
        assert!(check_new_password("admin", "Admin").is_err());
        assert!(check_new_password("admin", "short").is_err());
        assert!(check_new_password("admin", "a long enough passphrase").is_ok());
    }
}
