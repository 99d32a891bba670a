//! The plan crate's errors. A document that cannot be read becomes a [`ParseError`] naming the line, the column and
//! the field at fault, with a message in both languages; nothing of a malformed document is accepted.

use domain::i18n::{self, Locale};
use domain::ids::JurisdictionId;

use crate::codes::{Problem, decode_problem};

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The document is not a well-formed plan.
    #[error("{}", .0.message(Locale::En))]
    Malformed(ParseError),
    /// The document is larger than a plan can reasonably be.
    #[error("the plan document is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A jurisdiction of the situation is not in the registry snapshot.
    #[error("jurisdiction {0} is not in the registry")]
    UnknownJurisdiction(JurisdictionId),
    /// The plan's scope does not cover the incident's category, sub-type or jurisdiction.
    #[error("plan {plan} does not cover this incident")]
    NotApplicable {
        /// The plan's code.
        plan: String,
    },
    /// No trigger of the plan holds and no response level was asked for.
    #[error("no trigger of plan {plan} holds")]
    NotTriggered {
        /// The plan's code.
        plan: String,
    },
}

impl PlanError {
    /// The stable snake_case code, for the API's problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::Malformed(_) => "plan_malformed",
            PlanError::TooLarge { .. } => "plan_too_large",
            PlanError::UnknownJurisdiction(_) => "plan_unknown_jurisdiction",
            PlanError::NotApplicable { .. } => "plan_not_applicable",
            PlanError::NotTriggered { .. } => "plan_not_triggered",
        }
    }

    /// The message in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        match self {
            PlanError::Malformed(error) => error.message(locale),
            PlanError::TooLarge { limit } => i18n::format(locale, "plan_error.too_large", &[("limit", limit.to_string())]),
            PlanError::UnknownJurisdiction(id) => i18n::format(locale, "plan_error.unknown_jurisdiction", &[("id", id.to_string())]),
            PlanError::NotApplicable { plan } => i18n::format(locale, "plan_error.not_applicable", &[("plan", plan.clone())]),
            PlanError::NotTriggered { plan } => i18n::format(locale, "plan_error.not_triggered", &[("plan", plan.clone())]),
        }
    }
}

/// Where a document could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
    /// The path of the field at fault (`matrix[2].lead.member_role`); empty for the document itself.
    pub field: String,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The text is not JSON; the code names the JSON problem (`trailing_comma`, `eof` …).
    Syntax {
        /// The stable code of the JSON problem.
        code: &'static str,
    },
    /// A required field is missing.
    MissingField {
        /// The field's name.
        name: String,
    },
    /// A field the format does not have.
    UnknownField {
        /// The field's name.
        name: String,
        /// The fields allowed there.
        expected: String,
    },
    /// A field given twice.
    DuplicateField {
        /// The field's name.
        name: String,
    },
    /// A value of the wrong JSON type.
    WrongType {
        /// What was found (`string`, `integer` …).
        found: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// A variant (a condition, a hand-over target) the format does not have.
    UnknownVariant {
        /// The variant found.
        value: String,
        /// The variants allowed.
        allowed: String,
    },
    /// A value read with the right type but rejected.
    Value(Problem),
}

impl ParseErrorKind {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ParseErrorKind::Syntax { .. } => "syntax",
            ParseErrorKind::MissingField { .. } => "missing_field",
            ParseErrorKind::UnknownField { .. } => "unknown_field",
            ParseErrorKind::DuplicateField { .. } => "duplicate_field",
            ParseErrorKind::WrongType { .. } => "wrong_type",
            ParseErrorKind::UnknownVariant { .. } => "unknown_variant",
            ParseErrorKind::Value(problem) => problem.code(),
        }
    }

    /// What is wrong, in `locale`, without the position.
    pub fn message(&self, locale: Locale) -> String {
        let key = |code: &str| format!("plan_parse.{code}");
        match self {
            ParseErrorKind::Syntax { code } => {
                let detail = i18n::text(locale, &format!("plan_syntax.{code}")).to_string();
                i18n::format(locale, &key("syntax"), &[("detail", detail)])
            }
            ParseErrorKind::MissingField { name } => i18n::format(locale, &key("missing_field"), &[("name", name.clone())]),
            ParseErrorKind::UnknownField { name, expected } => {
                i18n::format(locale, &key("unknown_field"), &[("name", name.clone()), ("expected", expected.clone())])
            }
            ParseErrorKind::DuplicateField { name } => i18n::format(locale, &key("duplicate_field"), &[("name", name.clone())]),
            ParseErrorKind::WrongType { found, expected } => i18n::format(
                locale,
                &key("wrong_type"),
                &[
                    ("found", i18n::text(locale, &format!("plan_json_type.{found}")).to_string()),
                    ("expected", i18n::text(locale, &format!("plan_json_type.{expected}")).to_string()),
                ],
            ),
            ParseErrorKind::UnknownVariant { value, allowed } => {
                i18n::format(locale, &key("unknown_variant"), &[("value", value.clone()), ("allowed", allowed.clone())])
            }
            ParseErrorKind::Value(problem) => i18n::format(locale, &key(problem.code()), &problem.params()),
        }
    }
}

impl ParseError {
    /// The full message in `locale`: "Line 12, column 31, matrix[2].lead: …".
    pub fn message(&self, locale: Locale) -> String {
        let field = if self.field.is_empty() { i18n::text(locale, "plan_error.document").to_string() } else { self.field.clone() };
        i18n::format(
            locale,
            "plan_error.at",
            &[
                ("line", self.line.to_string()),
                ("column", self.column.to_string()),
                ("field", field),
                ("problem", self.kind.message(locale)),
            ],
        )
    }

    /// Builds the error from serde_json's error and the path serde_path_to_error tracked.
    pub(crate) fn from_serde(path: &str, error: &serde_json::Error) -> ParseError {
        let mut field = path.to_string();
        if field == "." {
            field.clear();
        }
        let full = error.to_string();
        // serde_json appends " at line L column C" to every message; the position is kept apart.
        let message = match full.rfind(" at line ") {
            Some(index) if error.line() > 0 => &full[..index],
            _ => full.as_str(),
        };
        let kind = match error.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
                ParseErrorKind::Syntax { code: syntax_code(message) }
            }
            serde_json::error::Category::Data => data_kind(message, &mut field),
        };
        ParseError { line: error.line().max(1), column: error.column().max(1), field, kind }
    }
}

/// The stable code of a JSON syntax problem, from serde_json's message.
fn syntax_code(message: &str) -> &'static str {
    const CODES: &[(&str, &str)] = &[
        ("EOF while parsing", "eof"),
        ("expected `:`", "expected_colon"),
        ("expected `,` or `]`", "expected_comma_or_bracket"),
        ("expected `,` or `}`", "expected_comma_or_brace"),
        ("expected ident", "expected_value"),
        ("expected value", "expected_value"),
        ("expected `\"`", "expected_quote"),
        ("invalid escape", "invalid_escape"),
        ("invalid number", "invalid_number"),
        ("number out of range", "number_out_of_range"),
        ("invalid unicode code point", "invalid_unicode"),
        ("lone leading surrogate", "invalid_unicode"),
        ("unexpected end of hex escape", "invalid_unicode"),
        ("control character", "control_character"),
        ("key must be a string", "key_must_be_string"),
        ("trailing comma", "trailing_comma"),
        ("trailing characters", "trailing_characters"),
        ("recursion limit exceeded", "too_deep"),
    ];
    CODES.iter().find(|(prefix, _)| message.starts_with(prefix)).map(|(_, code)| *code).unwrap_or("other")
}

/// The text between the first pair of backticks after `prefix`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    rest.split_once('`').map(|(quoted, _)| quoted)
}

/// The list serde puts after "expected", without its backticks.
fn expected_list(message: &str) -> String {
    let list = message.split_once(", expected one of ").or_else(|| message.split_once(", expected ")).map(|(_, list)| list).unwrap_or("");
    list.replace('`', "")
}

fn json_type(text: &str) -> &'static str {
    let text = text.trim();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|prefix| text.starts_with(prefix));
    if starts(&["string", "a string", "char"]) {
        "string"
    } else if starts(&["integer", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "a nonzero", "nonzero"]) {
        "integer"
    } else if starts(&["floating point", "f32", "f64"]) {
        "number"
    } else if starts(&["boolean", "a boolean", "bool"]) {
        "boolean"
    } else if starts(&["map", "a map", "struct", "a struct"]) {
        "object"
    } else if starts(&["sequence", "a sequence", "tuple", "a tuple"]) {
        "array"
    } else if starts(&["null", "unit", "option"]) {
        "null"
    } else if starts(&["enum", "an enum", "unit variant", "newtype variant", "variant"]) {
        "variant"
    } else {
        "value"
    }
}

/// Classifies a serde data error. Serde's messages have stable shapes ("missing field `x`"); values this crate
/// rejected carry an encoded [`Problem`], whose sub-field is appended to `field`.
fn data_kind(message: &str, field: &mut String) -> ParseErrorKind {
    if let Some((subfield, problem)) = decode_problem(message) {
        if !subfield.is_empty() {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(&subfield);
        }
        return ParseErrorKind::Value(problem);
    }
    if let Some(name) = quoted_after(message, "missing field ") {
        // serde names the missing field in the message; the path stops at the object that lacks it.
        let name = name.to_string();
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(&name);
        return ParseErrorKind::MissingField { name };
    }
    if let Some(name) = quoted_after(message, "unknown field ") {
        return ParseErrorKind::UnknownField { name: name.to_string(), expected: expected_list(message) };
    }
    if let Some(name) = quoted_after(message, "duplicate field ") {
        let name = name.to_string();
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(&name);
        return ParseErrorKind::DuplicateField { name };
    }
    if let Some(value) = quoted_after(message, "unknown variant ") {
        return ParseErrorKind::UnknownVariant { value: value.to_string(), allowed: expected_list(message) };
    }
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let found = if prefix == "invalid length " { "array" } else { json_type(found) };
            return ParseErrorKind::WrongType { found, expected: json_type(expected) };
        }
    }
    ParseErrorKind::WrongType { found: "value", expected: "value" }
}
