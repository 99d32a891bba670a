//! Validation errors: what was wrong with a piece of input, and where.
//!
//! A validation error names the field at fault (a JSON-pointer-like path such as `boundary.coordinates[0][3]`),
//! a stable snake_case reason code that front-ends translate, and the parameters the message needs.

use std::fmt;

/// Why a value was rejected. Each reason has a stable code and a message in every locale (see `i18n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidReason {
    /// The value is required and was missing or empty.
    Required,
    /// The text is longer than `max` characters.
    TooLong { max: usize },
    /// The text is shorter than `min` characters.
    TooShort { min: usize },
    /// The text contains characters outside the allowed set, which is described by `allowed`.
    BadCharacters { allowed: &'static str },
    /// The value is not one of the allowed values.
    UnknownValue { allowed: Vec<&'static str> },
    /// A number is outside its range.
    OutOfRange { min: String, max: String },
    /// The value has the wrong shape, described in English in `expected` (for example `"YYYY-MM-DD"`).
    Malformed { expected: &'static str },
    /// A ring of a polygon does not end where it starts.
    RingNotClosed,
    /// A ring has fewer than four positions.
    RingTooShort,
    /// A polygon or ring encloses no area.
    ZeroArea,
    /// The geometry type is not one that this field accepts.
    UnsupportedGeometry { found: String },
    /// A jurisdiction of one level cannot be placed under a jurisdiction of another level.
    BadParentLevel { child: &'static str, parent: &'static str },
    /// The same value appears twice where it must be unique.
    Duplicate,
    /// The value refers to something that does not exist (an unknown id or code).
    NotFound,
    /// A rule of a standard or a checker that explains itself in both languages (a CAP rule, a geometry check).
    Explained {
        /// The rule's own code, for machines (for example `polygon_closed`, `self_intersection`).
        rule: String,
        /// The explanation in English.
        en: String,
        /// The explanation in Chinese.
        zh: String,
    },
}

impl InvalidReason {
    /// The stable snake_case code of this reason.
    pub fn code(&self) -> &'static str {
        match self {
            InvalidReason::Required => "required",
            InvalidReason::TooLong { .. } => "too_long",
            InvalidReason::TooShort { .. } => "too_short",
            InvalidReason::BadCharacters { .. } => "bad_characters",
            InvalidReason::UnknownValue { .. } => "unknown_value",
            InvalidReason::OutOfRange { .. } => "out_of_range",
            InvalidReason::Malformed { .. } => "malformed",
            InvalidReason::RingNotClosed => "ring_not_closed",
            InvalidReason::RingTooShort => "ring_too_short",
            InvalidReason::ZeroArea => "zero_area",
            InvalidReason::UnsupportedGeometry { .. } => "unsupported_geometry",
            InvalidReason::BadParentLevel { .. } => "bad_parent_level",
            InvalidReason::Duplicate => "duplicate",
            InvalidReason::NotFound => "not_found",
            InvalidReason::Explained { .. } => "explained",
        }
    }

    /// The named parameters of the message, as `(name, value)` pairs.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            InvalidReason::TooLong { max } => vec![("max", max.to_string())],
            InvalidReason::TooShort { min } => vec![("min", min.to_string())],
            InvalidReason::BadCharacters { allowed } => vec![("allowed", (*allowed).to_string())],
            InvalidReason::UnknownValue { allowed } => vec![("allowed", allowed.join(", "))],
            InvalidReason::OutOfRange { min, max } => vec![("min", min.clone()), ("max", max.clone())],
            InvalidReason::Malformed { expected } => vec![("expected", (*expected).to_string())],
            InvalidReason::UnsupportedGeometry { found } => vec![("found", found.clone())],
            InvalidReason::BadParentLevel { child, parent } => {
                vec![("child", (*child).to_string()), ("parent", (*parent).to_string())]
            }
            InvalidReason::Required
            | InvalidReason::RingNotClosed
            | InvalidReason::RingTooShort
            | InvalidReason::ZeroArea
            | InvalidReason::Duplicate
            | InvalidReason::NotFound
            | InvalidReason::Explained { .. } => Vec::new(),
        }
    }
}

/// A rejected value: the field at fault and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Path of the field at fault, for example `name_zh` or `boundary.coordinates[0][0][3]`.
    pub field: String,
    /// Why it was rejected.
    pub reason: InvalidReason,
}

impl Invalid {
    /// Creates an error for `field`.
    pub fn new(field: impl Into<String>, reason: InvalidReason) -> Invalid {
        Invalid { field: field.into(), reason }
    }

    /// Prefixes the field path with `parent`, for errors found in a nested value.
    pub fn within(mut self, parent: &str) -> Invalid {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }

    /// The message in `locale`, for example "name_zh: must be at most 100 characters".
    pub fn message(&self, locale: crate::Locale) -> String {
        let reason = match &self.reason {
            InvalidReason::Explained { en, zh, .. } => match locale {
                crate::Locale::ZhCn => zh.clone(),
                crate::Locale::En => en.clone(),
            },
            other => crate::i18n::format(locale, &format!("invalid.{}", other.code()), &other.params()),
        };
        format!("{}{}{reason}", self.field, crate::i18n::text(locale, "punct.colon"))
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(crate::Locale::En))
    }
}

impl std::error::Error for Invalid {}
