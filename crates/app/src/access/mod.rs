//! Access: accounts and their grants, sign-in with its throttles, sessions, API tokens and device cookies.

mod accounts;
mod auth;

use crate::kernel::Kernel;

pub use crate::util::tokens_equal;
pub use accounts::{
    AccountPatch, AccountView, ApiTokenView, CreatedAccount, CreatedApiToken, GrantInput, GrantView, NewAccount, NewApiToken,
    PasswordChange, is_session,
};
pub use auth::{
    FailedSignIns, Session, SessionView, SignIn, TOKEN_PREFIX, check_new_password, csrf_token_for, generate_password, throttle_address,
};

/// What the access context keeps in memory.
#[derive(Debug, Default)]
pub(crate) struct AccessState {
    /// The key of device cookies (see `auth`), read once from the settings.
    pub(crate) device_key: tokio::sync::OnceCell<Vec<u8>>,
    /// The Argon2 hash an unknown username is verified against, made once with the configured parameters.
    pub(crate) dummy_hash: tokio::sync::OnceCell<String>,
}

/// The access context's use cases.
#[derive(Debug, Clone)]
pub struct Access {
    pub(crate) kernel: Kernel,
    state: std::sync::Arc<AccessState>,
}

impl Access {
    pub(crate) fn new(kernel: Kernel) -> Access {
        Access { kernel, state: std::sync::Arc::default() }
    }
}
