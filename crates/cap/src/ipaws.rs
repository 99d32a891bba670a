//! The CAP v1.2 USA IPAWS Profile v1.0: what an alert must carry to go through FEMA's Integrated Public Alert and
//! Warning System, checked (`check`) and applied to an alert Gridline exports (`apply`).
//!
//! The rules checked, each a `Rule::Ipaws…` with its stable code:
//! - the alert carries `<code>IPAWSv1.0</code>`;
//! - every `info` of an `Alert` or `Update` has an `expires`, an `eventCode` named `SAME` whose value is a
//!   three-letter SAME event code (`FFW`, `CEM` …), an `EAS-ORG` parameter (`EAS`, `CIV`, `WXR` or `PEP`) unless EAS
//!   is blocked (`BLOCKCHANNEL` `EAS`), and a `CMAMtext` (the Wireless Emergency Alert) of at most 90 characters
//!   when it has one;
//! - every `area` of such an `info` has at least one `geocode` named `SAME`, each a six-digit code (`PSSCCC`:
//!   subdivision, state and county FIPS).
//!
//! Exporting adds what can be derived (the code, the SAME event code from Gridline's hazard, `EAS-ORG` `CIV`, the
//! `CMAMtext` from the headline) and the SAME location codes the caller gives; what cannot be derived is left for
//! `check` to report.

use crate::finding::{Finding, Rule};
use crate::model::{Alert, NamedValue};
use crate::parse::SourceLines;
use crate::values::MessageType;

/// The value of `<code>` that says an alert follows the profile.
pub const IPAWS_CODE: &str = "IPAWSv1.0";

/// The originator codes `EAS-ORG` may take.
pub const EAS_ORIGINATORS: &[&str] = &["EAS", "CIV", "WXR", "PEP"];

/// The longest Wireless Emergency Alert text.
pub const CMAM_TEXT_MAX: usize = 90;

/// Gridline's hazard codes (`urn:gridline:hazard`) and the SAME event code of each; anything else is a Civil
/// Emergency Message.
const SAME_EVENTS: &[(&str, &str)] = &[
    ("rainstorm", "FFW"),
    ("flash_flood", "FFW"),
    ("flood_drought", "FLW"),
    ("urban_waterlogging", "FLW"),
    ("typhoon", "HUW"),
    ("storm_surge", "SSW"),
    ("gale", "HWW"),
    ("snowstorm", "BZW"),
    ("cold_wave", "WCW"),
    ("heat_wave", "EHW"),
    ("lightning", "SVR"),
    ("earthquake", "EQW"),
    ("tsunami", "TSW"),
    ("landslide", "LSW"),
    ("debris_flow", "LSW"),
    ("fire", "FRW"),
    ("building_fire", "FRW"),
    ("forest_grassland_fire", "FRW"),
    ("gas_leak", "HMW"),
    ("hazardous_chemicals", "HMW"),
    ("nuclear_radiation", "NUW"),
    ("water_main_burst", "CEM"),
    ("power_outage", "CEM"),
    ("crowd_crush", "CEM"),
];

/// The SAME event code of a Gridline hazard.
pub fn same_event_for(hazard: &str) -> &'static str {
    SAME_EVENTS.iter().find(|(code, _)| *code == hazard).map(|(_, same)| *same).unwrap_or("CEM")
}

fn is_same_event(value: &str) -> bool {
    value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_same_location(value: &str) -> bool {
    value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit())
}

/// Checks an alert against the IPAWS profile; `lines` places the findings (empty for a built alert).
pub fn check(alert: &Alert, lines: &SourceLines) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |rule: Rule, path: String, value: Option<String>| {
        let line = lines.line(&path);
        let mut finding = Finding::new(rule, path).at_line(line);
        if let Some(value) = value {
            finding = finding.with_value(value);
        }
        findings.push(finding);
    };
    if !alert.codes.iter().any(|code| code == IPAWS_CODE) {
        push(Rule::IpawsCodeMissing, "/alert".into(), None);
    }
    if !matches!(alert.message_type, MessageType::Alert | MessageType::Update) {
        return findings;
    }
    for (i, info) in alert.infos.iter().enumerate() {
        let at = format!("/alert/info[{}]", i + 1);
        if info.expires.is_none() {
            push(Rule::IpawsExpiresMissing, at.clone(), None);
        }
        let same_events: Vec<&NamedValue> = info.event_codes.iter().filter(|code| code.name == "SAME").collect();
        if same_events.is_empty() {
            push(Rule::IpawsSameEventMissing, at.clone(), None);
        }
        for code in same_events.iter().filter(|code| !is_same_event(&code.value)) {
            push(Rule::IpawsSameEventInvalid, format!("{at}/eventCode"), Some(code.value.clone()));
        }
        let parameter = |name: &'static str| info.parameters.iter().filter(move |p| p.name == name);
        let eas_blocked = parameter("BLOCKCHANNEL").any(|p| p.value.trim() == "EAS");
        let originators: Vec<&NamedValue> = parameter("EAS-ORG").collect();
        if originators.is_empty() && !eas_blocked {
            push(Rule::IpawsEasOrgMissing, at.clone(), None);
        }
        for originator in originators.iter().filter(|p| !EAS_ORIGINATORS.contains(&p.value.trim())) {
            push(Rule::IpawsEasOrgInvalid, format!("{at}/parameter"), Some(originator.value.clone()));
        }
        for text in parameter("CMAMtext").filter(|p| p.value.chars().count() > CMAM_TEXT_MAX) {
            push(Rule::IpawsCmamTextTooLong, format!("{at}/parameter"), Some(text.value.chars().count().to_string()));
        }
        for (j, area) in info.areas.iter().enumerate() {
            let area_at = format!("{at}/area[{}]", j + 1);
            let same: Vec<&NamedValue> = area.geocodes.iter().filter(|g| g.name == "SAME").collect();
            if same.is_empty() {
                push(Rule::IpawsSameGeocodeMissing, area_at.clone(), None);
            }
            for code in same.iter().filter(|g| !is_same_location(&g.value)) {
                push(Rule::IpawsSameGeocodeInvalid, format!("{area_at}/geocode"), Some(code.value.clone()));
            }
        }
    }
    findings
}

/// What an export to the profile needs that an alert does not say.
#[derive(Debug, Clone, Default)]
pub struct IpawsOptions {
    /// SAME location codes (six digits) to add to every area.
    pub same_codes: Vec<String>,
    /// The EAS originator (`CIV` unless given).
    pub originator: Option<String>,
}

/// The alert with what the profile asks for added where it can be derived: the `IPAWSv1.0` code; for every `info`
/// of an `Alert` or `Update`, the SAME event code of its Gridline hazard (`urn:gridline:hazard`, else a Civil
/// Emergency Message), `EAS-ORG`, a `CMAMtext` cut from the headline to 90 characters; the given SAME location codes
/// in every area. Run [`check`] on the result for what is still missing.
pub fn apply(mut alert: Alert, options: &IpawsOptions) -> Alert {
    if !alert.codes.iter().any(|code| code == IPAWS_CODE) {
        alert.codes.push(IPAWS_CODE.to_string());
    }
    if !matches!(alert.message_type, MessageType::Alert | MessageType::Update) {
        return alert;
    }
    let originator = options.originator.clone().unwrap_or_else(|| "CIV".to_string());
    for info in &mut alert.infos {
        if !info.event_codes.iter().any(|code| code.name == "SAME") {
            let hazard =
                info.event_codes.iter().find(|code| code.name == "urn:gridline:hazard").map(|code| code.value.as_str()).unwrap_or("");
            info.event_codes.push(NamedValue::new("SAME", same_event_for(hazard)));
        }
        if !info.parameters.iter().any(|p| p.name == "EAS-ORG") {
            info.parameters.push(NamedValue::new("EAS-ORG", originator.clone()));
        }
        if !info.parameters.iter().any(|p| p.name == "CMAMtext")
            && let Some(headline) = info.headline.as_ref().filter(|h| !h.trim().is_empty())
        {
            info.parameters.push(NamedValue::new("CMAMtext", headline.trim().chars().take(CMAM_TEXT_MAX).collect::<String>()));
        }
        for area in &mut info.areas {
            for code in &options.same_codes {
                if !area.geocodes.iter().any(|g| g.name == "SAME" && &g.value == code) {
                    area.geocodes.push(NamedValue::new("SAME", code.clone()));
                }
            }
        }
    }
    alert
}
