//! Emergency plans (预案) as data: versioned JSON documents that say, for categories, sub-types and jurisdictions,
//! which triggers call for which response level, who leads and who supports each function, what is due by when,
//! when command passes up, and how fast reports must travel.
//!
//! This crate owns the document model ([`Plan`], whose serde form is the file format), its published JSON Schema
//! ([`json_schema`], committed as `plan.schema.json`), parsing that names the line and field of every problem
//! ([`parse`]), the linter that finds gaps against a registry snapshot ([`lint`]), and activation and stand-down
//! planning ([`activate`], [`stand_down`]). It also ships the plans Gridline comes with ([`shipped`]).
//!
//! It must never do IO, read the clock or keep state: documents arrive as text, the registry as a snapshot, and time
//! as an argument. It decides nothing about access; the application asks the policy before using it.

pub mod activate;
pub mod codes;
pub mod error;
pub mod lint;
pub mod locate;
pub mod model;
pub mod registry;
pub mod schema;

pub use activate::{
    Activation, ActiveScope, CommandDecision, CommandReason, EscalationDraft, EscalationTarget, Evaluation, MatrixAssignment, ModeChange,
    OpenTask, Owner, Situation, StandDownInput, StandDownPlan, TaskDraft, activate, evaluate, select, stand_down,
};
pub use codes::{Anchor, Function, OverdueTarget, Phase, PlanKind, Problem, Statute};
pub use error::{ParseError, ParseErrorKind, PlanError};
pub use lint::{Finding, LintCode, Severity, has_errors, lint};
pub use locate::{Position, locate};
pub use model::{FORMAT, Plan};
pub use registry::{GrantEntry, JurisdictionEntry, MemberEntry, OrganizationEntry, RegistrySnapshot};
pub use schema::json_schema;

/// The largest plan document accepted, in bytes. Real plans are a few dozen kilobytes.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Parses a plan document. Either the whole document is well-formed and a [`Plan`] comes back, or the first problem
/// comes back with its line, column and field; nothing of a malformed document is kept.
pub fn parse(text: &str) -> Result<Plan, PlanError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(PlanError::TooLarge { limit: MAX_DOCUMENT_BYTES });
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let plan: Plan = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| PlanError::Malformed(ParseError::from_serde(&error.path().to_string(), error.inner())))?;
    // Only whitespace may follow the document.
    deserializer.end().map_err(|error| PlanError::Malformed(ParseError::from_serde("", &error)))?;
    Ok(plan)
}

/// The plan as a document: pretty JSON, the same format [`parse`] reads (`parse(&to_json(plan)) == plan`).
pub fn to_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).unwrap_or_default();
    text.push('\n');
    text
}

/// The plans Gridline ships, as `(file name, document)`; each parses and lints clean against the reference registry
/// of the tests.
pub fn shipped() -> &'static [(&'static str, &'static str)] {
    &[
        ("rainstorm-waterlogging.json", include_str!("../plans/rainstorm-waterlogging.json")),
        ("typhoon.json", include_str!("../plans/typhoon.json")),
        ("building-fire.json", include_str!("../plans/building-fire.json")),
        ("gas-leak.json", include_str!("../plans/gas-leak.json")),
        ("infectious-cluster.json", include_str!("../plans/infectious-cluster.json")),
        ("crowd-crush.json", include_str!("../plans/crowd-crush.json")),
    ]
}
