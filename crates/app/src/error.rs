//! The errors of the use cases. Each has a stable snake_case code (the `code` of a problem+json document),
//! the field at fault where there is one, and a message in every locale from the catalog.

use domain::policy::{DenyReason, ResourceKind};
use domain::{Invalid, Locale, i18n};
use store::StoreError;

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input was rejected.
    #[error("{0}")]
    Invalid(Invalid),
    /// Nothing with that id (or nothing the caller may know of).
    #[error("{kind:?} not found")]
    NotFound {
        /// What was looked for.
        kind: ResourceKind,
    },
    /// The policy refused.
    #[error("forbidden: {}", reason.code())]
    Forbidden {
        /// Why.
        reason: DenyReason,
    },
    /// The record changed since the caller read it.
    #[error("version conflict: now at {current}")]
    Conflict {
        /// The record's current version.
        current: i64,
    },
    /// A change did not say which version it applies to.
    #[error("version required")]
    VersionRequired,
    /// A unique value is taken.
    #[error("duplicate {field}")]
    Duplicate {
        /// The field.
        field: String,
    },
    /// A delete was refused because other records still refer to this one.
    #[error("still referenced")]
    HasDependents {
        /// What refers to it, and how many of each.
        what: Vec<(&'static str, i64)>,
    },
    /// Wrong username or password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// An unknown, expired or revoked session or token.
    #[error("invalid token")]
    InvalidToken,
    /// The account may not sign in.
    #[error("account disabled")]
    AccountDisabled,
    /// Too many failed attempts.
    #[error("rate limited for {retry_after_seconds} s")]
    RateLimited {
        /// When to try again.
        retry_after_seconds: i64,
    },
    /// The record is in a state where this step does not apply (issuing a cancelled warning, closing a closed task).
    #[error("{kind:?} is {state}; cannot {step}")]
    WrongState {
        /// What it is.
        kind: ResourceKind,
        /// Its state code.
        state: String,
        /// The step attempted (a catalog code under `step.`).
        step: &'static str,
    },
    /// A status change the incident state machine does not allow; carries the allowed targets.
    #[error("{0}")]
    InvalidTransition(domain::incident::TransitionError),
    /// The two-person rule: a second person must approve what the first drafted.
    #[error("a second person must approve")]
    SecondPersonRequired,
    /// The step needs an explicit confirmation, because its effect is unusually large.
    #[error("confirmation required: {people} people, usually at most {usual}")]
    ConfirmationRequired {
        /// How many people it would reach.
        people: i64,
        /// The usual upper bound for this kind of step.
        usual: i64,
    },
    /// The database cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; logged, shown to users only as an apology.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Invalid> for AppError {
    fn from(invalid: Invalid) -> AppError {
        AppError::Invalid(invalid)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::Unique { constraint } => {
                let field = ["username", "code", "hash"].iter().find(|field| constraint.contains(*field)).copied().unwrap_or("id");
                AppError::Duplicate { field: field.to_string() }
            }
            StoreError::ForeignKey { message } => AppError::Internal(format!("reference check failed: {message}")),
            StoreError::Unavailable(message) => AppError::Unavailable(message),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl AppError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid_field",
            AppError::NotFound { .. } => "not_found",
            AppError::Forbidden { reason: DenyReason::SignInRequired } => "sign_in_required",
            AppError::Forbidden { .. } => "forbidden",
            AppError::Conflict { .. } => "version_conflict",
            AppError::VersionRequired => "version_required",
            AppError::Duplicate { .. } => "duplicate",
            AppError::HasDependents { .. } => "has_dependents",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidToken => "invalid_token",
            AppError::AccountDisabled => "account_disabled",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::WrongState { .. } => "wrong_state",
            AppError::SecondPersonRequired => "second_person_required",
            AppError::InvalidTransition(_) => "invalid_transition",
            AppError::ConfirmationRequired { .. } => "confirmation_required",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// Every code this type can produce, for completeness tests of the catalog.
    pub const CODES: &'static [&'static str] = &[
        "invalid_field",
        "not_found",
        "sign_in_required",
        "forbidden",
        "version_conflict",
        "version_required",
        "duplicate",
        "has_dependents",
        "invalid_credentials",
        "invalid_token",
        "account_disabled",
        "rate_limited",
        "wrong_state",
        "second_person_required",
        "confirmation_required",
        "invalid_transition",
        "unavailable",
        "internal",
    ];

    /// The field at fault, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid(invalid) => Some(&invalid.field),
            AppError::Duplicate { field } => Some(field),
            _ => None,
        }
    }

    /// A one-line title in `locale`.
    pub fn title(&self, locale: Locale) -> String {
        let code = self.code();
        match i18n::lookup(locale, &format!("title.{code}")) {
            Some(title) => title.to_string(),
            None => i18n::text(locale, &format!("error.{code}")).to_string(),
        }
    }

    /// The full message in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        match self {
            AppError::Invalid(invalid) => invalid.message(locale),
            AppError::Forbidden { reason } => {
                format!(
                    "{}{}{}",
                    self.title(locale),
                    i18n::text(locale, "punct.colon"),
                    i18n::text(locale, &format!("deny.{}", reason.code()))
                )
            }
            AppError::Conflict { current } => i18n::format(locale, "error.version_conflict", &[("current", current.to_string())]),
            AppError::Duplicate { field } => i18n::format(locale, "error.duplicate", &[("field", field.clone())]),
            AppError::HasDependents { what } => {
                let count: i64 = what.iter().map(|(_, n)| n).sum();
                let kinds: Vec<String> = what
                    .iter()
                    .map(|(kind, n)| format!("{} × {n}", ResourceKind::parse("kind", kind).map(|k| k.label(locale)).unwrap_or(kind)))
                    .collect();
                i18n::format(locale, "error.has_dependents", &[("count", count.to_string()), ("what", kinds.join(", "))])
            }
            AppError::RateLimited { retry_after_seconds } => {
                i18n::format(locale, "error.rate_limited", &[("seconds", retry_after_seconds.to_string())])
            }
            AppError::WrongState { kind, state, step } => i18n::format(
                locale,
                "error.wrong_state",
                &[
                    ("kind", kind.label(locale).to_string()),
                    ("state", i18n::lookup(locale, &format!("state.{state}")).map(str::to_string).unwrap_or_else(|| state.clone())),
                    ("step", i18n::text(locale, &format!("step.{step}")).to_string()),
                ],
            ),
            AppError::InvalidTransition(refused) => refused.message(locale),
            AppError::ConfirmationRequired { people, usual } => {
                i18n::format(locale, "error.confirmation_required", &[("people", people.to_string()), ("usual", usual.to_string())])
            }
            AppError::NotFound { kind } => format!("{}{}{}", self.title(locale), i18n::text(locale, "punct.colon"), kind.label(locale)),
            _ => self.title(locale),
        }
    }
}
