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

    /// The named parameters of the message in `locale`, as `(name, value)` pairs.
    pub fn params_in(&self, locale: crate::Locale) -> Vec<(&'static str, String)> {
        match self {
            InvalidReason::BadCharacters { allowed } => vec![("allowed", phrase(locale, allowed).to_string())],
            InvalidReason::Malformed { expected } => vec![("expected", phrase(locale, expected).to_string())],
            other => other.params(),
        }
    }

    /// The named parameters of the message, as `(name, value)` pairs (descriptions in English).
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

/// The descriptions of what a value should look like (`Malformed { expected }`) and which characters it may hold
/// (`BadCharacters { allowed }`), in Chinese: the code writes them in English, and a Chinese reader must not get
/// English in the middle of a Chinese message. A tidy test finds every description in the sources and fails on
/// one missing here.
const PHRASES_ZH: &[(&str, &str)] = &[
    ("+8613800000000", "+8613800000000"),
    ("31.23, 121.47", "31.23, 121.47"),
    ("A-Z a-z 0-9 - _ .", "A-Z a-z 0-9 - _ ."),
    ("RFC 3339", "RFC 3339 时间"),
    ("UTF-8 CSV", "UTF-8 编码的 CSV"),
    ("UTF-8 JSON", "UTF-8 编码的 JSON"),
    ("UTF-8 YAML or JSON", "UTF-8 编码的 YAML 或 JSON"),
    ("UTF-8 text", "UTF-8 编码的文本"),
    ("YYYY-MM-DD", "YYYY-MM-DD"),
    ("[lon, lat]", "[经度, 纬度]"),
    ("[longitude, latitude]", "[经度, 纬度]"),
    ("a CSV header line", "CSV 表头行"),
    ("a GeoJSON geometry", "GeoJSON 几何"),
    ("a GeoJSON geometry object", "GeoJSON 几何对象"),
    ("a broader sub-type of the same category", "同一类别下更宽泛的子类型"),
    ("a decimal number", "十进制数"),
    ("a finite number", "有限数值"),
    ("a jurisdiction id", "辖区编号"),
    ("a media URL", "媒体文件地址"),
    ("a number", "数字"),
    ("a password other than the username", "与用户名不同的密码"),
    ("a phone number", "电话号码"),
    ("a radius in metres", "以米为单位的半径"),
    ("a sub-type of the given category", "所给类别下的子类型"),
    ("a-z 0-9 - _ (starting with a letter)", "a-z 0-9 - _（以字母开头）"),
    ("a-z 0-9 . _ - (starting with a letter)", "a-z 0-9 . _ -（以字母开头）"),
    ("a-z 0-9 _", "a-z 0-9 _"),
    ("a-z 0-9 _ (starting with a letter)", "a-z 0-9 _（以字母开头）"),
    ("a-z, 0-9 and _", "a-z、0-9 和 _"),
    ("an IANA time zone such as Asia/Shanghai", "IANA 时区，如 Asia/Shanghai"),
    ("an RFC 3339 time such as 2026-07-01T08:00:00+08:00", "RFC 3339 时间，如 2026-07-01T08:00:00+08:00"),
    ("an array of polygons", "多边形数组"),
    ("an array of positions", "坐标数组"),
    ("an array of rings", "环数组"),
    ("an e-mail address", "电子邮件地址"),
    ("an e-mail address such as name@example.org", "电子邮件地址，如 name@example.org"),
    ("another organization", "另一个组织"),
    ("at least two positions", "至少两个坐标"),
    ("digits, +, - and spaces", "数字、+、- 和空格"),
    ("name@example.org", "name@example.org"),
    ("printable characters", "可打印字符"),
    ("printable characters and line breaks", "可打印字符和换行"),
    ("printable text", "可打印文本"),
    ("text without control characters", "不含控制字符的文本"),
    ("the image type it claims to be", "与所声明类型一致的图片"),
    ("weights that sum to 1", "总和为 1 的权重"),
    ("west <= east and south <= north", "西 <= 东且南 <= 北"),
    ("west,south,east,north", "西,南,东,北"),
    ("{\"readings\": [...]}", "{\"readings\": [...]}"),
];

/// A description of a value's shape or characters in `locale` (English as written, or its Chinese).
pub fn phrase(locale: crate::Locale, english: &'static str) -> &'static str {
    match locale {
        crate::Locale::En => english,
        crate::Locale::ZhCn => PHRASES_ZH.iter().find(|(en, _)| *en == english).map(|(_, zh)| *zh).unwrap_or(english),
    }
}

/// Whether a description has its Chinese (for the tidy test).
pub fn has_phrase_zh(english: &str) -> bool {
    PHRASES_ZH.iter().any(|(en, _)| *en == english)
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
            other => crate::i18n::format(locale, &format!("invalid.{}", other.code()), &other.params_in(locale)),
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
