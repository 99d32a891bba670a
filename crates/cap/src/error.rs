//! The one error type of the `cap` crate.
//!
//! Problems inside a document are not errors: parsing and checking return them as `Finding`s.
//! `CapError` is for what a caller asked of a single value or function that cannot be done: building a polygon from
//! an open ring, a GB/T 35965.1 identifier from a seven-digit code, reading from a failing reader, or insisting on a
//! conforming document when it is not.
//! Every variant has a stable snake_case code and messages in English (`Display`) and Simplified Chinese.

use crate::finding::{Finding, Language, Rule, fill};

/// Everything that can go wrong when calling the `cap` crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CapError {
    /// A value that breaks one of the rules, given to a constructor (`Polygon::parse`, `CapDateTime::parse`, …).
    #[error("{}", fill(rule.template_en(), element, value, related.as_deref().unwrap_or("")))]
    InvalidValue {
        /// The rule the value breaks; its code is the error's code.
        rule: Rule,
        /// The CAP element the value is for, such as `polygon`.
        element: &'static str,
        /// The value as given.
        value: String,
        /// A second value the rule's message refers to.
        related: Option<String>,
    },
    /// A document that has error findings, where the caller asked for a conforming one.
    #[error("the document does not conform: {}", first_message(findings, Language::En))]
    NotConforming {
        /// Every finding, errors and warnings.
        findings: Vec<Finding>,
    },
    /// The reader failed.
    #[error("cannot read the document: {0}")]
    Io(#[from] std::io::Error),
}

fn first_message(findings: &[Finding], language: Language) -> String {
    match findings.iter().find(|f| f.is_error()) {
        Some(first) => {
            let more = findings.iter().filter(|f| f.is_error()).count() - 1;
            let location = match first.line {
                Some(line) => format!("{} ({line})", first.path),
                None => first.path.clone(),
            };
            let tail = match (more, language) {
                (0, _) => String::new(),
                (n, Language::En) => format!(" (and {n} more)"),
                (n, Language::ZhCn) => format!("（另有 {n} 处）"),
            };
            format!("{location}: {}{tail}", first.message(language))
        }
        None => String::new(),
    }
}

impl CapError {
    /// Every code that `code()` can return besides the rule codes of `InvalidValue`, for catalogue checks.
    pub const OTHER_CODES: &'static [&'static str] = &["not_conforming", "io"];

    /// A value error for `element`.
    pub(crate) fn invalid(rule: Rule, element: &'static str, value: impl Into<String>) -> Self {
        Self::InvalidValue { rule, element, value: value.into(), related: None }
    }

    /// A value error for `element` whose message names a second value.
    pub(crate) fn invalid_related(rule: Rule, element: &'static str, value: impl Into<String>, related: impl Into<String>) -> Self {
        Self::InvalidValue { rule, element, value: value.into(), related: Some(related.into()) }
    }

    /// The stable snake_case code: the rule's code for `InvalidValue`, else `not_conforming` or `io`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidValue { rule, .. } => rule.code(),
            Self::NotConforming { .. } => "not_conforming",
            Self::Io(_) => "io",
        }
    }

    /// The message in the given language.
    pub fn message(&self, language: Language) -> String {
        match (self, language) {
            (_, Language::En) => self.to_string(),
            (Self::InvalidValue { rule, element, value, related }, Language::ZhCn) => {
                fill(rule.template_zh(), element, value, related.as_deref().unwrap_or(""))
            }
            (Self::NotConforming { findings }, Language::ZhCn) => format!("文档不符合规范：{}", first_message(findings, Language::ZhCn)),
            (Self::Io(error), Language::ZhCn) => format!("无法读取文档：{error}"),
        }
    }

    /// The message in Simplified Chinese.
    pub fn message_zh(&self) -> String {
        self.message(Language::ZhCn)
    }

    /// Turns a value error into a finding at `path` and `line`; other errors become an `xml_malformed` finding.
    pub(crate) fn into_finding(self, path: &str, line: Option<u32>) -> Finding {
        match self {
            Self::InvalidValue { rule, value, related, .. } => {
                let mut finding = Finding::new(rule, path).at_line(line).with_value(value);
                finding.related = related;
                finding
            }
            other => Finding::new(Rule::XmlMalformed, path).at_line(line).with_value(other.to_string()),
        }
    }
}
