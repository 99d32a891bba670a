//! The Chinese profile of CAP: GB/T 35965.1-2018 and the contents the Emergency Response Law Art. 64 requires.
//!
//! This module owns what a Chinese early-warning message needs beyond CAP 1.2: the 31-character identifier
//! `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N` (issuer code, Beijing entry time, sequence digit), the issuer code (GB/T 2260
//! administrative division, organisation code, sub-unit, extension), the four warning colours and their mapping to CAP
//! severity, and the check that every warning carries the contents of ERL Art. 64: category, level, start time,
//! affected area, warning items, measures, issuing body and issue time.
//! It only reads and checks alerts (and builds identifiers); it never changes an alert and never does IO.
//!
//! Where the standard's text could not be read, Gridline decided (design decisions, to revisit against the text):
//! - the colour travels in an `info/parameter` named `GBT35965:warningLevel` with the value `Red`, `Orange`, `Yellow`
//!   or `Blue`; `预警级别` is read as the same name, and `红色`/`橙色`/`黄色`/`蓝色` (or `1`–`4`) as the same values;
//! - the colour and the CAP severity are both carried; by default Red→Extreme, Orange→Severe, Yellow→Moderate,
//!   Blue→Minor (as MeteoAlarm maps its colours), and an issuer may use another `SeverityMapping`;
//! - the Art. 64 contents map to CAP as: category → `category` (+ `eventCode` for the type code), level → the colour
//!   parameter (+ `severity`), start time → `effective` or `onset`, affected area → `area` with a polygon, circle or
//!   geocode, warning items → `description`, measures → `instruction`, issuing body → `senderName`, issue time → `sent`;
//! - the contents are required of `Alert` and `Update` messages; a `Cancel`, `Ack` or `Error` needs none of them;
//! - at least one `info` is in Chinese (`zh`, `zh-CN`, …); times are expected in Beijing time (+08:00).

use std::fmt;

use crate::error::CapError;
use crate::finding::{Finding, Rule};
use crate::model::{Alert, Info, NamedValue};
use crate::parse::SourceLines;
use crate::values::{CapDateTime, MessageType, Severity, UtcOffset};

/// The name of the `parameter` that carries the warning colour.
pub const WARNING_LEVEL_PARAMETER: &str = "GBT35965:warningLevel";

/// Other names of that parameter that are read as it.
const WARNING_LEVEL_PARAMETER_ALIASES: &[&str] = &[WARNING_LEVEL_PARAMETER, "预警级别"];

/// The four warning levels (预警级别) of the Emergency Response Law Art. 63; red is the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarningLevel {
    /// Level 1, red (一级，红色): especially serious.
    Red,
    /// Level 2, orange (二级，橙色): serious.
    Orange,
    /// Level 3, yellow (三级，黄色): relatively serious.
    Yellow,
    /// Level 4, blue (四级，蓝色): general.
    Blue,
}

impl WarningLevel {
    /// Every level, highest first.
    pub const ALL: [WarningLevel; 4] = [WarningLevel::Red, WarningLevel::Orange, WarningLevel::Yellow, WarningLevel::Blue];

    /// The value written in the parameter: `Red`, `Orange`, `Yellow`, `Blue`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "Red",
            Self::Orange => "Orange",
            Self::Yellow => "Yellow",
            Self::Blue => "Blue",
        }
    }

    /// The Chinese name: `红色`, `橙色`, `黄色`, `蓝色`.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Red => "红色",
            Self::Orange => "橙色",
            Self::Yellow => "黄色",
            Self::Blue => "蓝色",
        }
    }

    /// The level number of ERL Art. 63: 1 (red) to 4 (blue).
    pub fn number(self) -> u8 {
        match self {
            Self::Red => 1,
            Self::Orange => 2,
            Self::Yellow => 3,
            Self::Blue => 4,
        }
    }

    /// Reads a level: the English colour in any case, the Chinese colour (with or without 色), or the number 1–4.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        let trimmed = text.trim();
        let level = match trimmed.to_ascii_lowercase().as_str() {
            "red" | "红色" | "红" | "1" => Self::Red,
            "orange" | "橙色" | "橙" | "2" => Self::Orange,
            "yellow" | "黄色" | "黄" | "3" => Self::Yellow,
            "blue" | "蓝色" | "蓝" | "4" => Self::Blue,
            _ => return Err(CapError::invalid(Rule::GbtWarningLevelInvalid, "parameter", text)),
        };
        Ok(level)
    }

    /// The `parameter` that carries this level in an `info`.
    pub fn to_parameter(self) -> NamedValue {
        NamedValue::new(WARNING_LEVEL_PARAMETER, self.as_str())
    }
}

impl fmt::Display for WarningLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which CAP severity goes with each warning level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeverityMapping {
    /// The severity of a red warning.
    pub red: Severity,
    /// The severity of an orange warning.
    pub orange: Severity,
    /// The severity of a yellow warning.
    pub yellow: Severity,
    /// The severity of a blue warning.
    pub blue: Severity,
}

impl Default for SeverityMapping {
    /// Red→Extreme, Orange→Severe, Yellow→Moderate, Blue→Minor.
    fn default() -> Self {
        Self { red: Severity::Extreme, orange: Severity::Severe, yellow: Severity::Moderate, blue: Severity::Minor }
    }
}

impl SeverityMapping {
    /// The severity of a level.
    pub fn severity(&self, level: WarningLevel) -> Severity {
        match level {
            WarningLevel::Red => self.red,
            WarningLevel::Orange => self.orange,
            WarningLevel::Yellow => self.yellow,
            WarningLevel::Blue => self.blue,
        }
    }

    /// The highest level mapped to a severity, if any (for alerts that carry only a severity).
    pub fn level(&self, severity: Severity) -> Option<WarningLevel> {
        WarningLevel::ALL.into_iter().find(|level| self.severity(*level) == severity)
    }
}

/// The options of the profile check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Profile {
    /// The issuer's mapping from colour to severity.
    pub severity_mapping: SeverityMapping,
}

/// The province-level prefixes of GB/T 2260 administrative division codes.
const PROVINCE_PREFIXES: &[&str] = &[
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50",
    "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

fn digits(text: &str, count: usize) -> bool {
    text.len() == count && text.bytes().all(|b| b.is_ascii_digit())
}

/// The issuer code `ZZZZZZDDDUUUXX` (发布单位代码): 14 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssuerCode {
    admin_division: String,
    organization: String,
    sub_unit: String,
    extension: String,
}

impl IssuerCode {
    /// An issuer code from its parts: a GB/T 2260 code (6 digits), an organisation or industry code (3 digits,
    /// GB/T 4657), an internal sub-unit (3 digits, `000` by default) and an extension (2 digits, `00` by default).
    pub fn new(admin_division: &str, organization: &str, sub_unit: &str, extension: &str) -> Result<Self, CapError> {
        if !digits(admin_division, 6) || !PROVINCE_PREFIXES.contains(&&admin_division[..2]) {
            return Err(CapError::invalid(Rule::GbtAdminDivision, "identifier", admin_division));
        }
        let whole = format!("{admin_division}{organization}{sub_unit}{extension}");
        if !digits(organization, 3) || !digits(sub_unit, 3) || !digits(extension, 2) {
            return Err(CapError::invalid(Rule::GbtIdentifierFormat, "identifier", whole));
        }
        Ok(Self {
            admin_division: admin_division.to_string(),
            organization: organization.to_string(),
            sub_unit: sub_unit.to_string(),
            extension: extension.to_string(),
        })
    }

    /// Parses the 14-digit code.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        if !digits(text, 14) {
            return Err(CapError::invalid(Rule::GbtIdentifierFormat, "identifier", text));
        }
        Self::new(&text[0..6], &text[6..9], &text[9..12], &text[12..14])
    }

    /// The GB/T 2260 administrative division code (6 digits).
    pub fn admin_division(&self) -> &str {
        &self.admin_division
    }

    /// The organisation or industry code (3 digits).
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// The internal sub-unit (3 digits).
    pub fn sub_unit(&self) -> &str {
        &self.sub_unit
    }

    /// The extension (2 digits).
    pub fn extension(&self) -> &str {
        &self.extension
    }
}

impl fmt::Display for IssuerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}{}", self.admin_division, self.organization, self.sub_unit, self.extension)
    }
}

/// A GB/T 35965.1 warning identifier (预警信息唯一标识): `ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`, 31 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GbtIdentifier {
    issuer: IssuerCode,
    entered: jiff::civil::DateTime,
    sequence: u8,
}

impl GbtIdentifier {
    /// An identifier from the issuer code, the entry time in Beijing time (whole seconds) and a sequence digit 0–9.
    pub fn new(issuer: IssuerCode, entered: jiff::civil::DateTime, sequence: u8) -> Result<Self, CapError> {
        let candidate = || {
            format!(
                "{issuer}_{:04}{:02}{:02}{:02}{:02}{:02}_{sequence}",
                entered.year(),
                entered.month(),
                entered.day(),
                entered.hour(),
                entered.minute(),
                entered.second()
            )
        };
        if sequence > 9 || !(1..=9999).contains(&entered.year()) || entered.subsec_nanosecond() != 0 {
            return Err(CapError::invalid(Rule::GbtIdentifierFormat, "identifier", candidate()));
        }
        Ok(Self { issuer, entered, sequence })
    }

    /// An identifier from all its parts (see `IssuerCode::new`).
    pub fn from_parts(
        admin_division: &str,
        organization: &str,
        sub_unit: &str,
        extension: &str,
        entered: jiff::civil::DateTime,
        sequence: u8,
    ) -> Result<Self, CapError> {
        Self::new(IssuerCode::new(admin_division, organization, sub_unit, extension)?, entered, sequence)
    }

    /// An identifier whose entry time is `sent` in Beijing time.
    pub fn for_sent(issuer: IssuerCode, sent: CapDateTime, sequence: u8) -> Result<Self, CapError> {
        Self::new(issuer, sent.with_offset(UtcOffset::BEIJING).local(), sequence)
    }

    /// Parses the 31-character form.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        let bad = || CapError::invalid(Rule::GbtIdentifierFormat, "identifier", text);
        let bytes = text.as_bytes();
        if bytes.len() != 31 || !text.is_ascii() || bytes[14] != b'_' || bytes[29] != b'_' {
            return Err(bad());
        }
        let issuer = IssuerCode::parse(&text[0..14]).map_err(|error| match error {
            CapError::InvalidValue { rule: Rule::GbtAdminDivision, .. } => error,
            _ => bad(),
        })?;
        let time = &text[15..29];
        if !digits(time, 14) || !digits(&text[30..31], 1) {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| time[range].parse::<i16>().unwrap_or(-1);
        let entered = jiff::civil::DateTime::new(
            number(0..4),
            number(4..6) as i8,
            number(6..8) as i8,
            number(8..10) as i8,
            number(10..12) as i8,
            number(12..14) as i8,
            0,
        )
        .map_err(|_| bad())?;
        Self::new(issuer, entered, bytes[30] - b'0').map_err(|_| bad())
    }

    /// The issuer code.
    pub fn issuer(&self) -> &IssuerCode {
        &self.issuer
    }

    /// The entry time, Beijing time.
    pub fn entered(&self) -> jiff::civil::DateTime {
        self.entered
    }

    /// The sequence digit.
    pub fn sequence(&self) -> u8 {
        self.sequence
    }
}

impl fmt::Display for GbtIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.entered;
        write!(
            f,
            "{}_{:04}{:02}{:02}{:02}{:02}{:02}_{}",
            self.issuer,
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            self.sequence
        )
    }
}

/// The warning level an info carries, if any: `Ok(None)` when there is no level parameter, `Err` with the parameter's
/// index when its value is not a level.
pub fn warning_level(info: &Info) -> Result<Option<WarningLevel>, usize> {
    match info.parameters.iter().position(|p| WARNING_LEVEL_PARAMETER_ALIASES.contains(&p.name.trim())) {
        None => Ok(None),
        Some(index) => WarningLevel::parse(&info.parameters[index].value).map(Some).map_err(|_| index),
    }
}

/// Checks an alert against the profile; `lines` gives source lines (use `SourceLines::none()` for built alerts).
/// Run `check_alert` (or `parse_alert`) as well: this adds the profile's rules to CAP's, it does not repeat them.
pub fn check(alert: &Alert, profile: &Profile, lines: &SourceLines) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |rule: Rule, path: String| {
        let line = lines.line(&path);
        findings.push(Finding::new(rule, path).at_line(line));
        findings.len() - 1
    };
    let mut positions = Vec::new();
    match GbtIdentifier::parse(&alert.identifier) {
        Ok(identifier) => {
            let entered = CapDateTime::new(identifier.entered(), UtcOffset::BEIJING);
            if let Ok(entered) = entered
                && entered.timestamp() > alert.sent.timestamp()
            {
                let at = push(Rule::GbtIdentifierAfterSent, "/alert/identifier".into());
                positions.push((at, Some(entered.to_string()), Some(alert.sent.to_string())));
            }
        }
        Err(error) => {
            let rule = match error {
                CapError::InvalidValue { rule, .. } => rule,
                _ => Rule::GbtIdentifierFormat,
            };
            let value = if rule == Rule::GbtAdminDivision { alert.identifier.chars().take(6).collect() } else { alert.identifier.clone() };
            let at = push(rule, "/alert/identifier".into());
            positions.push((at, Some(value), None));
        }
    }
    if alert.sent.offset() != UtcOffset::BEIJING {
        let at = push(Rule::GbtOffsetNotBeijing, "/alert/sent".into());
        positions.push((at, Some(alert.sent.to_string()), None));
    }
    let is_warning = matches!(alert.message_type, MessageType::Alert | MessageType::Update);
    if is_warning {
        if alert.infos.is_empty() {
            let at = push(Rule::MissingElement, "/alert".into());
            positions.push((at, Some("info".into()), None));
        } else if !alert.infos.iter().any(|i| i.language.as_ref().is_some_and(|l| l.is_chinese())) {
            push(Rule::GbtChineseInfoMissing, "/alert/info[1]/language".into());
        }
    }
    let mut first_level: Option<(WarningLevel, usize)> = None;
    for (i, info) in alert.infos.iter().enumerate() {
        let path = format!("/alert/info[{}]", i + 1);
        match warning_level(info) {
            Ok(Some(level)) => {
                let expected = profile.severity_mapping.severity(level);
                if info.severity != expected {
                    let at = push(Rule::GbtSeverityMismatch, format!("{path}/severity"));
                    positions.push((at, Some(info.severity.to_string()), Some(format!("{level} → {expected}"))));
                }
                match first_level {
                    None => first_level = Some((level, i)),
                    Some((first, _)) if first != level => {
                        let at = push(Rule::GbtWarningLevelInconsistent, path.clone());
                        positions.push((at, Some(first.to_string()), Some(level.to_string())));
                    }
                    Some(_) => {}
                }
            }
            Ok(None) if is_warning => {
                push(Rule::GbtWarningLevelMissing, path.clone());
            }
            Ok(None) => {}
            Err(index) => {
                let at = push(Rule::GbtWarningLevelInvalid, format!("{path}/parameter[{}]", index + 1));
                positions.push((at, Some(info.parameters[index].value.clone()), None));
            }
        }
        if !is_warning {
            continue;
        }
        if info.effective.is_none() && info.onset.is_none() {
            push(Rule::GbtStartTimeMissing, path.clone());
        }
        let has_geometry = info.areas.iter().any(|a| !a.polygons.is_empty() || !a.circles.is_empty() || !a.geocodes.is_empty());
        if !has_geometry {
            push(Rule::GbtAreaMissing, path.clone());
        }
        let blank = |text: &Option<String>| text.as_deref().is_none_or(|t| t.trim().is_empty());
        if blank(&info.description) {
            push(Rule::GbtDescriptionMissing, path.clone());
        }
        if blank(&info.instruction) {
            push(Rule::GbtInstructionMissing, path.clone());
        }
        if blank(&info.sender_name) {
            push(Rule::GbtSenderNameMissing, path.clone());
        }
        if info.event_codes.is_empty() {
            push(Rule::GbtEventCodeMissing, path.clone());
        }
    }
    for (at, value, related) in positions {
        findings[at].value = value;
        findings[at].related = related;
    }
    findings
}
