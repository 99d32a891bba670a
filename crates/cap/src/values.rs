//! Typed CAP values with parse-don't-validate constructors.
//!
//! This module owns every CAP value that has rules of its own: the enumerations, date-times that keep the offset
//! they were written with, points, polygons and circles in CAP's `latitude,longitude` order, language tags, altitudes
//! and the `references` list.
//! A value of one of these types is always valid: its fields are private and every constructor checks the rules of
//! CAP 1.2 §3 and of the CAP 1.2 schema, so the emitter can write any value without checking it again.
//! This module never looks at XML; the parser feeds it text and turns its errors into findings.

use std::fmt;

use crate::error::CapError;
use crate::finding::Rule;

macro_rules! cap_enum {
    ($(#[$doc:meta])* $name:ident, $element:literal { $( $(#[$vdoc:meta])* $variant:ident = $text:literal ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
        }

        impl $name {
            /// Every value, in the order of the CAP 1.2 schema.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The value as CAP writes it.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }

            /// The value CAP writes as `text` (exact, case-sensitive match).
            pub fn parse(text: &str) -> Result<Self, $crate::error::CapError> {
                match text {
                    $( $text => Ok($name::$variant), )*
                    other => Err($crate::error::CapError::invalid_related($crate::finding::Rule::InvalidEnum, $element, other, Self::allowed())),
                }
            }

            /// The allowed values, comma-separated, for messages.
            pub fn allowed() -> String {
                [$( $text ),*].join(", ")
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use cap_enum;

cap_enum! {
    /// `alert/status`: the handling of the message.
    Status, "status" {
        /// Actionable by all targeted recipients.
        Actual = "Actual",
        /// Actionable only by designated exercise participants.
        Exercise = "Exercise",
        /// For messages that support alert network internal functions.
        System = "System",
        /// Technical testing only; all recipients disregard it.
        Test = "Test",
        /// A preliminary template or draft, not actionable in its current form.
        Draft = "Draft",
    }
}

cap_enum! {
    /// `alert/msgType`: the nature of the message.
    MessageType, "msgType" {
        /// Initial information requiring attention by targeted recipients.
        Alert = "Alert",
        /// Updates and supersedes the earlier message(s) identified in `references`.
        Update = "Update",
        /// Cancels the earlier message(s) identified in `references`.
        Cancel = "Cancel",
        /// Acknowledges receipt and acceptance of the message(s) identified in `references`.
        Ack = "Ack",
        /// Indicates rejection of the message(s) identified in `references`.
        Error = "Error",
    }
}

cap_enum! {
    /// `alert/scope`: the intended distribution.
    Scope, "scope" {
        /// For general dissemination to unrestricted audiences.
        Public = "Public",
        /// For dissemination only to users with a known operational requirement (see `restriction`).
        Restricted = "Restricted",
        /// For dissemination only to specified addresses (see `addresses`).
        Private = "Private",
    }
}

cap_enum! {
    /// `info/category`: the category of the subject event.
    Category, "category" {
        /// Geophysical (including landslide).
        Geo = "Geo",
        /// Meteorological (including flood).
        Met = "Met",
        /// General emergency and public safety.
        Safety = "Safety",
        /// Law enforcement, military, homeland and local/private security.
        Security = "Security",
        /// Rescue and recovery.
        Rescue = "Rescue",
        /// Fire suppression and rescue.
        Fire = "Fire",
        /// Medical and public health.
        Health = "Health",
        /// Pollution and other environmental.
        Env = "Env",
        /// Public and private transportation.
        Transport = "Transport",
        /// Utility, telecommunication, other non-transport infrastructure.
        Infra = "Infra",
        /// Chemical, biological, radiological, nuclear or high-yield explosive threat or attack.
        Cbrne = "CBRNE",
        /// Other events.
        Other = "Other",
    }
}

cap_enum! {
    /// `info/responseType`: the recommended type of action.
    ResponseType, "responseType" {
        /// Take shelter in place or per instruction.
        Shelter = "Shelter",
        /// Relocate as instructed.
        Evacuate = "Evacuate",
        /// Make preparations per instruction.
        Prepare = "Prepare",
        /// Execute a pre-planned activity identified in instruction.
        Execute = "Execute",
        /// Avoid the subject event as per instruction.
        Avoid = "Avoid",
        /// Attend to information sources as described in instruction.
        Monitor = "Monitor",
        /// Evaluate the information in this message (not for public warnings).
        Assess = "Assess",
        /// The subject event no longer poses a threat or concern.
        AllClear = "AllClear",
        /// No action recommended.
        None = "None",
    }
}

cap_enum! {
    /// `info/urgency`: how soon responsive action should be taken.
    Urgency, "urgency" {
        /// Responsive action should be taken immediately.
        Immediate = "Immediate",
        /// Responsive action should be taken soon (within the next hour).
        Expected = "Expected",
        /// Responsive action should be taken in the near future.
        Future = "Future",
        /// Responsive action is no longer required.
        Past = "Past",
        /// Urgency not known.
        Unknown = "Unknown",
    }
}

cap_enum! {
    /// `info/severity`: the severity of the subject event.
    Severity, "severity" {
        /// Extraordinary threat to life or property.
        Extreme = "Extreme",
        /// Significant threat to life or property.
        Severe = "Severe",
        /// Possible threat to life or property.
        Moderate = "Moderate",
        /// Minimal to no known threat to life or property.
        Minor = "Minor",
        /// Severity unknown.
        Unknown = "Unknown",
    }
}

cap_enum! {
    /// `info/certainty`: the certainty of the subject event.
    Certainty, "certainty" {
        /// Determined to have occurred or to be ongoing.
        Observed = "Observed",
        /// Likely (p > ~50%).
        Likely = "Likely",
        /// Possible but not likely (p <= ~50%).
        Possible = "Possible",
        /// Not expected to occur (p ~ 0).
        Unlikely = "Unlikely",
        /// Certainty unknown.
        Unknown = "Unknown",
    }
}

/// A time-zone offset as CAP writes it: `+hh:mm` or `-hh:mm`, within ±14:00 (the range of `xs:dateTime`).
///
/// `-00:00` and `+00:00` are kept apart: CAP 1.2 writes UTC as `-00:00`, many senders write `+00:00`, and a
/// round trip must give back what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtcOffset {
    /// Minutes east of UTC, within -840..=840.
    minutes: i16,
    /// Whether a zero offset is written with a minus sign.
    negative_zero: bool,
}

impl UtcOffset {
    /// `-00:00`, which CAP 1.2 uses for UTC.
    pub const UTC: UtcOffset = UtcOffset { minutes: 0, negative_zero: true };
    /// `+08:00`, Beijing time.
    pub const BEIJING: UtcOffset = UtcOffset { minutes: 480, negative_zero: false };

    /// An offset of `minutes` east of UTC (negative west), within ±14:00.
    pub fn from_minutes(minutes: i32) -> Result<Self, CapError> {
        if !(-840..=840).contains(&minutes) {
            return Err(CapError::invalid(Rule::DatetimeFormat, "offset", format!("{minutes} minutes")));
        }
        Ok(Self { minutes: minutes as i16, negative_zero: false })
    }

    /// Minutes east of UTC.
    pub fn minutes(self) -> i32 {
        i32::from(self.minutes)
    }

    fn to_jiff(self) -> jiff::tz::Offset {
        // The range is checked on construction, so this cannot fail; UTC is the harmless fallback.
        jiff::tz::Offset::from_seconds(self.minutes() * 60).unwrap_or(jiff::tz::Offset::UTC)
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 || (self.minutes == 0 && self.negative_zero) { '-' } else { '+' };
        let absolute = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", absolute / 60, absolute % 60)
    }
}

/// A CAP date-time, `YYYY-MM-DDThh:mm:ss±hh:mm`: a local date and time with the offset it was written with.
///
/// Two values are equal when they are written the same; compare instants with `timestamp()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CapDateTime {
    local: jiff::civil::DateTime,
    offset: UtcOffset,
}

/// What `CapDateTime::parse_lenient` had to repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeRepair {
    /// A `Z`, or no offset at all, read as `-00:00`.
    MissingOffset,
    /// Fractional seconds, dropped.
    FractionalSeconds,
}

impl CapDateTime {
    /// A date-time from its parts; seconds are whole, the year within 1..=9999.
    pub fn new(local: jiff::civil::DateTime, offset: UtcOffset) -> Result<Self, CapError> {
        if local.year() < 1 || local.subsec_nanosecond() != 0 {
            return Err(CapError::invalid(Rule::DatetimeFormat, "dateTime", format!("{local}{offset}")));
        }
        Ok(Self { local, offset })
    }

    /// The instant `timestamp` written in the given offset.
    pub fn from_timestamp(timestamp: jiff::Timestamp, offset: UtcOffset) -> Result<Self, CapError> {
        let whole = jiff::Timestamp::from_second(timestamp.as_second())
            .map_err(|e| CapError::invalid(Rule::DatetimeFormat, "dateTime", e.to_string()))?;
        Self::new(offset.to_jiff().to_datetime(whole), offset)
    }

    /// Parses the strict CAP form `YYYY-MM-DDThh:mm:ss±hh:mm` (surrounding XML whitespace allowed, as in the schema).
    pub fn parse(text: &str) -> Result<Self, CapError> {
        match Self::parse_lenient(text)? {
            (value, None) => Ok(value),
            (_, Some(DateTimeRepair::MissingOffset)) => Err(CapError::invalid(Rule::DatetimeTimezone, "dateTime", text)),
            (_, Some(DateTimeRepair::FractionalSeconds)) => Err(CapError::invalid(Rule::DatetimeFraction, "dateTime", text)),
        }
    }

    /// Parses what real senders write: the strict form, or with fractional seconds (dropped), a `Z` or no offset
    /// (read as `-00:00`). Says what it repaired, so the caller can report it.
    pub fn parse_lenient(text: &str) -> Result<(Self, Option<DateTimeRepair>), CapError> {
        let bad = || CapError::invalid(Rule::DatetimeFormat, "dateTime", text);
        let trimmed = text.trim_matches(is_xml_space);
        let bytes = trimmed.as_bytes();
        if bytes.len() < 19 || !trimmed.is_ascii() {
            return Err(bad());
        }
        let digits = |range: std::ops::Range<usize>| -> Result<i32, CapError> {
            let part = &bytes[range];
            if part.iter().all(u8::is_ascii_digit) { Ok(part.iter().fold(0i32, |n, b| n * 10 + i32::from(b - b'0'))) } else { Err(bad()) }
        };
        if bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' || bytes[13] != b':' || bytes[16] != b':' {
            return Err(bad());
        }
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        let mut rest = &trimmed[19..];
        let mut repair = None;
        if let Some(fraction) = rest.strip_prefix('.') {
            let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(bad());
            }
            rest = &fraction[n..];
            repair = Some(DateTimeRepair::FractionalSeconds);
        }
        let offset = match rest {
            "" | "Z" => {
                repair = Some(DateTimeRepair::MissingOffset);
                UtcOffset::UTC
            }
            _ => {
                let ob = rest.as_bytes();
                if ob.len() != 6 || !(ob[0] == b'+' || ob[0] == b'-') || ob[3] != b':' {
                    return Err(bad());
                }
                let two_digits = |pair: &[u8]| -> Result<i32, CapError> {
                    if pair.iter().all(u8::is_ascii_digit) {
                        Ok(i32::from(pair[0] - b'0') * 10 + i32::from(pair[1] - b'0'))
                    } else {
                        Err(bad())
                    }
                };
                let (hours, minutes) = (two_digits(&ob[1..3])?, two_digits(&ob[4..6])?);
                if minutes > 59 || hours * 60 + minutes > 840 {
                    return Err(bad());
                }
                let total = hours * 60 + minutes;
                if ob[0] == b'-' {
                    UtcOffset { minutes: -(total as i16), negative_zero: total == 0 }
                } else {
                    UtcOffset { minutes: total as i16, negative_zero: false }
                }
            }
        };
        if year < 1 {
            return Err(bad());
        }
        let local = jiff::civil::DateTime::new(year as i16, month as i8, day as i8, hour as i8, minute as i8, second as i8, 0)
            .map_err(|_| bad())?;
        Ok((Self { local, offset }, repair))
    }

    /// The local date and time as written.
    pub fn local(self) -> jiff::civil::DateTime {
        self.local
    }

    /// The offset as written.
    pub fn offset(self) -> UtcOffset {
        self.offset
    }

    /// The instant. Only fails for dates at the very edge of the representable range, which then compare as that edge.
    pub fn timestamp(self) -> jiff::Timestamp {
        self.offset.to_jiff().to_timestamp(self.local).unwrap_or(if self.local.year() < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        })
    }

    /// The same instant written in another offset.
    pub fn with_offset(self, offset: UtcOffset) -> Self {
        Self { local: offset.to_jiff().to_datetime(self.timestamp()), offset }
    }

    /// The date-time `hours` later, in the same offset.
    pub fn plus_hours(self, hours: i64) -> Result<Self, CapError> {
        let later = self
            .timestamp()
            .checked_add(jiff::SignedDuration::from_hours(hours))
            .map_err(|e| CapError::invalid(Rule::DatetimeFormat, "dateTime", e.to_string()))?;
        Self::from_timestamp(later, self.offset)
    }
}

impl fmt::Display for CapDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.local;
        write!(f, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}", d.year(), d.month(), d.day(), d.hour(), d.minute(), d.second(), self.offset)
    }
}

/// The whitespace characters of XML.
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Whether `text` is a plain decimal number: an optional minus sign, digits, an optional fraction.
/// Exponents, `inf`, `NaN` and a leading `+` are refused, so every accepted text means what it looks like.
fn is_plain_decimal(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let whole_ok = whole.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = fraction.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()));
    let has_digit = !whole.is_empty() || fraction.is_some_and(|f| !f.is_empty());
    whole_ok && fraction_ok && has_digit
}

/// A WGS 84 point in CAP's order: latitude first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    lat: f64,
    lon: f64,
}

impl Point {
    /// A point; latitude within -90..=90 and longitude within -180..=180.
    pub fn new(lat: f64, lon: f64) -> Result<Self, CapError> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(CapError::invalid(Rule::CoordinateRange, "point", format!("{lat},{lon}")));
        }
        // Negative zero is stored as zero, so that equal points are written alike.
        Ok(Self { lat: lat + 0.0, lon: lon + 0.0 })
    }

    /// Parses `latitude,longitude` in decimal degrees.
    pub fn parse(text: &str, element: &'static str) -> Result<Self, CapError> {
        let format_error = |rule| CapError::invalid(rule, element, text);
        let (lat, lon) = text.split_once(',').ok_or_else(|| format_error(Rule::PolygonFormat))?;
        if !is_plain_decimal(lat) || !is_plain_decimal(lon) {
            return Err(format_error(Rule::PolygonFormat));
        }
        let (lat, lon) = match (lat.parse::<f64>(), lon.parse::<f64>()) {
            (Ok(lat), Ok(lon)) => (lat, lon),
            _ => return Err(format_error(Rule::PolygonFormat)),
        };
        Self::new(lat, lon).map_err(|_| CapError::invalid(Rule::CoordinateRange, element, text))
    }

    /// Latitude in decimal degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in decimal degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.lat, self.lon)
    }
}

/// A CAP polygon: at least four points, the first repeated as the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    points: Vec<Point>,
}

impl Polygon {
    /// A polygon from its points, which must be closed and number at least four.
    pub fn new(points: Vec<Point>) -> Result<Self, CapError> {
        let text = || points.iter().map(Point::to_string).collect::<Vec<_>>().join(" ");
        if points.len() < 4 {
            return Err(CapError::invalid_related(Rule::PolygonTooFewPoints, "polygon", points.len().to_string(), text()));
        }
        let (first, last) = (points[0], points[points.len() - 1]);
        if first != last {
            return Err(CapError::invalid_related(Rule::PolygonNotClosed, "polygon", last.to_string(), first.to_string()));
        }
        Ok(Self { points })
    }

    /// Parses `lat,lon lat,lon …`, pairs separated by any XML whitespace.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        let points =
            text.split(is_xml_space).filter(|t| !t.is_empty()).map(|t| Point::parse(t, "polygon")).collect::<Result<Vec<_>, _>>()?;
        Self::new(points)
    }

    /// The points, the first repeated as the last.
    pub fn points(&self) -> &[Point] {
        &self.points
    }
}

impl fmt::Display for Polygon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, point) in self.points.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{point}")?;
        }
        Ok(())
    }
}

/// A CAP circle: a centre point and a radius in kilometres (zero for a point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    center: Point,
    radius_km: f64,
}

impl Circle {
    /// A circle; the radius is a finite number of kilometres, zero or more.
    pub fn new(center: Point, radius_km: f64) -> Result<Self, CapError> {
        if !radius_km.is_finite() || radius_km < 0.0 {
            return Err(CapError::invalid(Rule::CircleRadius, "circle", radius_km.to_string()));
        }
        Ok(Self { center, radius_km: radius_km + 0.0 })
    }

    /// Parses `lat,lon radius`.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        let mut parts = text.split(is_xml_space).filter(|t| !t.is_empty());
        let (Some(center), Some(radius), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CapError::invalid(Rule::CircleFormat, "circle", text));
        };
        let center = Point::parse(center, "circle").map_err(|e| match e {
            CapError::InvalidValue { rule: Rule::CoordinateRange, .. } => CapError::invalid(Rule::CoordinateRange, "circle", text),
            _ => CapError::invalid(Rule::CircleFormat, "circle", text),
        })?;
        if !is_plain_decimal(radius) {
            return Err(CapError::invalid(Rule::CircleRadius, "circle", radius));
        }
        let radius_km = radius.parse::<f64>().map_err(|_| CapError::invalid(Rule::CircleRadius, "circle", radius))?;
        Self::new(center, radius_km).map_err(|_| CapError::invalid(Rule::CircleRadius, "circle", radius))
    }

    /// The centre.
    pub fn center(self) -> Point {
        self.center
    }

    /// The radius in kilometres.
    pub fn radius_km(self) -> f64 {
        self.radius_km
    }
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.center, self.radius_km)
    }
}

/// An RFC 3066 language tag as `xs:language` allows it: `zh-CN`, `en-US`, `pt-PT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Parses a tag: one to eight letters, then any number of `-` and one to eight letters or digits.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        let trimmed = text.trim_matches(is_xml_space);
        let mut parts = trimmed.split('-');
        let first_ok = parts.next().is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
        let rest_ok = parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if first_ok && rest_ok { Ok(Self(trimmed.to_string())) } else { Err(CapError::invalid(Rule::InvalidLanguage, "language", text)) }
    }

    /// The tag as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the tag is for Chinese (`zh`, `zh-CN`, `zh-Hans`, `zh-mo`, …).
    pub fn is_chinese(&self) -> bool {
        let primary = self.0.split('-').next().unwrap_or("");
        primary.eq_ignore_ascii_case("zh")
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An `xs:decimal` number of feet above mean sea level, used by `altitude` and `ceiling`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Altitude(f64);

impl Altitude {
    /// An altitude in feet; any finite number.
    pub fn from_feet(feet: f64) -> Result<Self, CapError> {
        if feet.is_finite() { Ok(Self(feet + 0.0)) } else { Err(CapError::invalid(Rule::InvalidNumber, "altitude", feet.to_string())) }
    }

    /// Parses an `xs:decimal`: optional sign, digits, optional fraction, no exponent.
    pub fn parse(text: &str, element: &'static str) -> Result<Self, CapError> {
        let trimmed = text.trim_matches(is_xml_space);
        let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
        if unsigned.starts_with('-') && trimmed.starts_with('+') || !is_plain_decimal(unsigned) {
            return Err(CapError::invalid(Rule::InvalidNumber, element, text));
        }
        let feet = unsigned.parse::<f64>().map_err(|_| CapError::invalid(Rule::InvalidNumber, element, text))?;
        Self::from_feet(feet).map_err(|_| CapError::invalid(Rule::InvalidNumber, element, text))
    }

    /// Feet above mean sea level.
    pub fn feet(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Altitude {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One earlier message named in `references`: `sender,identifier,sent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    sender: String,
    identifier: String,
    sent: CapDateTime,
}

impl Reference {
    /// A reference; sender and identifier must be non-empty and free of spaces, commas, `<` and `&`.
    pub fn new(sender: impl Into<String>, identifier: impl Into<String>, sent: CapDateTime) -> Result<Self, CapError> {
        let (sender, identifier) = (sender.into(), identifier.into());
        for (element, text) in [("sender", &sender), ("identifier", &identifier)] {
            if text.is_empty() || has_forbidden_characters(text) {
                return Err(CapError::invalid(Rule::ReferencesFormat, element, format!("{sender},{identifier},{sent}")));
            }
        }
        Ok(Self { sender, identifier, sent })
    }

    /// The sender of the earlier message.
    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// The identifier of the earlier message.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// When the earlier message was sent.
    pub fn sent(&self) -> CapDateTime {
        self.sent
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.sender, self.identifier, self.sent)
    }
}

/// `alert/references`: one or more earlier messages, written as space-separated `sender,identifier,sent` triples.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct References(Vec<Reference>);

impl References {
    /// A non-empty list.
    pub fn new(references: Vec<Reference>) -> Result<Self, CapError> {
        if references.is_empty() {
            return Err(CapError::invalid(Rule::ReferencesFormat, "references", ""));
        }
        Ok(Self(references))
    }

    /// Parses space-separated `sender,identifier,sent` triples with strict CAP date-times.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        let bad = || CapError::invalid(Rule::ReferencesFormat, "references", text);
        let mut references = Vec::new();
        for triple in text.split(is_xml_space).filter(|t| !t.is_empty()) {
            let mut parts = triple.split(',');
            let (Some(sender), Some(identifier), Some(sent), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                return Err(bad());
            };
            let sent = CapDateTime::parse(sent).map_err(|_| bad())?;
            references.push(Reference::new(sender, identifier, sent).map_err(|_| bad())?);
        }
        Self::new(references).map_err(|_| bad())
    }

    /// The references in the order given.
    pub fn as_slice(&self) -> &[Reference] {
        &self.0
    }
}

impl fmt::Display for References {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, reference) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{reference}")?;
        }
        Ok(())
    }
}

/// Whether an identifier or sender breaks CAP 1.2's "MUST NOT include spaces, commas or restricted characters
/// (< and &)".
pub(crate) fn has_forbidden_characters(text: &str) -> bool {
    text.chars().any(|c| c == ',' || c == '<' || c == '&' || c.is_whitespace())
}

/// An `xs:anyURI` as CAP uses it for `web` and `uri`: an RFC 3986 URI reference, absolute or relative.
///
/// As the schema's anyURI mapping does, spaces, characters outside ASCII and `<>"{}|\^`` ` are allowed (they stand
/// for their percent-escaped form); everything else must follow RFC 3986: a scheme that starts with a letter, `%`
/// only before two hexadecimal digits, brackets only around an IP literal, one `#` at most.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uri(String);

impl Uri {
    /// Parses a URI reference; surrounding XML whitespace is dropped, as the schema's whitespace rule does.
    pub fn parse(text: &str) -> Result<Self, CapError> {
        let trimmed = text.trim_matches(is_xml_space);
        if is_uri_reference(trimmed) { Ok(Self(trimmed.to_string())) } else { Err(CapError::invalid(Rule::InvalidUri, "uri", text)) }
    }

    /// The URI as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters the anyURI mapping escapes before the URI is checked, so they are allowed anywhere.
fn is_escaped_by_mapping(c: char) -> bool {
    !c.is_ascii() || matches!(c, ' ' | '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

fn is_sub_delim(c: char) -> bool {
    matches!(c, '!' | '$' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | ';' | '=')
}

/// Whether `part` consists of characters allowed by `allowed`, escaped characters and `%XX` escapes.
fn is_component(part: &str, allowed: impl Fn(char) -> bool) -> bool {
    let mut chars = part.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let (Some(a), Some(b)) = (chars.next(), chars.next()) else { return false };
            if !a.is_ascii_hexdigit() || !b.is_ascii_hexdigit() {
                return false;
            }
        } else if !(allowed(c) || is_escaped_by_mapping(c)) {
            return false;
        }
    }
    true
}

fn is_pchar(c: char) -> bool {
    is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@'
}

/// RFC 3986 `URI-reference`, after the anyURI mapping's escaping.
fn is_uri_reference(text: &str) -> bool {
    let (rest, fragment) = match text.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (text, None),
    };
    if fragment.is_some_and(|f| !is_component(f, |c| is_pchar(c) || c == '/' || c == '?')) {
        return false;
    }
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    if query.is_some_and(|q| !is_component(q, |c| is_pchar(c) || c == '/' || c == '?')) {
        return false;
    }
    let first_segment_end = rest.find('/').unwrap_or(rest.len());
    let hierarchy = match rest[..first_segment_end].split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if !scheme_ok {
                // A colon in the first segment of a relative reference is not allowed either.
                return false;
            }
            &rest[scheme.len() + 1..]
        }
        None => rest,
    };
    let path = match hierarchy.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            if !is_authority(&after[..end]) {
                return false;
            }
            &after[end..]
        }
        None => hierarchy,
    };
    is_component(path, |c| is_pchar(c) || c == '/')
}

fn is_authority(authority: &str) -> bool {
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    if userinfo.is_some_and(|u| !is_component(u, |c| is_unreserved(c) || is_sub_delim(c) || c == ':')) {
        return false;
    }
    let (host, port) = if let Some(literal) = host_port.strip_prefix('[') {
        let Some((inside, after)) = literal.split_once(']') else { return false };
        if inside.is_empty()
            || !inside.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | 'v' | 'V') || is_unreserved(c) || is_sub_delim(c))
        {
            return false;
        }
        match after {
            "" => ("", None),
            port => match port.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    // RFC 3986 allows an empty port after the colon; libxml2's anyURI check does not, so neither do we.
    port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && is_component(host, |c| is_unreserved(c) || is_sub_delim(c))
}
