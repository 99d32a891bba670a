//! Identity: passwords (Argon2id), sign-in with throttling, sessions, API tokens, CSRF tokens, and turning a
//! credential into the [`Subject`] the policy reasons about. Secrets are stored only as hashes: a password as
//! its Argon2id PHC string, a session or API token as its SHA-256.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use domain::ids::{AccountId, MemberId, OrganizationId};
use domain::policy::{AccountRole, Grant, Subject};
use domain::registry::JurisdictionPath;
use domain::text::{Password, Username};
use domain::{Classification, Invalid, InvalidReason, Locale};
use store::accounts::{self as repo, AccountRow, GrantRow};

use crate::access::Access;
use crate::context::Credential;
use crate::util::tokens_equal;
use crate::util::{Outcome, random_hex, sha256_hex};
use crate::{AppError, Context};

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

impl Access {
    fn argon2(&self) -> Result<Argon2<'static>, AppError> {
        let params = Params::new(self.kernel.config().argon2_memory_kib, self.kernel.config().argon2_iterations, 1, None)
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

    /// Signs in. Failures are throttled so that nobody elsewhere can lock the right person out:
    /// - from a device this account signed in on before (it holds the device cookie [`Session::device`]), only
    ///   that device's own failures slow it down;
    /// - from anywhere else, failures count per account and address (an IPv6 address counts by its /64), and per
    ///   address across accounts (password spraying).
    ///
    /// From the last free failure on, each failure makes the next attempt wait, twice as long each time (1 s, 2 s,
    /// 4 s … at most
    /// `login_max_delay_seconds`); there is never a lock of the account itself. When an account's failures
    /// reach the free number, and at every tenfold after that, its owner and the administrators are told (an
    /// `account.sign_in_failures` event), and the owner sees the failures at their next sign-in. Every attempt is
    /// audited.
    pub async fn login(&self, ctx: &Context, attempt: SignIn<'_>) -> Result<Session, AppError> {
        let now = self.kernel.now_ms();
        let config = self.kernel.config().clone();
        // Usernames are short: whatever is longer is not one, and is not written whole into the audit log.
        let username_text: String = attempt.username.trim().to_ascii_lowercase().chars().take(64).collect();
        let device = match attempt.device {
            Some(cookie) => self.device_id(cookie, &username_text).await?,
            None => None,
        };
        let address = ctx.client_address.as_deref().map(throttle_address);
        // The throttles this attempt counts against, each with its free failures. From a known device only that
        // device's own; from anywhere else, the account at this address, this address across accounts, and — far
        // above the others — the account across every address a device it does not know (a distributed attack).
        let mut keys: Vec<(String, i64)> = Vec::new();
        match (&device, &address) {
            (Some(device), _) => keys.push((format!("device:{device}"), config.login_failures_per_user)),
            (None, Some(address)) => {
                keys.push((format!("pair:{username_text}|{address}"), config.login_failures_per_user));
                keys.push((format!("address:{address}"), config.login_failures_per_address));
            }
            (None, None) => keys.push((format!("pair:{username_text}|-"), config.login_failures_per_user)),
        }
        if device.is_none() {
            keys.push((format!("untrusted:{username_text}"), config.login_failures_per_account));
        }
        let account_key = format!("account:{username_text}");
        let details = serde_json::json!({ "username": username_text, "client": ctx.client_address, "known_device": device.is_some() });

        // The attempt is counted before the password is checked, in one write that first checks no throttle holds:
        // attempts sent in parallel are counted one after another, so none slips past a wait another one set.
        let reserved = {
            let (keys, max_delay_ms) = (keys.clone(), config.login_max_delay_seconds.max(1) * 1000);
            self.kernel
                .store()
                .write(move |c| {
                    Box::pin(async move {
                        let mut states = Vec::with_capacity(keys.len());
                        for (key, _) in &keys {
                            states.push(repo::throttle(c, key).await?);
                        }
                        let waiting_until = states.iter().map(|state| state.locked_until).max().unwrap_or(0);
                        if waiting_until > now {
                            return Ok::<_, store::StoreError>(Err(waiting_until));
                        }
                        for ((key, free), mut state) in keys.into_iter().zip(states) {
                            if now - state.window_start > THROTTLE_RESET_MS {
                                state = repo::Throttle::default();
                            }
                            state.failures += 1;
                            state.window_start = now;
                            if state.failures >= free {
                                let doublings = u32::try_from(state.failures - free).unwrap_or(u32::MAX).min(30);
                                state.locked_until = now + (1000_i64 << doublings).min(max_delay_ms);
                            }
                            repo::set_throttle(c, &key, state).await?;
                        }
                        Ok(Ok(()))
                    })
                })
                .await?
        };
        let account = {
            let mut reader = self.kernel.store().reader().await?;
            repo::get_account_by_username(&mut reader.conn(), &username_text).await?
        };
        if let Err(waiting_until) = reserved {
            let retry_after_seconds = (waiting_until - now + 999) / 1000;
            let mut record = self.kernel.audit(ctx, "auth.login", "account", account.as_ref().map(|a| a.id.to_string()));
            record.allowed = false;
            record.reason = "rate_limited".into();
            record.details = details;
            // Attempts refused for waiting cost nothing to send: they are sampled and counted like other refusals
            // of callers not signed in, so that they cannot flood the audit log.
            let admitted = self.kernel.refusals().admit(&record, now);
            self.kernel.append_audits(admitted.record.then_some(record).into_iter().chain(admitted.summary).collect()).await?;
            return Err(AppError::RateLimited { retry_after_seconds });
        }

        // Verify even when the account does not exist, so that timing does not reveal which usernames exist.
        let stored_hash = match &account {
            Some(account) => account.password_hash.clone(),
            None => self.dummy_hash().await?,
        };
        let password_ok = self.verify_password(attempt.password.to_string(), stored_hash).await && account.is_some();

        let Some(account) = account.clone().filter(|_| password_ok) else {
            let mut record = self.kernel.audit(ctx, "auth.login", "account", account.as_ref().map(|a| a.id.to_string()));
            record.allowed = false;
            record.reason = "invalid_credentials".into();
            record.details = details;
            let notify = account.as_ref().map(|a| (a.id, a.username.clone()));
            let (app, ctx2, client) = (self.clone(), ctx.clone(), ctx.client_address.clone());
            self.kernel
                .store()
                .write(move |c| {
                    Box::pin(async move {
                        // Failures of the account from anywhere: never a lock, but what its owner is told.
                        if let Some((account_id, username)) = notify {
                            let mut state = repo::throttle(c, &account_key).await?;
                            state.failures += 1;
                            state.window_start = now;
                            repo::set_throttle(c, &account_key, state).await?;
                            let first = config.login_failures_per_user;
                            let tell = state.failures == first || (state.failures > first && is_tenfold(state.failures, first));
                            if tell {
                                let payload = serde_json::json!({
                                    "account_id": account_id, "username": username, "failures": state.failures, "client": client,
                                });
                                let mut event = app.kernel.event(
                                    &ctx2,
                                    "account.sign_in_failures",
                                    "account",
                                    account_id,
                                    None,
                                    None,
                                    Classification::Restricted,
                                    payload,
                                );
                                event.actor_account = None;
                                store::events::append(c, &event).await?;
                            }
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
                self.kernel.audit(ctx, "auth.login", "account", Some(account.id.to_string())),
                domain::policy::DenyReason::NotPermitted,
            );
            self.kernel.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
            return Err(AppError::AccountDisabled);
        }

        let token = random_hex(32)?;
        let token_hash = sha256_hex(&token);
        let expires_at = now + config.session_ttl_seconds * 1000;
        let account_id = account.id;
        let mut record = self.kernel.audit(ctx, "auth.login", "account", Some(account_id.to_string()));
        record.actor_account = Some(account_id);
        record.actor_label = account.username.clone();
        let session = repo::NewSession {
            token_hash,
            public_id: random_hex(8)?,
            account_id,
            at_ms: now,
            expires_at_ms: expires_at,
            client_address: ctx.client_address.clone(),
            user_agent: attempt.user_agent.map(|agent| agent.chars().filter(|c| !c.is_control()).take(200).collect()),
        };
        let device_cookie = match &device {
            Some(_) => attempt.device.unwrap_or_default().to_string(),
            None => self.new_device_cookie(&username_text).await?,
        };
        let previous = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    repo::insert_session(c, &session).await?;
                    let previous = repo::throttle(c, &account_key).await?;
                    repo::clear_throttle(c, &account_key).await?;
                    // The right password: this device's (or this account's at this address) count starts again;
                    // the counts others share — the address, the account from unknown devices — only give back
                    // this attempt, so that a success does not wipe out an attacker's count.
                    for (key, free) in keys {
                        if key.starts_with("address:") || key.starts_with("untrusted:") {
                            let mut state = repo::throttle(c, &key).await?;
                            state.failures = (state.failures - 1).max(0);
                            if state.failures < free {
                                state.locked_until = 0;
                            }
                            repo::set_throttle(c, &key, state).await?;
                        } else {
                            repo::clear_throttle(c, &key).await?;
                        }
                    }
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(previous))
                })
            })
            .await?;
        let failures_since_last_sign_in =
            (previous.failures > 0).then_some(FailedSignIns { count: previous.failures, last_at_ms: previous.window_start });
        Ok(Session {
            csrf_token: csrf_token_for(&token),
            token,
            expires_at_ms: expires_at,
            account_id,
            username: account.username,
            device: device_cookie,
            failures_since_last_sign_in,
        })
    }

    /// Makes what sign-in needs before the first attempt arrives (the hash an unknown username is checked against),
    /// so that the first unknown username takes no longer than any other.
    pub async fn prepare_sign_in(&self) -> Result<(), AppError> {
        self.dummy_hash().await.map(|_| ())
    }

    /// A hash to verify against when the username is unknown, made with this deployment's Argon2 parameters, so
    /// that an unknown username costs the same time as a known one.
    async fn dummy_hash(&self) -> Result<String, AppError> {
        let hash = self
            .state
            .dummy_hash
            .get_or_try_init(|| async {
                let password = Password::parse("password", &random_hex(16)?)?;
                self.hash_password(&password).await
            })
            .await?;
        Ok(hash.clone())
    }

    /// The device id a device cookie proves for `username`, if it is one Gridline gave.
    async fn device_id(&self, cookie: &str, username: &str) -> Result<Option<String>, AppError> {
        let Some((nonce, mac)) = cookie.trim().split_once('.') else { return Ok(None) };
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let expected = device_mac(&self.device_key().await?, username, nonce);
        Ok(tokens_equal(&expected, mac).then(|| nonce.to_string()))
    }

    /// A new device cookie for `username`: a random id and its MAC under the deployment's device key.
    async fn new_device_cookie(&self, username: &str) -> Result<String, AppError> {
        let nonce = random_hex(16)?;
        let mac = device_mac(&self.device_key().await?, username, &nonce);
        Ok(format!("{nonce}.{mac}"))
    }

    async fn device_key(&self) -> Result<Vec<u8>, AppError> {
        let key = self
            .state
            .device_key
            .get_or_try_init(|| async {
                let initial = random_hex(32)?;
                let now = self.kernel.now_ms();
                let value = self
                    .kernel
                    .store()
                    .write(move |c| Box::pin(async move { store::settings::get_or_insert(c, "device_cookie_key", &initial, now).await }))
                    .await?;
                Ok::<Vec<u8>, AppError>(value.into_bytes())
            })
            .await?;
        Ok(key.clone())
    }

    /// Removes expired sessions and sign-in throttles nobody has hit for a day (on the escalation beat).
    pub async fn purge_expired_sessions(&self) -> Result<u64, AppError> {
        let now = self.kernel.now_ms();
        Ok(self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let sessions = repo::delete_expired_sessions(c, now).await?;
                    repo::delete_stale_throttles(c, now - 24 * 3_600_000).await?;
                    Ok::<u64, store::StoreError>(sessions)
                })
            })
            .await?)
    }

    /// Ends the session with this token.
    pub async fn logout(&self, ctx: &Context, session_token: &str) -> Result<(), AppError> {
        let token_hash = sha256_hex(session_token);
        let record = self.kernel.audit(ctx, "auth.logout", "account", ctx.account_id().map(|id| id.to_string()));
        self.kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    repo::delete_session(c, &token_hash).await?;
                    store::audit::append(c, &record).await
                })
            })
            .await?;
        Ok(())
    }

    /// The caller's own unexpired sessions, newest first; `current` marks the one `session_token` belongs to.
    pub async fn my_sessions(&self, ctx: &Context, session_token: Option<&str>) -> Result<Vec<SessionView>, AppError> {
        let account = ctx.account_id().ok_or(AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired })?;
        let current = session_token.map(sha256_hex);
        let mut reader = self.kernel.store().reader().await?;
        let rows = repo::sessions_of(&mut reader.conn(), account, self.kernel.now_ms()).await?;
        Ok(rows
            .into_iter()
            .map(|row| SessionView {
                current: current.as_deref() == Some(row.token_hash.as_str()),
                id: row.public_id,
                created_at: crate::time::rfc3339(row.created_at),
                expires_at: crate::time::rfc3339(row.expires_at),
                client_address: row.client_address,
                user_agent: row.user_agent,
            })
            .collect())
    }

    /// Ends one of the caller's own sessions (signed in on a lost phone, a shared computer …).
    pub async fn end_my_session(&self, ctx: &Context, id: &str) -> Result<(), AppError> {
        let account = ctx.account_id().ok_or(AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired })?;
        let record = self.kernel.audit(ctx, "auth.session_end", "account", Some(account.to_string()));
        let id = id.to_string();
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    if !repo::delete_session_of(c, account, &id).await? {
                        return Err(AppError::NotFound { kind: domain::policy::ResourceKind::Account });
                    }
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(()))
                })
            })
            .await
    }

    /// Ends every session of the caller's but the current one; returns how many.
    pub async fn end_my_other_sessions(&self, ctx: &Context, session_token: &str) -> Result<u64, AppError> {
        let account = ctx.account_id().ok_or(AppError::Forbidden { reason: domain::policy::DenyReason::SignInRequired })?;
        let mut record = self.kernel.audit(ctx, "auth.session_end", "account", Some(account.to_string()));
        let keep = sha256_hex(session_token);
        self.kernel
            .transact(move |c| {
                Box::pin(async move {
                    let ended = repo::delete_other_sessions(c, account, &keep).await?;
                    record.details = serde_json::json!({ "ended": ended });
                    store::audit::append(c, &record).await?;
                    Ok(Outcome::Done(ended))
                })
            })
            .await
    }

    /// The caller behind a session cookie's token; `InvalidToken` if unknown or expired.
    pub async fn context_from_session(&self, token: &str, locale: Locale, client_address: Option<String>) -> Result<Context, AppError> {
        // One query for the session, its account and the account's grants.
        let mut reader = self.kernel.store().reader().await?;
        let (account, _, grants) = repo::credential_owner(&mut reader.conn(), &sha256_hex(token), self.kernel.now_ms(), false)
            .await?
            .ok_or(AppError::InvalidToken)?;
        context_of(account, grants, Credential::Session, locale, client_address)
    }

    /// The caller behind an API token; `InvalidToken` if unknown, expired or revoked.
    pub async fn context_from_api_token(&self, token: &str, locale: Locale, client_address: Option<String>) -> Result<Context, AppError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(AppError::InvalidToken);
        }
        // One query for the token, its account and the account's grants.
        let mut reader = self.kernel.store().reader().await?;
        let (account, token_id, grants) = repo::credential_owner(&mut reader.conn(), &sha256_hex(token), self.kernel.now_ms(), true)
            .await?
            .ok_or(AppError::InvalidToken)?;
        let token_id = token_id.ok_or(AppError::InvalidToken)?;
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
        let mut reader = self.kernel.store().reader().await?;
        let account = repo::get_account(&mut reader.conn(), account_id).await?.ok_or(AppError::InvalidToken)?;
        let grants = repo::grants_of(&mut reader.conn(), account_id).await?;
        context_of(account, grants, credential, locale, client_address)
    }

    /// Checks that a signed-in caller may act as `username` with `password` (for changing one's own password).
    pub async fn check_password(&self, username: &Username, password: &str) -> Result<bool, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let Some(account) = repo::get_account_by_username(&mut reader.conn(), username.as_str()).await? else { return Ok(false) };
        drop(reader);
        Ok(self.verify_password(password.to_string(), account.password_hash).await)
    }
}

/// One of a person's sign-in sessions, as they see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The session's id (not its token).
    pub id: String,
    /// When it was opened (RFC 3339 UTC).
    pub created_at: String,
    /// When it ends by itself.
    pub expires_at: String,
    /// The address it was opened from.
    pub client_address: Option<String>,
    /// The browser or client it was opened with.
    pub user_agent: Option<String>,
    /// Whether it is the session of this request.
    pub current: bool,
}

/// A sign-in attempt: the credentials, and what the client brings along.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignIn<'a> {
    /// The username as typed.
    pub username: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// The device cookie this browser holds from an earlier sign-in, if any.
    pub device: Option<&'a str>,
    /// The client's `User-Agent`, to show the owner which session is which.
    pub user_agent: Option<&'a str>,
}

/// Failed attempts to sign in as an account since its last sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedSignIns {
    /// How many.
    pub count: i64,
    /// When the latest one happened, Unix ms.
    pub last_at_ms: i64,
}

/// Whether `failures` is `first` times a power of ten (50, 500, 5,000 … for a first of 5).
fn is_tenfold(failures: i64, first: i64) -> bool {
    let mut mark = first.max(1);
    while mark < failures {
        mark = mark.saturating_mul(10);
    }
    mark == failures
}

/// The throttle key of a client address: an IPv4 address as it is, an IPv6 address by its /64 (one subscriber's
/// network), so that a block of addresses counts as one.
pub fn throttle_address(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default(),
        _ => address.to_string(),
    }
}

fn device_mac(key: &[u8], username: &str, nonce: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("device:{username}:{nonce}").as_bytes());
    mac.finalize().into_bytes().iter().take(16).map(|byte| format!("{byte:02x}")).collect()
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
    /// The device cookie to keep in this browser (for a year): with it, failures elsewhere never slow this
    /// device's sign-in.
    pub device: String,
    /// Failed attempts to sign in as this account since its last sign-in, to show its owner.
    pub failures_since_last_sign_in: Option<FailedSignIns>,
}

/// The CSRF token of a session: derived from the session token, so it needs no storage, and useless without the
/// cookie. Cookie-authenticated writes must echo it in the `X-CSRF-Token` header (or a `csrf_token` form field).
pub fn csrf_token_for(session_token: &str) -> String {
    sha256_hex(&format!("gridline-csrf:{session_token}"))
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

/// A throttle's count starts again a day after its latest failure.
const THROTTLE_RESET_MS: i64 = 24 * 3_600_000;

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
    fn tokens_and_new_passwords() {
        let token = new_api_token().unwrap();
        assert!(token.starts_with("gl_") && token.len() == 67);
        assert!(check_new_password("admin", "Admin").is_err());
        assert!(check_new_password("admin", "short").is_err());
        assert!(check_new_password("admin", "a long enough passphrase").is_ok());
    }

    #[test]
    fn owners_are_told_at_the_first_mark_and_every_tenfold() {
        let told: Vec<i64> = (1..=6000).filter(|n| *n == 5 || (*n > 5 && is_tenfold(*n, 5))).collect();
        assert_eq!(told, vec![5, 50, 500, 5000]);
    }

    #[test]
    fn ipv6_addresses_throttle_by_their_64() {
        assert_eq!(throttle_address("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(throttle_address("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(throttle_address("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(throttle_address("192.0.2.7"), "192.0.2.7");
    }
}
