//! Helpers shared by the use cases: asking the policy, writing audit records and events, paging, tokens.

use domain::policy::{Action, Decision, DenyReason, Resource, decide as policy_decide};
use domain::registry::JurisdictionPath;
use sha2::{Digest, Sha256};
use store::audit::NewAudit;
use store::list::Visibility;

use crate::{AppError, Context};

/// The outcome of a write that may be refused after it has written its audit record.
pub(crate) enum Outcome<T> {
    /// Done: commit and return the value.
    Done(T),
    /// Refused: commit what was written (the audit record of the refusal) and return the error.
    Refused(AppError),
}

/// The policy's answer for the caller; the operator at the command line may do anything.
pub(crate) fn decide(ctx: &Context, action: Action, resource: &Resource<'_>) -> Decision {
    if ctx.is_system() { Decision::Allow } else { policy_decide(&ctx.subject, action, resource) }
}

/// A refusal's audit record, for writing inside a write that goes on to return `Outcome::Refused`.
pub(crate) fn refusal(mut record: NewAudit, reason: DenyReason) -> NewAudit {
    record.allowed = false;
    record.reason = reason.code().to_string();
    record
}

/// `count` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(count: usize) -> Result<String, AppError> {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).map_err(|error| AppError::Internal(format!("no randomness: {error}")))?;
    Ok(hex(&bytes))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// SHA-256 of `text`, as lowercase hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A page of results on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: i64,
    /// The page size asked for.
    pub limit: i64,
    /// How many matching items were skipped.
    pub offset: i64,
}

/// Common list parameters: `?jurisdiction_id=&q=&sort=&limit=&offset=`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only items in this jurisdiction and the jurisdictions below it.
    pub jurisdiction_id: Option<i64>,
    /// Case-insensitive search in names and codes.
    pub q: Option<String>,
    /// Sort by this field; prefix with `-` for descending (for example `-updated_at`).
    pub sort: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

impl ListParams {
    pub(crate) fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(50),
            Some(limit) if (1..=500).contains(&limit) => Ok(limit),
            Some(_) => Err(domain::Invalid::new("limit", domain::InvalidReason::OutOfRange { min: "1".into(), max: "500".into() }).into()),
        }
    }

    pub(crate) fn offset(&self) -> Result<i64, AppError> {
        match self.offset {
            None => Ok(0),
            Some(offset) if offset >= 0 => Ok(offset),
            Some(_) => Err(domain::Invalid::new("offset", domain::InvalidReason::OutOfRange { min: "0".into(), max: "∞".into() }).into()),
        }
    }

    pub(crate) fn sort(&self, allowed: &[&'static str]) -> Result<Option<(String, bool)>, AppError> {
        let Some(sort) = self.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        let (column, descending) = match sort.strip_prefix('-') {
            Some(column) => (column, true),
            None => (sort, false),
        };
        if !allowed.contains(&column) {
            return Err(domain::Invalid::new("sort", domain::InvalidReason::UnknownValue { allowed: allowed.to_vec() }).into());
        }
        Ok(Some((column.to_string(), descending)))
    }
}

/// Parses JSON text the application stored itself; a failure is a bug (or a corrupted database), not bad input.
pub(crate) fn parse_json_value(text: &str) -> Result<serde_json::Value, AppError> {
    serde_json::from_str(text).map_err(|error| AppError::Internal(format!("stored JSON does not parse: {error}")))
}

/// Turns the policy's read filter into the store's visibility filter.
pub(crate) fn visibility(filter: domain::policy::ReadFilter) -> Visibility {
    match filter {
        domain::policy::ReadFilter::Everything => Visibility::Everything,
        domain::policy::ReadFilter::Some { subtrees, ancestors_of, organizations, member, account } => Visibility::Some {
            subtrees,
            ancestors_of,
            organizations: organizations.into_iter().map(|id| id.0).collect(),
            own_id: member.map(|id| id.0).or(account.map(|id| id.0)),
        },
    }
}

/// Whether a caller who sees `visibility` may ask for the subtree at `within`: the subtree must overlap what
/// they see (they then see the overlap). Asking for a place wholly outside one's scope is refused, not answered
/// with an empty page, so that the refusal is audited and explained.
pub(crate) fn overlaps(visibility: &Visibility, within: &JurisdictionPath) -> bool {
    match visibility {
        Visibility::Everything => true,
        Visibility::Some { subtrees, ancestors_of: _, organizations, own_id } => {
            !organizations.is_empty() || own_id.is_some() || subtrees.iter().any(|scope| scope.contains(within) || within.contains(scope))
        }
    }
}

/// Splits one CSV line (RFC 4180 quoting; a quoted field may not span lines here).
pub(crate) fn split_csv(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("a quoted field must end at a comma");
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut current));
                at_start = true;
            }
            (_, c) => {
                current.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("a quoted field is not closed");
    }
    fields.push(current);
    Ok(fields)
}

/// Constant-time comparison of two tokens.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The size of the cells public incident counts are coarsened to, in degrees (about 550 m north–south).
pub const PUBLIC_CELL_DEG: f64 = 0.005;
/// Cells with fewer incidents than this are left out of the public counts.
pub const PUBLIC_MIN_COUNT: usize = 3;

/// A title in the reader's language: the English one for English readers when there is one, else the Chinese.
pub(crate) fn title(locale: domain::Locale, zh: &str, en: Option<&str>) -> String {
    match (locale, en) {
        (domain::Locale::En, Some(en)) if !en.is_empty() => en.to_string(),
        _ => zh.to_string(),
    }
}
