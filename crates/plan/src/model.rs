//! The plan document: the file is the wire format, so these types derive serde and their field names are the
//! document's keys. Every value is checked as it is read (codes against their sets, texts for length and
//! characters, parties for their shape), so a `Plan` that exists is well-formed; whether it fits a registry and
//! holds together is the linter's question.

use domain::i18n::Locale;
use domain::incident::{Category, Grade, Measure, ReportingTier, ResponseLevel, SubtypeCode, WarningLevel};
use domain::policy::AccountRole;
use domain::registry::{JurisdictionLevel, JurisdictionMode, MemberRole, OrganizationKind, Sector};
use domain::text::Code;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codes::{
    Anchor, Function, OverdueTarget, Phase, PlanKind, Problem, Rejected, Statute, code, code_opt, code_vec, code_vec1, text, text_vec,
};

/// The format tag every plan document starts with; a new tag means a new, incompatible format.
pub const FORMAT: &str = "gridline.plan/1";

/// An emergency plan (预案).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The format tag, [`FORMAT`].
    pub format: Format,
    /// The plan's stable code, shared by all its versions (`rainstorm-waterlogging`).
    pub code: PlanCode,
    /// The version, from 1; a revised plan is a new version (ERL Art. 28).
    pub version: Version,
    /// The title.
    pub title: Text,
    /// Which kind of plan it is.
    #[serde(with = "code")]
    pub kind: PlanKind,
    /// A short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Text>,
    /// What and where the plan is for.
    pub scope: Scope,
    /// When the plan activates, and at which response level.
    pub triggers: Vec<Trigger>,
    /// The responsibility matrix: for each function, who leads and who supports.
    pub matrix: Vec<Responsibility>,
    /// The action templates: what is due by when after activation or stand-down.
    pub actions: Vec<ActionTemplate>,
    /// When command passes up, and where overdue tasks go.
    pub escalation: Escalation,
    /// The upward reporting chain and its deadlines.
    pub reporting: Reporting,
    /// The mode the jurisdictions switch to.
    #[serde(default, skip_serializing_if = "Modes::is_default")]
    pub modes: Modes,
    /// What stand-down keeps open.
    #[serde(default, skip_serializing_if = "StandDown::is_empty")]
    pub stand_down: StandDown,
}

/// The format tag; only [`FORMAT`] is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Format;

impl Serialize for Format {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(FORMAT)
    }
}

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Format, D::Error> {
        let found = String::deserialize(deserializer)?;
        if found == FORMAT {
            Ok(Format)
        } else {
            Err(crate::codes::problem_error("", Problem::UnsupportedFormat { found, expected: FORMAT.to_string() }))
        }
    }
}

fn check_identifier(text: &str, min: usize, max: usize) -> Result<(), Problem> {
    if text.is_empty() {
        return Err(Problem::Required);
    }
    if text.len() > max {
        return Err(Problem::TooLong { max });
    }
    let starts_with_letter = text.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    if text.len() < min
        || !starts_with_letter
        || !text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(Problem::BadCharacters { allowed: "a-z 0-9 - _ (starting with a letter)".into() });
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$meta:meta])* $name:ident, $min:literal, $max:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses the identifier.
            pub fn parse(text: &str) -> Result<$name, Problem> {
                check_identifier(text, $min, $max).map(|()| $name(text.to_string()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).map_err(|problem| crate::codes::problem_error("", problem))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identifier!(
    /// A plan's stable code: 2 to 64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter.
    PlanCode, 2, 64
);
identifier!(
    /// The id of a trigger, action or escalation rule within a plan: 1 to 64 characters of `a-z`, `0-9`, `-` and
    /// `_`, starting with a letter.
    Ident, 1, 64
);

/// A plan's version: 1 or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Version(u32);

impl Version {
    /// Checks a version number.
    pub fn parse(version: i64) -> Result<Version, Problem> {
        u32::try_from(version)
            .ok()
            .filter(|version| *version >= 1)
            .map(Version)
            .ok_or(Problem::OutOfRange { min: "1".into(), max: u32::MAX.to_string() })
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Version, D::Error> {
        let version = i64::deserialize(deserializer)?;
        Version::parse(version).map_err(|problem| crate::codes::problem_error("", problem))
    }
}

/// Text in both languages. Both are required: every user-visible string is bilingual.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TextDocument")]
pub struct Text {
    zh: String,
    en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextDocument {
    zh: String,
    en: String,
}

impl Text {
    /// The longest text accepted, in characters.
    pub const MAX: usize = 1000;

    /// Checks a pair of texts: each trimmed, 1 to 1000 characters, no control characters but line breaks.
    pub fn parse(zh: &str, en: &str) -> Result<Text, (&'static str, Problem)> {
        let check = |name: &'static str, value: &str| {
            let value = value.trim();
            if value.is_empty() {
                return Err((name, Problem::Required));
            }
            if value.chars().count() > Text::MAX {
                return Err((name, Problem::TooLong { max: Text::MAX }));
            }
            if value.chars().any(|c| c.is_control() && c != '\n') {
                return Err((name, Problem::BadCharacters { allowed: "printable characters and line breaks".into() }));
            }
            Ok(value.to_string())
        };
        Ok(Text { zh: check("zh", zh)?, en: check("en", en)? })
    }

    /// The text in `locale`.
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.zh,
            Locale::En => &self.en,
        }
    }

    /// The Simplified Chinese text.
    pub fn zh(&self) -> &str {
        &self.zh
    }

    /// The English text.
    pub fn en(&self) -> &str {
        &self.en
    }
}

impl TryFrom<TextDocument> for Text {
    type Error = Rejected;

    fn try_from(document: TextDocument) -> Result<Text, Rejected> {
        Text::parse(&document.zh, &document.en).map_err(|(field, problem)| Rejected::new(field, problem))
    }
}

/// What and where a plan is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The categories covered (at least one).
    #[serde(with = "code_vec1")]
    pub categories: Vec<Category>,
    /// The sub-types covered (each with the sub-types that refine it); empty: every sub-type of the categories.
    #[serde(default, with = "text_vec", skip_serializing_if = "Vec::is_empty")]
    pub subtypes: Vec<SubtypeCode>,
    /// The levels of jurisdiction that may activate the plan (`sub_district`).
    #[serde(default, with = "code_vec", skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<JurisdictionLevel>,
    /// The codes of particular jurisdictions that may activate it.
    #[serde(default, with = "text_vec", skip_serializing_if = "Vec::is_empty")]
    pub jurisdictions: Vec<Code>,
}

/// A condition on the incident. Conditions nest through `all` and `any`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Every condition holds (an empty list is refused by the linter).
    All(Vec<Condition>),
    /// At least one condition holds (an empty list is refused by the linter).
    Any(Vec<Condition>),
    /// The event grade is this or more serious.
    GradeAtLeast(#[serde(with = "code")] Grade),
    /// A warning of this level or higher is in force.
    WarningAtLeast(#[serde(with = "code")] WarningLevel),
    /// The sub-type is one of these, or refines one of them.
    SubtypeIn(#[serde(with = "text_vec")] Vec<SubtypeCode>),
    /// A figure reaches a value.
    AtLeast(Threshold),
    /// At least this many jurisdictions of a level are affected.
    AffectedAtLeast(AffectedCount),
}

/// `measure >= value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The figure.
    #[serde(with = "code")]
    pub measure: Measure,
    /// The smallest value that meets the condition.
    pub value: u64,
}

/// At least `count` affected jurisdictions of `level`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedCount {
    /// The level counted (`grid`, `community`).
    #[serde(with = "code")]
    pub level: JurisdictionLevel,
    /// The smallest count that meets the condition.
    pub count: u32,
}

/// A trigger: when the condition holds, the plan activates at the level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The trigger's id.
    pub id: Ident,
    /// The response level it calls for.
    #[serde(with = "code")]
    pub response_level: ResponseLevel,
    /// When.
    pub when: Condition,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
}

/// Who: an organization (by code, or by sector and/or kind), a role, or a role within an organization; looked for at
/// an anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PartyDocument", into = "PartyDocument")]
pub struct Party {
    /// The organization, if the party is one or belongs to one.
    pub organization: Option<OrganizationSelector>,
    /// The role, if the party is the people holding one.
    pub role: Option<RoleSelector>,
    /// Where to look.
    pub at: Anchor,
}

/// How a party's organization is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationSelector {
    /// The organization with this code.
    Code(Code),
    /// The nearest organization of this sector and/or kind: at the anchor, or the closest level above it (the
    /// residents' committee of each affected community; the health department, not the health centre).
    Nearest {
        /// The sector it must work in, if any.
        sector: Option<Sector>,
        /// The kind it must be, if any.
        kind: Option<OrganizationKind>,
    },
}

/// How a party's people are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSelector {
    /// Members holding this role at the anchor (or below it, nearest first).
    Member(MemberRole),
    /// Members whose account holds this role over the anchor.
    Account(AccountRole),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyDocument {
    #[serde(default, with = "text_opt", skip_serializing_if = "Option::is_none")]
    organization: Option<Code>,
    #[serde(default, with = "code_opt", skip_serializing_if = "Option::is_none")]
    sector: Option<Sector>,
    #[serde(default, with = "code_opt", skip_serializing_if = "Option::is_none")]
    org_kind: Option<OrganizationKind>,
    #[serde(default, with = "code_opt", skip_serializing_if = "Option::is_none")]
    member_role: Option<MemberRole>,
    #[serde(default, with = "code_opt", skip_serializing_if = "Option::is_none")]
    account_role: Option<AccountRole>,
    #[serde(default, with = "code", skip_serializing_if = "is_home")]
    at: Anchor,
}

fn is_home(anchor: &Anchor) -> bool {
    *anchor == Anchor::Home
}

mod text_opt {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Code>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_some(value.as_str()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Code>, D::Error> {
        text::deserialize(deserializer).map(Some)
    }
}

impl TryFrom<PartyDocument> for Party {
    type Error = Rejected;

    fn try_from(document: PartyDocument) -> Result<Party, Rejected> {
        let by_code = document.organization.is_some();
        let by_filter = document.sector.is_some() || document.org_kind.is_some();
        let roles = usize::from(document.member_role.is_some()) + usize::from(document.account_role.is_some());
        // The organization is picked by code or by sector and/or kind, not both; at most one role; and an account role
        // stands alone, because account grants are scoped by jurisdiction, not by the organization a member belongs to.
        if (by_code && by_filter)
            || roles > 1
            || (!by_code && !by_filter && roles == 0)
            || (document.account_role.is_some() && (by_code || by_filter))
        {
            return Err(Rejected::new("", Problem::PartyShape));
        }
        let organization = match document.organization {
            Some(code) => Some(OrganizationSelector::Code(code)),
            None if by_filter => Some(OrganizationSelector::Nearest { sector: document.sector, kind: document.org_kind }),
            None => None,
        };
        let role = match (document.member_role, document.account_role) {
            (Some(role), _) => Some(RoleSelector::Member(role)),
            (_, Some(role)) => Some(RoleSelector::Account(role)),
            _ => None,
        };
        Ok(Party { organization, role, at: document.at })
    }
}

impl From<Party> for PartyDocument {
    fn from(party: Party) -> PartyDocument {
        let mut document =
            PartyDocument { organization: None, sector: None, org_kind: None, member_role: None, account_role: None, at: party.at };
        match party.organization {
            Some(OrganizationSelector::Code(code)) => document.organization = Some(code),
            Some(OrganizationSelector::Nearest { sector, kind }) => {
                document.sector = sector;
                document.org_kind = kind;
            }
            None => {}
        }
        match party.role {
            Some(RoleSelector::Member(role)) => document.member_role = Some(role),
            Some(RoleSelector::Account(role)) => document.account_role = Some(role),
            None => {}
        }
        document
    }
}

impl Party {
    /// Describes the party in `locale`, for task lists and findings ("grid member · each affected grid").
    pub fn describe(&self, locale: Locale) -> String {
        let mut parts = Vec::new();
        match &self.organization {
            Some(OrganizationSelector::Code(code)) => parts.push(code.as_str().to_string()),
            Some(OrganizationSelector::Nearest { sector, kind }) => {
                parts.extend(sector.map(|sector| sector.label(locale).to_string()));
                parts.extend(kind.map(|kind| kind.label(locale).to_string()));
            }
            None => {}
        }
        match self.role {
            Some(RoleSelector::Member(role)) => parts.push(role.label(locale).to_string()),
            Some(RoleSelector::Account(role)) => parts.push(role.label(locale).to_string()),
            None => {}
        }
        if self.at != Anchor::Home {
            parts.push(self.at.label(locale).to_string());
        }
        parts.join(" · ")
    }
}

/// One row of the responsibility matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responsibility {
    /// The function.
    #[serde(with = "code")]
    pub function: Function,
    /// Who leads (牵头); a draft may leave it empty, the linter reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<Party>,
    /// Who supports (配合).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub support: Vec<Party>,
    /// What the function involves, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duties: Option<Text>,
}

/// Minutes after activation (or stand-down): 0 to 10,080 (a week).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Minutes(u32);

impl Minutes {
    /// The largest offset accepted: a week.
    pub const MAX: u32 = 7 * 24 * 60;

    /// Checks an offset.
    pub fn parse(minutes: i64) -> Result<Minutes, Problem> {
        u32::try_from(minutes)
            .ok()
            .filter(|minutes| *minutes <= Minutes::MAX)
            .map(Minutes)
            .ok_or(Problem::OutOfRange { min: "0".into(), max: Minutes::MAX.to_string() })
    }

    /// The number of minutes.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The offset as a duration.
    pub fn duration(self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_mins(i64::from(self.0))
    }
}

impl<'de> Deserialize<'de> for Minutes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Minutes, D::Error> {
        let minutes = i64::deserialize(deserializer)?;
        Minutes::parse(minutes).map_err(|problem| crate::codes::problem_error("", problem))
    }
}

/// What must be done, by whom and by when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionTemplate {
    /// The action's id.
    pub id: Ident,
    /// The function it serves.
    #[serde(with = "code")]
    pub function: Function,
    /// What to do.
    pub title: Text,
    /// Who does it; absent: the function's lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Party>,
    /// Due this many minutes after activation (or stand-down, for stand-down actions).
    pub within_minutes: Minutes,
    /// Actions that must be done first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Ident>,
    /// Only from this response level up; absent: at every level.
    #[serde(default, with = "code_opt", skip_serializing_if = "Option::is_none")]
    pub from_level: Option<ResponseLevel>,
    /// Only when this condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// When the task is created.
    #[serde(default, with = "code", skip_serializing_if = "is_activation")]
    pub phase: Phase,
    /// For an upward-reporting action, the tier the report goes to, so its deadline can be checked.
    #[serde(default, with = "code_opt", skip_serializing_if = "Option::is_none")]
    pub reports_to: Option<ReportingTier>,
}

fn is_activation(phase: &Phase) -> bool {
    *phase == Phase::Activation
}

/// Escalation: when command passes up, and where overdue tasks go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// The most serious response level the activating jurisdiction commands itself; above it, command passes to
    /// the next level up.
    #[serde(with = "code")]
    pub handles_up_to: ResponseLevel,
    /// Further conditions that pass command up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<CommandEscalation>,
    /// Where overdue tasks go.
    pub overdue: OverdueRule,
}

/// A condition that passes command to a higher level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandEscalation {
    /// The rule's id.
    pub id: Ident,
    /// When.
    pub when: Condition,
    /// To whom.
    pub to: HandTo,
}

/// Which level takes command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandTo {
    /// The parent of the activating jurisdiction.
    NextLevel,
    /// The ancestor of the activating jurisdiction at this level.
    Level(#[serde(with = "code")] JurisdictionLevel),
}

/// What happens to a task nobody completes in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueRule {
    /// Escalate this many minutes after the due time (0: at the due time).
    pub after_minutes: Minutes,
    /// To whom.
    #[serde(with = "code")]
    pub to: OverdueTarget,
}

/// The upward reporting chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporting {
    /// The regulation whose clocks apply; the chain may be stricter, never looser.
    #[serde(default, with = "code_opt", skip_serializing_if = "Option::is_none")]
    pub statute: Option<Statute>,
    /// The chain, from the first tier that knows.
    pub chain: Vec<ReportingStepDocument>,
    /// Overall deadlines, counted from the first knowledge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<ReportingDeadlineDocument>,
}

/// One step of the reporting chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingStepDocument {
    /// Who reports.
    #[serde(with = "code")]
    pub from: ReportingTier,
    /// To whom.
    #[serde(with = "code")]
    pub to: ReportingTier,
    /// Within how many minutes of knowing.
    pub within_minutes: Minutes,
}

/// An overall deadline: `to` must know within `within_minutes` of the first knowledge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingDeadlineDocument {
    /// The tier that must know.
    #[serde(with = "code")]
    pub to: ReportingTier,
    /// Within how many minutes of the first knowledge.
    pub within_minutes: Minutes,
}

/// The mode the plan switches jurisdictions to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modes {
    /// The mode of the activating and affected jurisdictions while the plan is active.
    #[serde(with = "code")]
    pub on_activation: JurisdictionMode,
}

impl Default for Modes {
    fn default() -> Modes {
        Modes { on_activation: JurisdictionMode::Emergency }
    }
}

impl Modes {
    fn is_default(&self) -> bool {
        *self == Modes::default()
    }
}

/// What stand-down keeps open.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandDown {
    /// Open tasks of these functions stay open after stand-down (aftermath, upward reporting).
    #[serde(default, with = "code_vec", skip_serializing_if = "Vec::is_empty")]
    pub keep_functions: Vec<Function>,
}

impl StandDown {
    fn is_empty(&self) -> bool {
        self.keep_functions.is_empty()
    }
}

impl Plan {
    /// The matrix row of `function`, if any (the first, if the linter's duplicate finding was ignored).
    pub fn responsibility(&self, function: Function) -> Option<&Responsibility> {
        self.matrix.iter().find(|row| row.function == function)
    }

    /// The action with `id`.
    pub fn action(&self, id: &Ident) -> Option<&ActionTemplate> {
        self.actions.iter().find(|action| &action.id == id)
    }

    /// The reporting chain as a domain schedule, if it is a valid chain.
    pub fn reporting_schedule(&self) -> Result<domain::incident::ReportingSchedule, domain::Invalid> {
        let steps = self
            .reporting
            .chain
            .iter()
            .map(|step| domain::incident::ReportingStep {
                from: step.from,
                to: step.to,
                within: step.within_minutes.duration(),
                basis: None,
            })
            .collect();
        domain::incident::ReportingSchedule::new("reporting.chain", steps)
    }
}
