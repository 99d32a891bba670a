//! Who is asking, in what language, from where.

use domain::Locale;
use domain::policy::Subject;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nobody signed in: the public.
    Anonymous,
    /// A browser session (cookie); writes need the CSRF token.
    Session,
    /// An API token, by id.
    ApiToken(i64),
    /// The operator at the command line, or a background worker: full rights, still audited.
    System,
}

/// The caller of a use case.
#[derive(Debug, Clone)]
pub struct Context {
    /// Their roles and scopes.
    pub subject: Subject,
    /// A label for the audit log: the username, `token:<id>/<username>`, `cli:<label>`, `anonymous`.
    pub actor_label: String,
    /// The account's display name, for screens.
    pub display_name: Option<String>,
    /// How they signed in.
    pub credential: Credential,
    /// The language to answer in.
    pub locale: Locale,
    /// The client address, if known (for throttling and the audit log).
    pub client_address: Option<String>,
}

impl Context {
    /// The anonymous public.
    pub fn anonymous(locale: Locale) -> Context {
        Context {
            subject: Subject::anonymous(),
            actor_label: "anonymous".into(),
            display_name: None,
            credential: Credential::Anonymous,
            locale,
            client_address: None,
        }
    }

    /// The operator or a worker, with full rights.
    pub fn system(label: &str, locale: Locale) -> Context {
        Context {
            subject: Subject::anonymous(),
            actor_label: format!("cli:{label}"),
            display_name: None,
            credential: Credential::System,
            locale,
            client_address: None,
        }
    }

    /// Whether this is the operator or a worker.
    pub fn is_system(&self) -> bool {
        self.credential == Credential::System
    }

    /// The acting account's id.
    pub fn account_id(&self) -> Option<i64> {
        self.subject.account.map(|id| id.0)
    }
}
