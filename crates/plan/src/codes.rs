//! The closed sets a plan speaks in, and how coded values travel through serde.
//!
//! Domain types derive no serde traits (ARCHITECTURE.md), so a plan document carries them as their stable codes:
//! the `code`, `code_opt` and `code_vec` modules below are used with `#[serde(with = …)]` on fields of domain
//! enum types, and the `text` modules do the same for domain newtypes parsed from strings. A value that does not
//! parse becomes a serde error whose text carries a [`Problem`] encoded by [`problem_error`]; `error.rs` decodes it,
//! so the message can be given in both languages.

use domain::coded_enum;
use domain::incident::{Category, Grade, Measure, ReportingTier, ResponseLevel, SubtypeCode, WarningLevel};
use domain::policy::AccountRole;
use domain::registry::{JurisdictionLevel, JurisdictionMode, MemberRole, OrganizationKind, Sector};
use domain::text::Code;
use serde::{Deserialize, Deserializer, Serializer};

coded_enum! {
    /// A function of the responsibility matrix: a line of work someone must lead during a response. The set follows
    /// the ICS sections and the working groups of Chinese plans (DOMAIN.md §1.4, §4.1).
    Function, "plan_function" {
        /// Command and coordination (指挥协调).
        Command = "command",
        /// Monitoring, assessment and forecasting (监测研判).
        Monitoring = "monitoring",
        /// Warning relay to residents and units (预警发布与传达).
        Warning = "warning",
        /// Evacuation and transfer of people at risk (转移疏散).
        Evacuation = "evacuation",
        /// Checking on and protecting vulnerable residents (特殊群体关爱, ERL Art. 11).
        VulnerablePersons = "vulnerable_persons",
        /// Search, rescue and firefighting (抢险救援).
        Rescue = "rescue",
        /// Controlling the hazard source: shutting valves, isolating, cordoning the danger zone (危险源控制).
        HazardControl = "hazard_control",
        /// Medical treatment and emergency medical transport (医疗救治).
        Medical = "medical",
        /// Epidemic control: investigation, tracing, quarantine, disinfection (疫情防控).
        EpidemicControl = "epidemic_control",
        /// Traffic control and diversion (交通管制).
        TrafficControl = "traffic_control",
        /// Public order and site security (治安维护).
        PublicOrder = "public_order",
        /// Shelter and basic living of displaced people (安置保障).
        Shelter = "shelter",
        /// Drainage and pumping (排水排涝).
        Drainage = "drainage",
        /// Utilities: power, water, gas and telecom kept running or restored (生命线保障).
        Utilities = "utilities",
        /// Materials, equipment and transport for responders (物资保障).
        Logistics = "logistics",
        /// Public information and rumour rebuttal (信息发布与舆情).
        PublicInformation = "public_information",
        /// Reporting up to the higher levels (信息报送).
        UpwardReporting = "upward_reporting",
        /// Coordinating volunteers and social forces (志愿者与社会力量).
        VolunteerCoordination = "volunteer_coordination",
        /// Aftermath: relief, loss assessment, restoration (善后处置).
        Aftermath = "aftermath",
    }
}

impl Function {
    /// The functions every plan must assign: someone commands (ERL Art. 19) and someone reports up (Arts. 17, 61).
    pub const ESSENTIAL: &'static [Function] = &[Function::Command, Function::UpwardReporting];
}

coded_enum! {
    /// The kind of plan in the plan system (DOMAIN.md §1.4).
    PlanKind, "plan_kind" {
        /// An overall plan of a government (总体应急预案).
        Overall = "overall",
        /// A special plan for one hazard or task (专项应急预案).
        Special = "special",
        /// A department's plan (部门应急预案).
        Departmental = "departmental",
        /// A sub-district, township, community or village plan (基层应急预案).
        Grassroots = "grassroots",
        /// A unit's own plan: an enterprise, school or venue (单位应急预案).
        Unit = "unit",
    }
}

coded_enum! {
    /// Where a party of the plan is looked for, relative to the incident.
    #[derive(Default)]
    Anchor, "plan_anchor" {
        /// The jurisdiction that activates the plan (the incident's responsible jurisdiction).
        #[default]
        Home = "home",
        /// Each affected grid: one task per grid.
        EachAffectedGrid = "each_affected_grid",
        /// Each affected community: one task per community.
        EachAffectedCommunity = "each_affected_community",
    }
}

coded_enum! {
    /// When an action template produces its task.
    #[derive(Default)]
    Phase, "plan_phase" {
        /// At activation; due at activation + offset.
        #[default]
        Activation = "activation",
        /// At stand-down; due at stand-down + offset.
        StandDown = "stand_down",
    }
}

coded_enum! {
    /// To whom an overdue task escalates.
    OverdueTarget, "plan_overdue_target" {
        /// The owner's superior: the community cadre above a grid member, the duty officer above a community, the
        /// parent of an organization; the command lead when there is none.
        Superior = "superior",
        /// The lead of the task's function.
        FunctionLead = "function_lead",
        /// The lead of the command function.
        CommandLead = "command_lead",
    }
}

coded_enum! {
    /// The statutory reporting regulation a plan follows (DOMAIN.md §1.3.2).
    Statute, "plan_statute" {
        /// 生产安全事故报告和调查处理条例: 1 hour, then 2 hours per level.
        ProductionSafety = "production_safety",
        /// 突发公共卫生事件应急条例: 2 hours per step.
        PublicHealth = "public_health",
    }
}

impl Statute {
    /// The regulation's reporting chain.
    pub fn schedule(self) -> domain::incident::ReportingSchedule {
        match self {
            Statute::ProductionSafety => domain::incident::ReportingSchedule::production_safety(),
            Statute::PublicHealth => domain::incident::ReportingSchedule::public_health(),
        }
    }
}

/// A closed set of values with stable codes: every `coded_enum!` type a plan uses.
pub trait CodeSet: Copy + Sized + 'static {
    /// Every code, in declaration order.
    const CODE_LIST: &'static [&'static str];
    /// The value's code.
    fn to_code(self) -> &'static str;
    /// The value of a code.
    fn from_code(code: &str) -> Option<Self>;
}

macro_rules! code_sets {
    ($($name:ty),* $(,)?) => {$(
        impl CodeSet for $name {
            const CODE_LIST: &'static [&'static str] = <$name>::CODES;
            fn to_code(self) -> &'static str {
                self.code()
            }
            fn from_code(code: &str) -> Option<Self> {
                <$name>::ALL.iter().copied().find(|value| value.code() == code)
            }
        }
    )*};
}

code_sets!(
    Category,
    Grade,
    WarningLevel,
    ResponseLevel,
    Measure,
    ReportingTier,
    MemberRole,
    AccountRole,
    Sector,
    OrganizationKind,
    JurisdictionLevel,
    JurisdictionMode,
    Function,
    PlanKind,
    Anchor,
    Phase,
    OverdueTarget,
    Statute,
);

/// What was wrong with a value, beyond what serde itself says. Each has a stable code and a message in the catalogs
/// (`plan_parse.<code>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The value is not one of the allowed codes.
    UnknownValue { value: String, allowed: String },
    /// Required text or list is empty.
    Required,
    /// The text is longer than `max` characters.
    TooLong { max: usize },
    /// The text contains characters outside the allowed set.
    BadCharacters { allowed: String },
    /// A number outside its range.
    OutOfRange { min: String, max: String },
    /// A party names no organization or role, or more than one of a kind.
    PartyShape,
    /// The document declares another format.
    UnsupportedFormat { found: String, expected: String },
}

impl Problem {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::UnknownValue { .. } => "unknown_value",
            Problem::Required => "required",
            Problem::TooLong { .. } => "too_long",
            Problem::BadCharacters { .. } => "bad_characters",
            Problem::OutOfRange { .. } => "out_of_range",
            Problem::PartyShape => "party_shape",
            Problem::UnsupportedFormat { .. } => "unsupported_format",
        }
    }

    /// The named parameters of the message.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Problem::UnknownValue { value, allowed } => vec![("value", value.clone()), ("allowed", allowed.clone())],
            Problem::TooLong { max } => vec![("max", max.to_string())],
            Problem::BadCharacters { allowed } => vec![("allowed", allowed.clone())],
            Problem::OutOfRange { min, max } => vec![("min", min.clone()), ("max", max.clone())],
            Problem::UnsupportedFormat { found, expected } => vec![("found", found.clone()), ("expected", expected.clone())],
            Problem::Required | Problem::PartyShape => Vec::new(),
        }
    }

    /// The problem a domain validation error describes.
    pub fn from_invalid(invalid: &domain::Invalid) -> Problem {
        use domain::InvalidReason;
        match &invalid.reason {
            InvalidReason::Required => Problem::Required,
            InvalidReason::TooLong { max } => Problem::TooLong { max: *max },
            InvalidReason::BadCharacters { allowed } => Problem::BadCharacters { allowed: (*allowed).to_string() },
            InvalidReason::OutOfRange { min, max } => Problem::OutOfRange { min: min.clone(), max: max.clone() },
            InvalidReason::UnknownValue { allowed } => Problem::UnknownValue { value: String::new(), allowed: allowed.join(", ") },
            // The text parsers used for plan fields (codes of the registry and of sub-types) give only the reasons
            // above; any other is reported as a character problem rather than lost.
            other => Problem::BadCharacters { allowed: other.code().to_string() },
        }
    }
}

/// Separates the parts of an encoded problem. Serde's own messages never contain it.
pub(crate) const MARK: char = '\u{1f}';

/// A serde error carrying `problem`, found in the sub-field `subfield` of the value (empty: the value itself).
pub(crate) fn problem_error<E: serde::de::Error>(subfield: &str, problem: Problem) -> E {
    let mut text = String::new();
    text.push(MARK);
    text.push_str(subfield);
    text.push(MARK);
    text.push_str(problem.code());
    for (name, value) in problem.params() {
        text.push(MARK);
        text.push_str(name);
        text.push('=');
        text.push_str(&value);
    }
    E::custom(text)
}

/// Decodes a message made by [`problem_error`]: the sub-field and the problem.
pub(crate) fn decode_problem(message: &str) -> Option<(String, Problem)> {
    let rest = message.strip_prefix(MARK)?;
    let mut parts = rest.split(MARK);
    let subfield = parts.next()?.to_string();
    let code = parts.next()?;
    let params: Vec<(&str, &str)> = parts.filter_map(|part| part.split_once('=')).collect();
    let param = |name: &str| params.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string()).unwrap_or_default();
    let problem = match code {
        "unknown_value" => Problem::UnknownValue { value: param("value"), allowed: param("allowed") },
        "required" => Problem::Required,
        "too_long" => Problem::TooLong { max: param("max").parse().unwrap_or(0) },
        "bad_characters" => Problem::BadCharacters { allowed: param("allowed") },
        "out_of_range" => Problem::OutOfRange { min: param("min"), max: param("max") },
        "party_shape" => Problem::PartyShape,
        "unsupported_format" => Problem::UnsupportedFormat { found: param("found"), expected: param("expected") },
        _ => return None,
    };
    Some((subfield, problem))
}

fn parse_code<'de, T: CodeSet, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    let text = String::deserialize(deserializer)?;
    T::from_code(&text).ok_or_else(|| problem_error("", Problem::UnknownValue { value: text, allowed: T::CODE_LIST.join(", ") }))
}

/// `#[serde(with = "code")]` for a field holding a coded value.
pub(crate) mod code {
    use super::*;

    pub fn serialize<T: CodeSet, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.to_code())
    }

    pub fn deserialize<'de, T: CodeSet, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        parse_code(deserializer)
    }
}

/// `#[serde(with = "code_opt")]` for an optional coded value (use with `default`).
pub(crate) mod code_opt {
    use super::*;

    pub fn serialize<T: CodeSet, S: Serializer>(value: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_some(value.to_code()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: CodeSet, D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
        parse_code(deserializer).map(Some)
    }
}

/// `#[serde(with = "code_vec")]` for a list of coded values.
pub(crate) mod code_vec {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<T: CodeSet, S: Serializer>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for value in values {
            seq.serialize_element(value.to_code())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, T: CodeSet, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
        // Each element is read on its own, so that an error names its index (`categories[1]`).
        Ok(Vec::<Element<T>>::deserialize(deserializer)?.into_iter().map(|element| element.0).collect())
    }

    struct Element<T>(T);

    impl<'de, T: CodeSet> Deserialize<'de> for Element<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            parse_code(deserializer).map(Element)
        }
    }
}

/// `#[serde(with = "code_vec1")]` for a list of coded values that must not be empty.
pub(crate) mod code_vec1 {
    use super::*;

    pub fn serialize<T: CodeSet, S: Serializer>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
        code_vec::serialize(values, serializer)
    }

    pub fn deserialize<'de, T: CodeSet, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
        let values = code_vec::deserialize(deserializer)?;
        if values.is_empty() { Err(problem_error("", Problem::Required)) } else { Ok(values) }
    }
}

/// A domain newtype parsed from a string.
pub trait TextValue: Sized {
    /// Parses the text.
    fn parse_text(text: &str) -> Result<Self, domain::Invalid>;
    /// The text.
    fn as_text(&self) -> &str;
}

impl TextValue for SubtypeCode {
    fn parse_text(text: &str) -> Result<Self, domain::Invalid> {
        SubtypeCode::parse("", text)
    }
    fn as_text(&self) -> &str {
        self.as_str()
    }
}

impl TextValue for Code {
    fn parse_text(text: &str) -> Result<Self, domain::Invalid> {
        Code::parse("", text)
    }
    fn as_text(&self) -> &str {
        self.as_str()
    }
}

fn parse_text_value<'de, T: TextValue, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    let text = String::deserialize(deserializer)?;
    T::parse_text(&text).map_err(|invalid| problem_error("", Problem::from_invalid(&invalid)))
}

/// Reading a single domain newtype parsed from a string (optional fields wrap it).
pub(crate) mod text {
    use super::*;

    pub fn deserialize<'de, T: TextValue, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        parse_text_value(deserializer)
    }
}

/// `#[serde(with = "text_vec")]` for a list of domain newtypes parsed from strings.
pub(crate) mod text_vec {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<T: TextValue, S: Serializer>(values: &[T], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for value in values {
            seq.serialize_element(value.as_text())?;
        }
        seq.end()
    }

    pub fn deserialize<'de, T: TextValue, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
        Ok(Vec::<Element<T>>::deserialize(deserializer)?.into_iter().map(|element| element.0).collect())
    }

    struct Element<T>(T);

    impl<'de, T: TextValue> Deserialize<'de> for Element<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            parse_text_value(deserializer).map(Element)
        }
    }
}

/// Rejects a value with a problem, for `TryFrom` conversions used by `#[serde(try_from = …)]`.
#[derive(Debug)]
pub(crate) struct Rejected(pub(crate) String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Rejected {
    pub(crate) fn new(subfield: &str, problem: Problem) -> Rejected {
        let error: serde_json::Error = problem_error(subfield, problem);
        Rejected(error.to_string())
    }
}
