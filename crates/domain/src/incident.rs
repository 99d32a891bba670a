//! Incidents: the all-hazards vocabulary and the pure rules that hold for every incident, whatever channel
//! reported it.
//!
//! This module owns the four categories of the Emergency Response Law (ERL Art. 2) and the configurable table of
//! sub-types under them (DOMAIN.md §1.2); the three separate scales — event grade, warning level and response
//! level — and which of them a category admits (ERL Arts. 3, 63, 71); the incident status state machine; the
//! scoring that proposes reports close in kind, space and time as the same incident; the statutory upward-reporting
//! clocks (DOMAIN.md §1.3.2); and the upward report generated from an incident's facts in both languages.
//!
//! It must never read the clock (every time is passed in), touch storage, or derive serde traits: the store keeps
//! codes, the server owns the wire types, and a deployment's own sub-types arrive here as plain data.

use std::collections::BTreeMap;
use std::fmt;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::coded_enum;
use crate::error::{Invalid, InvalidReason};
use crate::geometry::{BBox, GeoPoint};
use crate::i18n::{self, Locale};

// ---------------------------------------------------------------------------------------------------------------
// Categories and sub-types.

coded_enum! {
    /// The four categories of emergencies fixed by ERL Art. 2.
    Category, "incident_category" {
        /// Natural disasters (自然灾害).
        NaturalDisaster = "natural_disaster",
        /// Accident disasters (事故灾难).
        AccidentDisaster = "accident_disaster",
        /// Public health incidents (公共卫生事件).
        PublicHealth = "public_health",
        /// Social security incidents (社会安全事件).
        SocialSecurity = "social_security",
    }
}

impl Category {
    /// The short code proposed in DOMAIN.md §1.2 (`NAT`, `ACC`, `PHE`, `SOC`), for compact identifiers.
    pub fn short_code(self) -> &'static str {
        match self {
            Category::NaturalDisaster => "NAT",
            Category::AccidentDisaster => "ACC",
            Category::PublicHealth => "PHE",
            Category::SocialSecurity => "SOC",
        }
    }

    /// Whether events of this category carry a statutory grade I–IV. Social security events do not (ERL Art. 3).
    pub fn is_graded(self) -> bool {
        self != Category::SocialSecurity
    }

    /// Whether colour warnings are issued for this category. Only natural, accident and public-health events are
    /// warnable (ERL Art. 63).
    pub fn is_warnable(self) -> bool {
        self != Category::SocialSecurity
    }
}

/// The code of a sub-type, such as `urban_waterlogging`: 2 to 48 characters of lowercase ASCII letters, digits and
/// `_`, starting with a letter. Sub-types are open-ended (the national plans say "mainly includes"), so they are
/// codes in a table rather than a closed enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubtypeCode(String);

impl SubtypeCode {
    /// Parses a sub-type code given in `field`.
    pub fn parse(field: &str, value: &str) -> Result<SubtypeCode, Invalid> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Invalid::new(field, InvalidReason::Required));
        }
        let starts_with_letter = value.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        if !(2..=48).contains(&value.len())
            || !starts_with_letter
            || !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Invalid::new(field, InvalidReason::BadCharacters { allowed: "a-z 0-9 _ (starting with a letter)" }));
        }
        Ok(SubtypeCode(value.to_string()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubtypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One row of the sub-type table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtypeEntry {
    /// The stable code.
    pub code: SubtypeCode,
    /// The category it belongs to.
    pub category: Category,
    /// The broader sub-type it refines (`typhoon` refines `meteorological`), if any. It has the same category.
    pub parent: Option<SubtypeCode>,
    /// The label in Simplified Chinese.
    pub label_zh: String,
    /// The label in English.
    pub label_en: String,
}

impl SubtypeEntry {
    /// Parses a row supplied by a deployment; `field` is its path in the input.
    pub fn parse(
        field: &str,
        code: &str,
        category: &str,
        parent: Option<&str>,
        label_zh: &str,
        label_en: &str,
    ) -> Result<SubtypeEntry, Invalid> {
        let label = |name: &str, value: &str| crate::text::Name::parse(&format!("{field}.{name}"), value).map(|n| n.into_string());
        Ok(SubtypeEntry {
            code: SubtypeCode::parse(&format!("{field}.code"), code)?,
            category: Category::parse(&format!("{field}.category"), category)?,
            parent: match parent.map(str::trim) {
                None | Some("") => None,
                Some(parent) => Some(SubtypeCode::parse(&format!("{field}.parent"), parent)?),
            },
            label_zh: label("label_zh", label_zh)?,
            label_en: label("label_en", label_en)?,
        })
    }

    /// The label in `locale`.
    pub fn label(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.label_zh,
            Locale::En => &self.label_en,
        }
    }
}

/// The built-in sub-types: code, category, parent. Labels come from the catalogs (`incident_subtype.<code>`).
/// Rows follow DOMAIN.md §1.2; the refinements below a row are the hazards Gridline ships plans for, and the
/// codes are Gridline's own until they are mapped to GB/T 35561-2017.
const BUILTIN_SUBTYPES: &[(&str, Category, Option<&str>)] = &[
    ("flood_drought", Category::NaturalDisaster, None),
    ("urban_waterlogging", Category::NaturalDisaster, Some("flood_drought")),
    ("flash_flood", Category::NaturalDisaster, Some("flood_drought")),
    ("reservoir_dike_danger", Category::NaturalDisaster, Some("flood_drought")),
    ("drought", Category::NaturalDisaster, Some("flood_drought")),
    ("meteorological", Category::NaturalDisaster, None),
    ("typhoon", Category::NaturalDisaster, Some("meteorological")),
    ("rainstorm", Category::NaturalDisaster, Some("meteorological")),
    ("snowstorm", Category::NaturalDisaster, Some("meteorological")),
    ("cold_wave", Category::NaturalDisaster, Some("meteorological")),
    ("gale", Category::NaturalDisaster, Some("meteorological")),
    ("heat_wave", Category::NaturalDisaster, Some("meteorological")),
    ("lightning", Category::NaturalDisaster, Some("meteorological")),
    ("earthquake", Category::NaturalDisaster, None),
    ("geological", Category::NaturalDisaster, None),
    ("landslide", Category::NaturalDisaster, Some("geological")),
    ("debris_flow", Category::NaturalDisaster, Some("geological")),
    ("ground_collapse", Category::NaturalDisaster, Some("geological")),
    ("marine", Category::NaturalDisaster, None),
    ("storm_surge", Category::NaturalDisaster, Some("marine")),
    ("biological", Category::NaturalDisaster, None),
    ("forest_grassland_fire", Category::NaturalDisaster, None),
    ("work_safety", Category::AccidentDisaster, None),
    ("hazardous_chemicals", Category::AccidentDisaster, Some("work_safety")),
    ("transport_accident", Category::AccidentDisaster, None),
    ("road_traffic", Category::AccidentDisaster, Some("transport_accident")),
    ("marine_oil_spill", Category::AccidentDisaster, None),
    ("public_facility", Category::AccidentDisaster, None),
    ("gas_leak", Category::AccidentDisaster, Some("public_facility")),
    ("water_main_burst", Category::AccidentDisaster, Some("public_facility")),
    ("power_outage", Category::AccidentDisaster, Some("public_facility")),
    ("elevator_entrapment", Category::AccidentDisaster, Some("public_facility")),
    ("nuclear_radiation", Category::AccidentDisaster, None),
    ("environmental", Category::AccidentDisaster, None),
    ("fire", Category::AccidentDisaster, None),
    ("building_fire", Category::AccidentDisaster, Some("fire")),
    ("crowd_crush", Category::AccidentDisaster, None),
    ("infectious_disease", Category::PublicHealth, None),
    ("infectious_cluster", Category::PublicHealth, Some("infectious_disease")),
    ("unknown_illness", Category::PublicHealth, None),
    ("food_occupational", Category::PublicHealth, None),
    ("food_poisoning", Category::PublicHealth, Some("food_occupational")),
    ("animal_epidemic", Category::PublicHealth, None),
    ("other_public_health", Category::PublicHealth, None),
    ("terrorist_attack", Category::SocialSecurity, None),
    ("ethnic_religious", Category::SocialSecurity, None),
    ("economic_security", Category::SocialSecurity, None),
    ("foreign_related", Category::SocialSecurity, None),
    ("mass_incident", Category::SocialSecurity, None),
    ("major_criminal", Category::SocialSecurity, None),
    ("cyber_security", Category::SocialSecurity, None),
];

/// How two sub-types relate, from the closest to the farthest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KindRelation {
    /// The same sub-type.
    Same,
    /// Different sub-types under a common broader sub-type, or one refining the other (`rainstorm` and
    /// `urban_waterlogging` are not related; `typhoon` and `meteorological` are).
    Related,
    /// Different sub-types of the same category.
    SameCategory,
    /// Different categories.
    Unrelated,
}

/// The table of sub-types: the built-in rows and whatever a deployment adds. Every row's parent exists, comes
/// earlier in the table and has the same category, so the table has no cycles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtypeTable {
    entries: Vec<SubtypeEntry>,
    by_code: BTreeMap<SubtypeCode, usize>,
}

impl SubtypeTable {
    /// Builds a table from rows, checking that codes are unique and parents exist earlier with the same category.
    pub fn new(entries: Vec<SubtypeEntry>) -> Result<SubtypeTable, Invalid> {
        let mut table = SubtypeTable { entries: Vec::new(), by_code: BTreeMap::new() };
        for (index, entry) in entries.into_iter().enumerate() {
            table.push(&format!("[{index}]"), entry)?;
        }
        Ok(table)
    }

    /// The built-in table (DOMAIN.md §1.2), labelled from the catalogs.
    pub fn builtin() -> SubtypeTable {
        let mut table = SubtypeTable { entries: Vec::new(), by_code: BTreeMap::new() };
        for (code, category, parent) in BUILTIN_SUBTYPES {
            let key = format!("incident_subtype.{code}");
            let entry = SubtypeEntry {
                code: SubtypeCode((*code).to_string()),
                category: *category,
                parent: parent.map(|parent| SubtypeCode(parent.to_string())),
                label_zh: i18n::text(Locale::ZhCn, &key).to_string(),
                label_en: i18n::text(Locale::En, &key).to_string(),
            };
            table.by_code.insert(entry.code.clone(), table.entries.len());
            table.entries.push(entry);
        }
        table
    }

    /// This table with a deployment's rows appended; the error names the row at fault (`[index].field`).
    pub fn extended(mut self, entries: Vec<SubtypeEntry>) -> Result<SubtypeTable, Invalid> {
        for (index, entry) in entries.into_iter().enumerate() {
            self.push(&format!("[{index}]"), entry)?;
        }
        Ok(self)
    }

    fn push(&mut self, field: &str, entry: SubtypeEntry) -> Result<(), Invalid> {
        if self.by_code.contains_key(&entry.code) {
            return Err(Invalid::new(format!("{field}.code"), InvalidReason::Duplicate));
        }
        if let Some(parent) = &entry.parent {
            match self.get(parent) {
                None => return Err(Invalid::new(format!("{field}.parent"), InvalidReason::NotFound)),
                Some(parent_entry) if parent_entry.category != entry.category => {
                    return Err(Invalid::new(
                        format!("{field}.parent"),
                        InvalidReason::Malformed { expected: "a broader sub-type of the same category" },
                    ));
                }
                Some(_) => {}
            }
        }
        self.by_code.insert(entry.code.clone(), self.entries.len());
        self.entries.push(entry);
        Ok(())
    }

    /// Every row, in table order.
    pub fn entries(&self) -> &[SubtypeEntry] {
        &self.entries
    }

    /// The row for `code`.
    pub fn get(&self, code: &SubtypeCode) -> Option<&SubtypeEntry> {
        self.by_code.get(code).map(|index| &self.entries[*index])
    }

    /// The row for a code given as text.
    pub fn get_str(&self, code: &str) -> Option<&SubtypeEntry> {
        self.by_code.iter().find(|(key, _)| key.as_str() == code).map(|(_, index)| &self.entries[*index])
    }

    /// The rows of `category`, in table order.
    pub fn of_category(&self, category: Category) -> impl Iterator<Item = &SubtypeEntry> {
        self.entries.iter().filter(move |entry| entry.category == category)
    }

    /// `code` and its broader sub-types, from `code` up to the top of its branch.
    pub fn lineage(&self, code: &SubtypeCode) -> Vec<&SubtypeCode> {
        let mut lineage = Vec::new();
        let mut current = self.get(code);
        while let Some(entry) = current {
            lineage.push(&entry.code);
            current = entry.parent.as_ref().and_then(|parent| self.get(parent));
        }
        lineage
    }

    /// Whether `code` is `ancestor` or refines it, at any depth.
    pub fn is_within(&self, code: &SubtypeCode, ancestor: &SubtypeCode) -> bool {
        self.lineage(code).contains(&ancestor)
    }

    /// How two sub-types relate. Codes missing from the table relate only to themselves.
    pub fn relation(&self, a: &SubtypeCode, b: &SubtypeCode) -> KindRelation {
        if a == b {
            return KindRelation::Same;
        }
        let (Some(entry_a), Some(entry_b)) = (self.get(a), self.get(b)) else { return KindRelation::Unrelated };
        if entry_a.category != entry_b.category {
            return KindRelation::Unrelated;
        }
        let lineage_a = self.lineage(a);
        let lineage_b = self.lineage(b);
        // Related when one refines the other, or when they refine the same broader sub-type.
        if lineage_a.contains(&b) || lineage_b.contains(&a) || entry_a.parent.is_some() && entry_a.parent == entry_b.parent {
            KindRelation::Related
        } else {
            KindRelation::SameCategory
        }
    }

    /// Parses a category and sub-type given as codes into a kind; the sub-type must be in the table and belong to
    /// the category. `field` prefixes the fields at fault (`category`, `subtype`).
    pub fn kind(&self, field: &str, category: &str, subtype: &str) -> Result<IncidentKind, Invalid> {
        let prefix = |name: &str| if field.is_empty() { name.to_string() } else { format!("{field}.{name}") };
        let category = Category::parse(&prefix("category"), category)?;
        let subtype = SubtypeCode::parse(&prefix("subtype"), subtype)?;
        match self.get(&subtype) {
            None => Err(Invalid::new(prefix("subtype"), InvalidReason::NotFound)),
            Some(entry) if entry.category != category => {
                Err(Invalid::new(prefix("subtype"), InvalidReason::Malformed { expected: "a sub-type of the given category" }))
            }
            Some(_) => Ok(IncidentKind { category, subtype }),
        }
    }

    /// The label of `code` in `locale`; the code itself when the table lacks it.
    pub fn label<'a>(&'a self, code: &'a SubtypeCode, locale: Locale) -> &'a str {
        self.get(code).map(|entry| entry.label(locale)).unwrap_or(code.as_str())
    }
}

/// What kind of incident something is: a category and one of its sub-types, checked against a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IncidentKind {
    category: Category,
    subtype: SubtypeCode,
}

impl IncidentKind {
    /// The category.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The sub-type.
    pub fn subtype(&self) -> &SubtypeCode {
        &self.subtype
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The three scales.

coded_enum! {
    /// Event grade: how bad an event is or was (事件分级, ERL Art. 3). Declared from the most to the least serious,
    /// so the derived order puts the more serious grade first; use [`Grade::at_least`] for comparisons.
    Grade, "event_grade" {
        /// I, extraordinarily serious (特别重大).
        I = "grade_i",
        /// II, major (重大).
        Ii = "grade_ii",
        /// III, relatively major (较大).
        Iii = "grade_iii",
        /// IV, general (一般).
        Iv = "grade_iv",
    }
}

coded_enum! {
    /// Warning level: how likely and urgent, before it happens (预警级别, ERL Art. 63); level 1 (red) is the highest.
    /// Declared from the highest to the lowest; use [`WarningLevel::at_least`] for comparisons.
    WarningLevel, "warning_level" {
        /// Level 1, red (一级，红色).
        Red = "red",
        /// Level 2, orange (二级，橙色).
        Orange = "orange",
        /// Level 3, yellow (三级，黄色).
        Yellow = "yellow",
        /// Level 4, blue (四级，蓝色).
        Blue = "blue",
    }
}

coded_enum! {
    /// Response level: how much the government mobilises (应急响应级别, ERL Art. 71); level 1 is the highest.
    /// Declared from the highest to the lowest; use [`ResponseLevel::at_least`] for comparisons.
    ResponseLevel, "response_level" {
        /// Level 1 (一级).
        Level1 = "level_1",
        /// Level 2 (二级).
        Level2 = "level_2",
        /// Level 3 (三级).
        Level3 = "level_3",
        /// Level 4 (四级).
        Level4 = "level_4",
    }
}

macro_rules! ranked_scale {
    ($name:ident) => {
        impl $name {
            /// The number of this value on its scale: 1 is the most serious, 4 the least.
            pub fn rank(self) -> u8 {
                // Declared from the most serious, so the position is the rank.
                Self::ALL.iter().position(|value| *value == self).map(|position| position as u8 + 1).unwrap_or(4)
            }

            /// Whether this value is as serious as `threshold` or more.
            pub fn at_least(self, threshold: $name) -> bool {
                self.rank() <= threshold.rank()
            }

            /// The more serious of two values.
            pub fn most_serious(self, other: $name) -> $name {
                if other.rank() < self.rank() { other } else { self }
            }

            /// The value one step more serious, or `None` at the top of the scale.
            pub fn raised(self) -> Option<$name> {
                self.rank().checked_sub(2).map(|index| Self::ALL[usize::from(index)])
            }

            /// The value with rank `rank` (1–4).
            pub fn from_rank(rank: u8) -> Option<$name> {
                rank.checked_sub(1).and_then(|index| Self::ALL.get(usize::from(index)).copied())
            }
        }
    };
}

ranked_scale!(Grade);
ranked_scale!(WarningLevel);
ranked_scale!(ResponseLevel);

/// The scales an incident carries, checked against its category: a social security event has no grade and no
/// colour warning (ERL Arts. 3, 63). Each scale may be unknown (`None`) until someone sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scales {
    grade: Option<Grade>,
    warning: Option<WarningLevel>,
    response: Option<ResponseLevel>,
}

impl Scales {
    /// Checks the scales of an incident of `category`.
    pub fn parse(
        category: Category,
        grade: Option<Grade>,
        warning: Option<WarningLevel>,
        response: Option<ResponseLevel>,
    ) -> Result<Scales, ScaleError> {
        if grade.is_some() && !category.is_graded() {
            return Err(ScaleError { field: "grade", category });
        }
        if warning.is_some() && !category.is_warnable() {
            return Err(ScaleError { field: "warning_level", category });
        }
        Ok(Scales { grade, warning, response })
    }

    /// The event grade, if set.
    pub fn grade(&self) -> Option<Grade> {
        self.grade
    }

    /// The warning level in force, if any.
    pub fn warning(&self) -> Option<WarningLevel> {
        self.warning
    }

    /// The response level, if a response is active.
    pub fn response(&self) -> Option<ResponseLevel> {
        self.response
    }
}

/// A scale was given for a category that does not have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleError {
    /// The field at fault: `grade` or `warning_level`.
    pub field: &'static str,
    /// The incident's category.
    pub category: Category,
}

impl ScaleError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        "scale_not_applicable"
    }

    /// The message in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        i18n::format(
            locale,
            &format!("incident_error.{}.{}", self.code(), self.field),
            &[("category", self.category.label(locale).to_string())],
        )
    }
}

impl fmt::Display for ScaleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Locale::En))
    }
}

impl std::error::Error for ScaleError {}

/// A grading standard: per grade, criteria of which any one met gives that grade; the most serious grade met wins
/// ("A or B or C", DOMAIN.md §1.3.2). Standards are per hazard and versioned, so they are data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradingStandard {
    /// For each grade, the thresholds (`measure >= value`) any one of which gives the grade.
    pub criteria: Vec<(Grade, Vec<(Measure, u64)>)>,
    /// The grade when no criterion is met, if the standard has one (production-safety accidents: IV).
    pub otherwise: Option<Grade>,
}

impl GradingStandard {
    /// Production-safety accidents (生产安全事故报告和调查处理条例 Art. 3): deaths, serious injuries including acute
    /// poisoning, and direct economic loss in units of 10,000 CNY.
    pub fn production_safety() -> GradingStandard {
        let row = |deaths, injuries, loss| {
            vec![(Measure::Deaths, deaths), (Measure::SeriouslyInjured, injuries), (Measure::DirectLoss10kCny, loss)]
        };
        GradingStandard {
            criteria: vec![(Grade::I, row(30, 100, 10_000)), (Grade::Ii, row(10, 50, 5_000)), (Grade::Iii, row(3, 10, 1_000))],
            otherwise: Some(Grade::Iv),
        }
    }

    /// The grade the figures meet.
    pub fn grade(&self, figures: &Figures) -> Option<Grade> {
        let met = self
            .criteria
            .iter()
            .filter(|(_, thresholds)| thresholds.iter().any(|(measure, value)| figures.get(*measure).is_some_and(|n| n >= *value)))
            .map(|(grade, _)| *grade)
            .reduce(Grade::most_serious);
        met.or(self.otherwise)
    }
}

coded_enum! {
    /// A figure an incident is described by: casualties, people and households affected, and the few readings
    /// that plans trigger on. Values are whole numbers in the unit the name says.
    Measure, "measure" {
        /// People dead.
        Deaths = "deaths",
        /// People missing.
        Missing = "missing",
        /// People seriously injured, acute poisoning included.
        SeriouslyInjured = "seriously_injured",
        /// People injured (all severities).
        Injured = "injured",
        /// People trapped.
        Trapped = "trapped",
        /// People evacuated or moved to safety.
        Evacuated = "evacuated",
        /// People affected.
        AffectedPeople = "affected_people",
        /// Households affected.
        AffectedHouseholds = "affected_households",
        /// Buildings collapsed or seriously damaged.
        CollapsedBuildings = "collapsed_buildings",
        /// Direct economic loss, in units of 10,000 CNY (万元).
        DirectLoss10kCny = "direct_loss_10k_cny",
        /// Confirmed cases of a disease.
        ConfirmedCases = "confirmed_cases",
        /// Suspected cases of a disease.
        SuspectedCases = "suspected_cases",
        /// Depth of standing water, in centimetres.
        PondingDepthCm = "ponding_depth_cm",
        /// Rainfall in the last hour, in millimetres.
        HourlyRainfallMm = "hourly_rainfall_mm",
        /// Crowd density, in people per square metre.
        CrowdDensityPerM2 = "crowd_density_per_m2",
    }
}

impl Measure {
    /// Whether this figure counts casualties (the ones an upward report lists under casualties).
    pub fn is_casualty(self) -> bool {
        matches!(self, Measure::Deaths | Measure::Missing | Measure::SeriouslyInjured | Measure::Injured | Measure::Trapped)
    }

    /// The value with its unit in `locale`, for example "3 dead" or "死亡 3 人".
    pub fn describe(self, value: u64, locale: Locale) -> String {
        i18n::format(locale, &format!("measure_value.{}", self.code()), &[("n", value.to_string())])
    }
}

/// The figures known about an incident, each measure at most once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Figures(BTreeMap<Measure, u64>);

impl Figures {
    /// No figures known.
    pub fn new() -> Figures {
        Figures::default()
    }

    /// These figures with `measure` set to `value`.
    pub fn with(mut self, measure: Measure, value: u64) -> Figures {
        self.0.insert(measure, value);
        self
    }

    /// Sets `measure` to `value`.
    pub fn set(&mut self, measure: Measure, value: u64) {
        self.0.insert(measure, value);
    }

    /// The value of `measure`, if known.
    pub fn get(&self, measure: Measure) -> Option<u64> {
        self.0.get(&measure).copied()
    }

    /// Every known figure, in measure order.
    pub fn iter(&self) -> impl Iterator<Item = (Measure, u64)> + '_ {
        self.0.iter().map(|(measure, value)| (*measure, *value))
    }

    /// The figures of two sources combined: for each measure the larger value, because merged reports describe
    /// the same incident and a later, larger count supersedes an earlier one.
    pub fn merged(&self, other: &Figures) -> Figures {
        let mut merged = self.clone();
        for (measure, value) in other.iter() {
            let entry = merged.0.entry(measure).or_insert(value);
            *entry = (*entry).max(value);
        }
        merged
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Status.

coded_enum! {
    /// Where an incident stands. The main line is reported › verified › responding › stabilized › closed; an
    /// incident found to be another one is merged into it, and a report found false is rejected.
    IncidentStatus, "incident_status" {
        /// Reported and waiting to be verified or forwarded (ERL Art. 60).
        Reported = "reported",
        /// Verified as real; the plan may be activated.
        Verified = "verified",
        /// A response is active (ERL Art. 72).
        Responding = "responding",
        /// The response has ended; recovery and review go on (ERL Arts. 86–92).
        Stabilized = "stabilized",
        /// Done and archived.
        Closed = "closed",
        /// Found to be the same as another incident, into which its reports were merged.
        Merged = "merged",
        /// Found to be false or not an emergency.
        Rejected = "rejected",
    }
}

impl IncidentStatus {
    /// The statuses this one may move to.
    pub fn allowed_targets(self) -> &'static [IncidentStatus] {
        use IncidentStatus::*;
        match self {
            Reported => &[Verified, Merged, Rejected],
            // A verified incident handled without a formal response (a fallen tree cleared) closes directly.
            Verified => &[Responding, Closed, Merged],
            Responding => &[Stabilized],
            // A relapse (the water rises again) resumes the response.
            Stabilized => &[Responding, Closed],
            Closed => &[],
            // Undoing a merge (a split) returns the incident to verification or to its verified state.
            Merged => &[Reported, Verified],
            // A rejected report can be reopened: an omitted report is itself a breach (ERL Art. 61).
            Rejected => &[Reported],
        }
    }

    /// Whether the incident is still open: new reports may be matched to it and it shows on the board.
    pub fn is_open(self) -> bool {
        matches!(self, IncidentStatus::Reported | IncidentStatus::Verified | IncidentStatus::Responding | IncidentStatus::Stabilized)
    }
}

/// Checks a status change. The error lists the allowed targets, which the API returns with its 409.
pub fn transition(from: IncidentStatus, to: IncidentStatus) -> Result<(), TransitionError> {
    if from.allowed_targets().contains(&to) { Ok(()) } else { Err(TransitionError { from, to, allowed: from.allowed_targets() }) }
}

/// A status change that the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError {
    /// The current status.
    pub from: IncidentStatus,
    /// The status asked for.
    pub to: IncidentStatus,
    /// The statuses `from` may move to (empty for a closed incident).
    pub allowed: &'static [IncidentStatus],
}

impl TransitionError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        "invalid_transition"
    }

    /// The codes of the allowed targets, for the problem document.
    pub fn allowed_codes(&self) -> Vec<&'static str> {
        self.allowed.iter().map(|status| status.code()).collect()
    }

    /// The message in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        let allowed = if self.allowed.is_empty() {
            i18n::text(locale, "incident_error.no_transition").to_string()
        } else {
            self.allowed
                .iter()
                .map(|status| status.label(locale))
                .collect::<Vec<_>>()
                .join(i18n::text(locale, "incident_text.list_separator"))
        };
        i18n::format(
            locale,
            "incident_error.invalid_transition",
            &[("from", self.from.label(locale).to_string()), ("to", self.to.label(locale).to_string()), ("allowed", allowed)],
        )
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Locale::En))
    }
}

impl std::error::Error for TransitionError {}

// ---------------------------------------------------------------------------------------------------------------
// De-duplication.

/// Something seen at a place and a time: a new report, or an open incident (its location and its latest report).
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    /// What kind of incident it is.
    pub kind: IncidentKind,
    /// Where.
    pub position: GeoPoint,
    /// When it was seen (for an incident: its latest report).
    pub at: Timestamp,
}

/// Distance and time limits for one sub-type (and the sub-types that refine it).
#[derive(Debug, Clone, PartialEq)]
pub struct DedupeLimits {
    max_distance_m: f64,
    max_interval: SignedDuration,
}

impl DedupeLimits {
    /// Checks limits: a distance from 1 m to 100 km, an interval from 1 minute to 7 days.
    pub fn parse(field: &str, max_distance_m: f64, max_interval_minutes: i64) -> Result<DedupeLimits, Invalid> {
        if !max_distance_m.is_finite() || !(1.0..=100_000.0).contains(&max_distance_m) {
            return Err(Invalid::new(
                format!("{field}.max_distance_m"),
                InvalidReason::OutOfRange { min: "1".into(), max: "100000".into() },
            ));
        }
        if !(1..=7 * 24 * 60).contains(&max_interval_minutes) {
            return Err(Invalid::new(
                format!("{field}.max_interval_minutes"),
                InvalidReason::OutOfRange { min: "1".into(), max: "10080".into() },
            ));
        }
        Ok(DedupeLimits { max_distance_m, max_interval: SignedDuration::from_mins(max_interval_minutes) })
    }

    /// The largest distance at which two sightings may be the same incident.
    pub fn max_distance_m(&self) -> f64 {
        self.max_distance_m
    }

    /// The largest interval between two sightings of the same incident.
    pub fn max_interval(&self) -> SignedDuration {
        self.max_interval
    }
}

/// The thresholds and weights of de-duplication. The score of a pair is
/// `w_kind·s_kind + w_distance·(1 − d/D) + w_time·(1 − t/T)`, where `s_kind` is 1 for the same sub-type, the
/// related similarity for related sub-types, the category similarity for the same category and 0 otherwise; `D`
/// and `T` are the limits of the pair (the larger of the two sub-types' limits, so the score is symmetric). Pairs
/// farther apart than `D` or `T` are never proposed; pairs scoring below the minimum are not proposed either.
#[derive(Debug, Clone, PartialEq)]
pub struct DedupeRules {
    default_limits: DedupeLimits,
    limits_by_subtype: Vec<(SubtypeCode, DedupeLimits)>,
    weight_kind: f64,
    weight_distance: f64,
    weight_time: f64,
    related_similarity: f64,
    category_similarity: f64,
    min_score: f64,
}

impl Default for DedupeRules {
    /// 800 m and 90 minutes, wider for area-wide hazards; kind weighs half; proposals from 0.6. A waterlogging
    /// report 430 m and 12 minutes from another scores 0.5 + 0.3·0.46 + 0.2·0.87 ≈ 0.81.
    fn default() -> DedupeRules {
        let limits = |distance, minutes| DedupeLimits { max_distance_m: distance, max_interval: SignedDuration::from_mins(minutes) };
        let wide = |code: &str, distance, minutes| (SubtypeCode(code.to_string()), limits(distance, minutes));
        DedupeRules {
            default_limits: limits(800.0, 90),
            limits_by_subtype: vec![
                wide("typhoon", 5_000.0, 720),
                wide("rainstorm", 3_000.0, 360),
                wide("infectious_disease", 3_000.0, 7 * 24 * 60),
                wide("power_outage", 3_000.0, 240),
            ],
            weight_kind: 0.5,
            weight_distance: 0.3,
            weight_time: 0.2,
            related_similarity: 0.7,
            category_similarity: 0.4,
            min_score: 0.6,
        }
    }
}

impl DedupeRules {
    /// Builds rules from data. The three weights must be non-negative and sum to 1; similarities and the minimum
    /// score lie in [0, 1]. `field` prefixes the fields at fault.
    pub fn parse(
        field: &str,
        default_limits: DedupeLimits,
        limits_by_subtype: Vec<(SubtypeCode, DedupeLimits)>,
        weights: (f64, f64, f64),
        related_similarity: f64,
        category_similarity: f64,
        min_score: f64,
    ) -> Result<DedupeRules, Invalid> {
        let unit = |name: &str, value: f64| {
            if value.is_finite() && (0.0..=1.0).contains(&value) {
                Ok(value)
            } else {
                Err(Invalid::new(format!("{field}.{name}"), InvalidReason::OutOfRange { min: "0".into(), max: "1".into() }))
            }
        };
        let (kind, distance, time) =
            (unit("weight_kind", weights.0)?, unit("weight_distance", weights.1)?, unit("weight_time", weights.2)?);
        if (kind + distance + time - 1.0).abs() > 1e-9 {
            return Err(Invalid::new(format!("{field}.weights"), InvalidReason::Malformed { expected: "weights that sum to 1" }));
        }
        let related_similarity = unit("related_similarity", related_similarity)?;
        let category_similarity = unit("category_similarity", category_similarity)?;
        if category_similarity > related_similarity {
            return Err(Invalid::new(
                format!("{field}.category_similarity"),
                InvalidReason::OutOfRange { min: "0".into(), max: related_similarity.to_string() },
            ));
        }
        Ok(DedupeRules {
            default_limits,
            limits_by_subtype,
            weight_kind: kind,
            weight_distance: distance,
            weight_time: time,
            related_similarity,
            category_similarity,
            min_score: unit("min_score", min_score)?,
        })
    }

    /// The smallest score that is proposed.
    pub fn min_score(&self) -> f64 {
        self.min_score
    }

    /// The limits for one sub-type: its own, or those of the nearest broader sub-type that has some, or the default.
    pub fn limits_for(&self, table: &SubtypeTable, subtype: &SubtypeCode) -> &DedupeLimits {
        let lineage = table.lineage(subtype);
        let lineage: Vec<&SubtypeCode> = if lineage.is_empty() { vec![subtype] } else { lineage };
        lineage
            .iter()
            .find_map(|code| self.limits_by_subtype.iter().find(|(limited, _)| limited == *code).map(|(_, limits)| limits))
            .unwrap_or(&self.default_limits)
    }

    /// The limits of a pair: the larger distance and the longer interval of the two sub-types, so that the pair is
    /// judged the same whichever side is new.
    fn pair_limits(&self, table: &SubtypeTable, a: &SubtypeCode, b: &SubtypeCode) -> (f64, SignedDuration) {
        let (la, lb) = (self.limits_for(table, a), self.limits_for(table, b));
        (la.max_distance_m.max(lb.max_distance_m), la.max_interval.max(lb.max_interval))
    }

    /// Where and when to look for candidates of `sighting`: a box around it and a time window, both as wide as the
    /// widest limits that could apply, so a store can prefilter with plain column comparisons.
    pub fn search_window(&self, table: &SubtypeTable, sighting: &Sighting) -> (BBox, Timestamp, Timestamp) {
        let own = self.limits_for(table, sighting.kind.subtype());
        let widest_distance = self.limits_by_subtype.iter().map(|(_, l)| l.max_distance_m).fold(own.max_distance_m, f64::max);
        let widest_interval = self.limits_by_subtype.iter().map(|(_, l)| l.max_interval).fold(own.max_interval, SignedDuration::max);
        let widest_distance = widest_distance.max(self.default_limits.max_distance_m);
        let widest_interval = widest_interval.max(self.default_limits.max_interval);
        // A degree of latitude is at least 110.5 km; dividing by a slightly smaller figure keeps the box a superset.
        let dlat = widest_distance / 110_000.0;
        let cos_lat = sighting.position.lat().to_radians().cos().max(0.01);
        let dlon = (widest_distance / (110_000.0 * cos_lat)).min(180.0);
        let bbox = BBox {
            min_lon: (sighting.position.lon() - dlon).max(-180.0),
            min_lat: (sighting.position.lat() - dlat).max(-90.0),
            max_lon: (sighting.position.lon() + dlon).min(180.0),
            max_lat: (sighting.position.lat() + dlat).min(90.0),
        };
        let from = sighting.at.checked_sub(widest_interval).unwrap_or(Timestamp::MIN);
        let to = sighting.at.checked_add(widest_interval).unwrap_or(Timestamp::MAX);
        (bbox, from, to)
    }

    /// How alike two sightings are: `None` when they lie beyond the pair's limits, otherwise the score in [0, 1]
    /// and the reasons. Symmetric: `assess(a, b) == assess(b, a)`.
    pub fn assess(&self, table: &SubtypeTable, a: &Sighting, b: &Sighting) -> Option<Assessment> {
        let (max_distance, max_interval) = self.pair_limits(table, a.kind.subtype(), b.kind.subtype());
        let distance_m = a.position.distance_m(b.position).max(b.position.distance_m(a.position));
        let interval = a.at.duration_since(b.at).abs();
        if distance_m > max_distance || interval > max_interval {
            return None;
        }
        let relation =
            if a.kind.category != b.kind.category { KindRelation::Unrelated } else { table.relation(a.kind.subtype(), b.kind.subtype()) };
        let kind_similarity = match relation {
            KindRelation::Same => 1.0,
            KindRelation::Related => self.related_similarity,
            KindRelation::SameCategory => self.category_similarity,
            KindRelation::Unrelated => 0.0,
        };
        let distance_closeness = 1.0 - distance_m / max_distance;
        let time_closeness = 1.0 - interval.as_secs_f64() / max_interval.as_secs_f64();
        let score = (self.weight_kind * kind_similarity + self.weight_distance * distance_closeness + self.weight_time * time_closeness)
            .clamp(0.0, 1.0);
        let kind_reason = match relation {
            KindRelation::Same => MatchReason::SameSubtype,
            KindRelation::Related => MatchReason::RelatedSubtype,
            KindRelation::SameCategory => MatchReason::SameCategory,
            KindRelation::Unrelated => MatchReason::DifferentCategory,
        };
        let reasons = vec![
            kind_reason,
            MatchReason::Distance { metres: round_to(distance_m, 10.0) },
            MatchReason::Interval { minutes: ((interval.as_secs() + 30) / 60).unsigned_abs() },
        ];
        Some(Assessment { score, relation, distance_m, interval, reasons })
    }

    /// The candidates that may be the same incident as `new`, best first (ties by key), at most one per key (its
    /// best sighting), each scoring at least the minimum. Candidates may be open incidents, reports, or both.
    pub fn propose<K: Ord + Clone>(&self, table: &SubtypeTable, new: &Sighting, candidates: &[(K, Sighting)]) -> Vec<Proposal<K>> {
        let mut best: BTreeMap<K, Assessment> = BTreeMap::new();
        for (key, candidate) in candidates {
            let Some(assessment) = self.assess(table, new, candidate) else { continue };
            if assessment.score < self.min_score {
                continue;
            }
            match best.get(key) {
                Some(existing) if existing.score >= assessment.score => {}
                _ => {
                    best.insert(key.clone(), assessment);
                }
            }
        }
        let mut proposals: Vec<Proposal<K>> = best.into_iter().map(|(key, assessment)| Proposal { key, assessment }).collect();
        // Stable sort on score keeps the key order (ascending, from the map) between equal scores.
        proposals.sort_by(|a, b| b.assessment.score.total_cmp(&a.assessment.score));
        proposals
    }
}

fn round_to(value: f64, step: f64) -> u64 {
    ((value / step).round() * step).max(0.0) as u64
}

/// Why a candidate was proposed (or not): the kind relation, the distance and the interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchReason {
    /// The same sub-type.
    SameSubtype,
    /// Related sub-types (one refines the other, or both refine the same broader one).
    RelatedSubtype,
    /// Different sub-types of the same category.
    SameCategory,
    /// Different categories.
    DifferentCategory,
    /// The distance between the two, rounded to 10 m.
    Distance {
        /// Metres, rounded to the nearest 10.
        metres: u64,
    },
    /// The time between the two, rounded to the minute.
    Interval {
        /// Whole minutes.
        minutes: u64,
    },
}

impl MatchReason {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            MatchReason::SameSubtype => "same_subtype",
            MatchReason::RelatedSubtype => "related_subtype",
            MatchReason::SameCategory => "same_category",
            MatchReason::DifferentCategory => "different_category",
            MatchReason::Distance { .. } => "distance",
            MatchReason::Interval { .. } => "interval",
        }
    }

    /// The reason in `locale`, for example "430 m away" or "相距 430 米".
    pub fn message(&self, locale: Locale) -> String {
        let params = match self {
            MatchReason::Distance { metres } => vec![("metres", metres.to_string())],
            MatchReason::Interval { minutes } => vec![("minutes", minutes.to_string())],
            _ => Vec::new(),
        };
        i18n::format(locale, &format!("dedupe_reason.{}", self.code()), &params)
    }
}

/// How alike two sightings are.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The score in [0, 1]: higher is more alike.
    pub score: f64,
    /// How the kinds relate.
    pub relation: KindRelation,
    /// The distance in metres.
    pub distance_m: f64,
    /// The time between them (never negative).
    pub interval: SignedDuration,
    /// The reasons, in the order kind, distance, interval.
    pub reasons: Vec<MatchReason>,
}

/// A candidate proposed as the same incident as a new sighting.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal<K> {
    /// The candidate's key (an incident or report id).
    pub key: K,
    /// Why.
    pub assessment: Assessment,
}

// ---------------------------------------------------------------------------------------------------------------
// Upward reporting clocks.

coded_enum! {
    /// A tier a report passes through on its way up.
    ReportingTier, "reporting_tier" {
        /// The unit where it happened, or the institution that detected it (事发单位/监测机构).
        Unit = "unit",
        /// A grid (网格).
        Grid = "grid",
        /// A residents' or villagers' committee (社区/村).
        Community = "community",
        /// A sub-district office or township (街道/乡镇).
        SubDistrict = "sub_district",
        /// The competent department of the county-level government (县级主管部门).
        CountyDepartment = "county_department",
        /// The county-level government (县级人民政府).
        CountyGovernment = "county_government",
        /// The government of a city with districts (设区的市级).
        City = "city",
        /// The provincial government (省级).
        Province = "province",
        /// The State Council or the national authority (国务院/国家主管部门).
        National = "national",
    }
}

/// One step of a reporting chain: `from` must report to `to` within `within` of receiving the report itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingStep {
    /// Who reports.
    pub from: ReportingTier,
    /// To whom.
    pub to: ReportingTier,
    /// The time allowed from the moment `from` knew.
    pub within: SignedDuration,
    /// The catalog key of the legal basis (`reporting_basis.<code>`), for statutory steps.
    pub basis: Option<&'static str>,
}

/// A reporting chain: each step starts where the previous one ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingSchedule {
    steps: Vec<ReportingStep>,
}

impl ReportingSchedule {
    /// Checks a chain: at least one step, consecutive steps joined, every time allowed non-negative and no tier
    /// visited twice. `field` prefixes the field at fault (`steps[2].from`).
    pub fn new(field: &str, steps: Vec<ReportingStep>) -> Result<ReportingSchedule, Invalid> {
        if steps.is_empty() {
            return Err(Invalid::new(format!("{field}.steps"), InvalidReason::Required));
        }
        let mut seen = vec![steps[0].from];
        for (index, step) in steps.iter().enumerate() {
            if step.within.is_negative() {
                return Err(Invalid::new(
                    format!("{field}.steps[{index}].within"),
                    InvalidReason::OutOfRange { min: "0".into(), max: "∞".into() },
                ));
            }
            if index > 0 && step.from != steps[index - 1].to {
                return Err(Invalid::new(
                    format!("{field}.steps[{index}].from"),
                    InvalidReason::UnknownValue { allowed: vec![steps[index - 1].to.code()] },
                ));
            }
            if seen.contains(&step.to) {
                return Err(Invalid::new(format!("{field}.steps[{index}].to"), InvalidReason::Duplicate));
            }
            seen.push(step.to);
        }
        Ok(ReportingSchedule { steps })
    }

    fn statutory(steps: &[(ReportingTier, ReportingTier, i64, &'static str)]) -> ReportingSchedule {
        ReportingSchedule {
            steps: steps
                .iter()
                .map(|(from, to, minutes, basis)| ReportingStep {
                    from: *from,
                    to: *to,
                    within: SignedDuration::from_mins(*minutes),
                    basis: Some(basis),
                })
                .collect(),
        }
    }

    /// Production-safety accidents: the unit's head reports to the county-level regulator within 1 hour (Art. 9);
    /// each level of regulator reports to the next within 2 hours (Art. 11).
    pub fn production_safety() -> ReportingSchedule {
        use ReportingTier::*;
        ReportingSchedule::statutory(&[
            (Unit, CountyDepartment, 60, "reporting_basis.production_safety_art9"),
            (CountyDepartment, City, 120, "reporting_basis.production_safety_art11"),
            (City, Province, 120, "reporting_basis.production_safety_art11"),
            (Province, National, 120, "reporting_basis.production_safety_art11"),
        ])
    }

    /// Public-health emergencies: institutions report to the county health department within 2 hours; the
    /// department to its government within 2 hours; county to city and city to province within 2 hours each;
    /// province to the national health authority within 1 hour (突发公共卫生事件应急条例 Arts. 19–20).
    pub fn public_health() -> ReportingSchedule {
        use ReportingTier::*;
        ReportingSchedule::statutory(&[
            (Unit, CountyDepartment, 120, "reporting_basis.public_health_art19"),
            (CountyDepartment, CountyGovernment, 120, "reporting_basis.public_health_art19"),
            (CountyGovernment, City, 120, "reporting_basis.public_health_art19"),
            (City, Province, 120, "reporting_basis.public_health_art19"),
            (Province, National, 60, "reporting_basis.public_health_art20"),
        ])
    }

    /// The statutory chain that applies to a category and sub-type, if the law fixes one in hours. Accidents follow
    /// the production-safety regulation and public-health events their own; natural disasters must be reported
    /// "immediately" (自然灾害救助条例 Art. 16) and social security events have no published clock, so plans set
    /// those.
    pub fn statutory_for(category: Category) -> Option<ReportingSchedule> {
        match category {
            Category::AccidentDisaster => Some(ReportingSchedule::production_safety()),
            Category::PublicHealth => Some(ReportingSchedule::public_health()),
            Category::NaturalDisaster | Category::SocialSecurity => None,
        }
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[ReportingStep] {
        &self.steps
    }

    /// The step from `from` to `to`, if the chain has it.
    pub fn step(&self, from: ReportingTier, to: ReportingTier) -> Option<&ReportingStep> {
        self.steps.iter().find(|step| step.from == from && step.to == to)
    }

    /// The worst-case time from the first tier's knowledge until `tier` has the report, if the chain reaches it.
    pub fn total_to(&self, tier: ReportingTier) -> Option<SignedDuration> {
        let mut total = SignedDuration::ZERO;
        for step in &self.steps {
            total += step.within;
            if step.to == tier {
                return Some(total);
            }
        }
        None
    }

    /// The deadline of every step. The first step's clock starts at `known_at` (when the first tier knew); each
    /// later step's clock starts when its reporting tier actually received the report, if `received` says so, and
    /// otherwise at the previous step's deadline (the latest it may have arrived).
    pub fn deadlines(&self, known_at: Timestamp, received: &[(ReportingTier, Timestamp)]) -> Vec<ReportingDeadline> {
        let mut deadlines = Vec::with_capacity(self.steps.len());
        let mut previous_due = known_at;
        for (index, step) in self.steps.iter().enumerate() {
            let receipt = received.iter().filter(|(tier, _)| *tier == step.from).map(|(_, at)| *at).min();
            let (starts, started_by_receipt) = match (index, receipt) {
                (0, _) => (known_at, false),
                (_, Some(at)) => (at, true),
                (_, None) => (previous_due, false),
            };
            let due = starts.checked_add(step.within).unwrap_or(Timestamp::MAX);
            let done_at = received.iter().filter(|(tier, _)| *tier == step.to).map(|(_, at)| *at).min();
            deadlines.push(ReportingDeadline { from: step.from, to: step.to, starts, started_by_receipt, due, done_at, basis: step.basis });
            previous_due = due;
        }
        deadlines
    }
}

/// When one step of a reporting chain is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportingDeadline {
    /// Who reports.
    pub from: ReportingTier,
    /// To whom.
    pub to: ReportingTier,
    /// When the clock started.
    pub starts: Timestamp,
    /// Whether the clock started at an actual receipt (otherwise at the previous deadline, or at the first knowledge).
    pub started_by_receipt: bool,
    /// The deadline.
    pub due: Timestamp,
    /// When `to` received the report, if it has.
    pub done_at: Option<Timestamp>,
    /// The catalog key of the legal basis, for statutory steps.
    pub basis: Option<&'static str>,
}

impl ReportingDeadline {
    /// Whether the step is late at `now`: not done by its deadline.
    pub fn is_late(&self, now: Timestamp) -> bool {
        match self.done_at {
            Some(done) => done > self.due,
            None => now > self.due,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The upward report.

/// One dated line of an incident's history or of the actions taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When.
    pub at: Timestamp,
    /// What, as the person wrote it.
    pub text: String,
}

/// The facts an upward report is generated from. Free text (summary, place, actions, needs) appears as written;
/// everything else is rendered in the report's language.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFacts {
    /// The incident's reference, for example `INC-2026-000123`.
    pub reference: String,
    /// What kind of incident.
    pub kind: IncidentKind,
    /// What happened, in a sentence or two.
    pub summary: String,
    /// Where: an address or a description of the place.
    pub place: String,
    /// The jurisdiction it lies in, as a name (zh, en).
    pub jurisdiction: (String, String),
    /// The position, if known.
    pub position: Option<GeoPoint>,
    /// When it happened (or began).
    pub occurred_at: Timestamp,
    /// When it was first reported.
    pub reported_at: Timestamp,
    /// The scales.
    pub scales: Scales,
    /// Casualties, people and households affected, losses.
    pub figures: Figures,
    /// Actions taken so far.
    pub actions: Vec<TimelineEntry>,
    /// What is needed from above: forces, materials, expertise.
    pub needs: Vec<String>,
    /// The incident's timeline.
    pub timeline: Vec<TimelineEntry>,
    /// How many source reports were merged into the incident.
    pub source_reports: u32,
    /// Who reports: the unit's name.
    pub reporting_unit: String,
    /// A contact for questions (the duty line).
    pub contact: Option<String>,
}

/// One item of an upward report, with its label and value in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportItem {
    /// The stable key of the item (`what`, `where`, `casualties` …).
    pub key: &'static str,
    /// The label in Simplified Chinese.
    pub label_zh: String,
    /// The label in English.
    pub label_en: String,
    /// The value in Simplified Chinese.
    pub value_zh: String,
    /// The value in English.
    pub value_en: String,
}

impl ReportItem {
    /// The label in `locale`.
    pub fn label(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.label_zh,
            Locale::En => &self.label_en,
        }
    }

    /// The value in `locale`.
    pub fn value(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.value_zh,
            Locale::En => &self.value_en,
        }
    }
}

/// An upward report (事件信息报告), generated from the data rather than typed: the items of the report and the
/// reporting deadlines that apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpwardReport {
    /// The items, in reading order; the first is the title.
    pub items: Vec<ReportItem>,
    /// The deadlines of the reporting chain, if one applies.
    pub deadlines: Vec<ReportingDeadline>,
}

impl UpwardReport {
    /// The item with `key`.
    pub fn item(&self, key: &str) -> Option<&ReportItem> {
        self.items.iter().find(|item| item.key == key)
    }

    /// The report as plain text in `locale`: the title, then one "label: value" paragraph per item.
    pub fn text(&self, locale: Locale) -> String {
        let colon = i18n::text(locale, "punct.colon");
        let mut out = String::new();
        for (index, item) in self.items.iter().enumerate() {
            if index == 0 {
                out.push_str(item.value(locale));
                out.push_str("\n\n");
            } else {
                out.push_str(item.label(locale));
                out.push_str(colon);
                out.push_str(item.value(locale));
                out.push('\n');
            }
        }
        out
    }
}

/// Formats a time in `tz` for a report in `locale`.
pub fn format_time(at: Timestamp, tz: &TimeZone, locale: Locale) -> String {
    let zoned = at.to_zoned_datetime(tz.clone());
    match locale {
        Locale::ZhCn => zoned.strftime("%Y年%-m月%-d日%H时%M分").to_string(),
        Locale::En => zoned.strftime("%Y-%m-%d %H:%M %Z").to_string(),
    }
}

/// Generates the upward report of an incident. `tz` is the jurisdiction's time zone; `schedule` the reporting
/// chain that applies (see [`ReportingSchedule::statutory_for`], or the plan's), with `received` the times tiers
/// received the report so far. Pure: the same facts give the same report.
pub fn upward_report(
    facts: &IncidentFacts,
    table: &SubtypeTable,
    tz: &TimeZone,
    schedule: Option<&ReportingSchedule>,
    received: &[(ReportingTier, Timestamp)],
) -> UpwardReport {
    let both = |f: &dyn Fn(Locale) -> String| (f(Locale::ZhCn), f(Locale::En));
    let label = |locale: Locale, key: &str| i18n::text(locale, &format!("upward_report.label.{key}")).to_string();
    let mut items = Vec::new();
    let mut push = |key: &'static str, (value_zh, value_en): (String, String)| {
        items.push(ReportItem { key, label_zh: label(Locale::ZhCn, key), label_en: label(Locale::En, key), value_zh, value_en });
    };
    let subtype = |locale| table.label(facts.kind.subtype(), locale).to_string();
    let none = |locale| i18n::text(locale, "upward_report.none").to_string();
    let separator = |locale| i18n::text(locale, "incident_text.list_separator");

    push(
        "title",
        both(&|locale| {
            i18n::format(
                locale,
                "upward_report.title",
                &[("place", facts.place.clone()), ("subtype", subtype(locale)), ("reference", facts.reference.clone())],
            )
        }),
    );
    push(
        "what",
        both(&|locale| {
            i18n::format(
                locale,
                "upward_report.what",
                &[("category", facts.kind.category.label(locale).to_string()), ("subtype", subtype(locale))],
            )
        }),
    );
    push("summary", (facts.summary.clone(), facts.summary.clone()));
    push(
        "where",
        both(&|locale| {
            let jurisdiction = if locale == Locale::ZhCn { &facts.jurisdiction.0 } else { &facts.jurisdiction.1 };
            match facts.position {
                Some(position) => i18n::format(
                    locale,
                    "upward_report.where_at",
                    &[
                        ("place", facts.place.clone()),
                        ("jurisdiction", jurisdiction.clone()),
                        ("lon", format!("{:.5}", position.lon())),
                        ("lat", format!("{:.5}", position.lat())),
                    ],
                ),
                None => {
                    i18n::format(locale, "upward_report.where", &[("place", facts.place.clone()), ("jurisdiction", jurisdiction.clone())])
                }
            }
        }),
    );
    push("when", both(&|locale| format_time(facts.occurred_at, tz, locale)));
    push(
        "reported",
        both(&|locale| {
            i18n::format(
                locale,
                "upward_report.reported",
                &[("time", format_time(facts.reported_at, tz, locale)), ("count", facts.source_reports.to_string())],
            )
        }),
    );
    push(
        "grade",
        both(&|locale| match (facts.kind.category.is_graded(), facts.scales.grade) {
            (false, _) => i18n::text(locale, "upward_report.not_graded").to_string(),
            (true, Some(grade)) => grade.label(locale).to_string(),
            (true, None) => i18n::text(locale, "upward_report.not_determined").to_string(),
        }),
    );
    push("warning", both(&|locale| facts.scales.warning.map(|level| level.label(locale).to_string()).unwrap_or_else(|| none(locale))));
    push("response", both(&|locale| facts.scales.response.map(|level| level.label(locale).to_string()).unwrap_or_else(|| none(locale))));
    let casualties: Vec<(Measure, u64)> = facts.figures.iter().filter(|(measure, _)| measure.is_casualty()).collect();
    push(
        "casualties",
        both(&|locale| {
            if casualties.is_empty() {
                i18n::text(locale, "upward_report.no_casualties").to_string()
            } else {
                casualties.iter().map(|(measure, value)| measure.describe(*value, locale)).collect::<Vec<_>>().join(separator(locale))
            }
        }),
    );
    let others: Vec<(Measure, u64)> = facts.figures.iter().filter(|(measure, _)| !measure.is_casualty()).collect();
    if !others.is_empty() {
        push(
            "figures",
            both(&|locale| {
                others.iter().map(|(measure, value)| measure.describe(*value, locale)).collect::<Vec<_>>().join(separator(locale))
            }),
        );
    }
    let dated = |entries: &[TimelineEntry], locale: Locale| {
        if entries.is_empty() {
            return none(locale);
        }
        let mut sorted: Vec<&TimelineEntry> = entries.iter().collect();
        sorted.sort_by_key(|entry| entry.at);
        sorted
            .iter()
            .map(|entry| format!("{} {}", format_time(entry.at, tz, locale), entry.text))
            .collect::<Vec<_>>()
            .join(i18n::text(locale, "incident_text.item_separator"))
    };
    push("actions", both(&|locale| dated(&facts.actions, locale)));
    push("needs", both(&|locale| if facts.needs.is_empty() { none(locale) } else { facts.needs.join(separator(locale)) }));
    push("timeline", both(&|locale| dated(&facts.timeline, locale)));
    let deadlines = schedule.map(|schedule| schedule.deadlines(facts.reported_at, received)).unwrap_or_default();
    if !deadlines.is_empty() {
        push(
            "deadlines",
            both(&|locale| {
                deadlines
                    .iter()
                    .map(|deadline| {
                        i18n::format(
                            locale,
                            "upward_report.deadline",
                            &[
                                ("from", deadline.from.label(locale).to_string()),
                                ("to", deadline.to.label(locale).to_string()),
                                ("time", format_time(deadline.due, tz, locale)),
                            ],
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(i18n::text(locale, "incident_text.item_separator"))
            }),
        );
    }
    push("reporting_unit", (facts.reporting_unit.clone(), facts.reporting_unit.clone()));
    if let Some(contact) = &facts.contact {
        push("contact", (contact.clone(), contact.clone()));
    }
    UpwardReport { items, deadlines }
}
