//! CAP 1.2 out (the GB/T 35965 profile) and in.

use cap::gbt35965::{GbtIdentifier, IssuerCode, Profile, WarningLevel};
use cap::{
    Alert, CapDateTime, Category, Certainty, Info, LanguageTag, MessageType, NamedValue, Reference, References, Scope, Status, Urgency,
    UtcOffset,
};
use store::warnings::WarningFields;

use super::{WarningArea, WarningsConfig, hazard_label};
use crate::AppError;

/// The CAP `eventCode` name under which Gridline writes its hazard codes.
pub const HAZARD_CODE_NAME: &str = "urn:gridline:hazard";

fn internal(error: cap::CapError) -> AppError {
    AppError::Internal(format!("building CAP: {error}"))
}

/// When a millisecond time is sent, in Beijing time (GB/T 35965 wants `+08:00`).
pub fn cap_time(ms: i64) -> Result<CapDateTime, AppError> {
    let timestamp = jiff::Timestamp::from_millisecond(ms).map_err(|error| AppError::Internal(error.to_string()))?;
    CapDateTime::from_timestamp(timestamp, UtcOffset::BEIJING).map_err(internal)
}

/// The GB/T 35965 identifier of a warning sent at `sent_ms` with sequence digit `sequence`.
pub fn identifier(config: &WarningsConfig, sent_ms: i64, sequence: u8) -> Result<String, AppError> {
    let issuer = IssuerCode::parse(&config.issuer_code)
        .map_err(|error| AppError::Internal(format!("[warnings] issuer_code {:?}: {error}", config.issuer_code)))?;
    Ok(GbtIdentifier::for_sent(issuer, cap_time(sent_ms)?, sequence).map_err(internal)?.to_string())
}

/// What a message replaces: sender, identifier and sent time of the earlier message.
#[derive(Debug, Clone)]
pub struct Replaced {
    /// Sender.
    pub sender: String,
    /// Identifier.
    pub identifier: String,
    /// Sent, Unix ms.
    pub sent_ms: i64,
}

/// Builds the CAP alert of a warning about to be sent: one `info` in Chinese, and one in English when the warning
/// has an English headline.
pub fn build_alert(config: &WarningsConfig, fields: &WarningFields, sent_ms: i64, replaced: Option<&Replaced>) -> Result<Alert, AppError> {
    let status = Status::parse(&fields.cap_status).map_err(internal)?;
    let message_type = MessageType::parse(&fields.msg_type).map_err(internal)?;
    // Exercises and tests are for staff: CAP `Restricted` scope says so to every system that relays them.
    let scope = if status == Status::Actual { Scope::Public } else { Scope::Restricted };
    let mut alert = Alert::new(fields.identifier.clone(), fields.sender.clone(), cap_time(sent_ms)?, status, message_type, scope);
    if scope == Scope::Restricted {
        alert.restriction = Some(format!("{} — staff only / 仅限工作人员", fields.cap_status));
    }
    alert.source = Some("Gridline".into());
    if let Some(replaced) = replaced {
        let reference =
            Reference::new(replaced.sender.clone(), replaced.identifier.clone(), cap_time(replaced.sent_ms)?).map_err(internal)?;
        alert.references = Some(References::new(vec![reference]).map_err(internal)?);
    }
    let level = WarningLevel::parse(&fields.level).map_err(internal)?;
    let severity = Profile::default().severity_mapping.severity(level);
    let urgency = match level {
        WarningLevel::Red | WarningLevel::Orange => Urgency::Immediate,
        WarningLevel::Yellow => Urgency::Expected,
        WarningLevel::Blue => Urgency::Future,
    };
    let category = Category::parse(&fields.category).map_err(internal)?;
    let area = WarningArea::from_json("area", &crate::util::parse_json_value(&fields.area)?)?;
    let mut languages = vec![(
        "zh-CN",
        hazard_label(domain::Locale::ZhCn, &fields.event),
        config.sender_name_zh.clone(),
        fields.headline_zh.clone(),
        fields.description_zh.clone(),
        fields.instruction_zh.clone(),
    )];
    if let Some(headline_en) = &fields.headline_en {
        languages.push((
            "en-US",
            hazard_label(domain::Locale::En, &fields.event),
            config.sender_name_en.clone(),
            headline_en.clone(),
            fields.description_en.clone().unwrap_or_else(|| fields.description_zh.clone()),
            fields.instruction_en.clone().unwrap_or_else(|| fields.instruction_zh.clone()),
        ));
    }
    for (language, event, sender_name, headline, description, instruction) in languages {
        let mut info = Info::new(category, event, urgency, severity, Certainty::Likely);
        info.language = Some(LanguageTag::parse(language).map_err(internal)?);
        info.event_codes.push(NamedValue::new(HAZARD_CODE_NAME, fields.event.clone()));
        info.effective = Some(cap_time(fields.effective_at.max(sent_ms))?);
        info.expires = Some(cap_time(fields.expires_at)?);
        info.sender_name = Some(sender_name);
        info.headline = Some(headline);
        info.description = Some(description);
        info.instruction = Some(instruction);
        info.parameters.push(level.to_parameter());
        info.areas.push(area.to_cap(&fields.area_desc).map_err(internal)?);
        alert.infos.push(info);
    }
    Ok(alert)
}

/// Emits an alert and checks the result against CAP 1.2 and GB/T 35965: what Gridline sends must conform.
pub fn emit_checked(alert: &Alert) -> Result<String, AppError> {
    let xml = cap::emit_alert(alert);
    let parsed = cap::parse_alert(xml.as_bytes());
    let mut errors: Vec<String> = parsed.errors().map(|f| f.message_en()).collect();
    if let Some(alert) = &parsed.alert {
        errors.extend(
            cap::gbt35965::check(alert, &Profile::default(), &parsed.lines).iter().filter(|f| f.is_error()).map(|f| f.message_en()),
        );
    }
    if errors.is_empty() {
        Ok(xml)
    } else {
        Err(AppError::Internal(format!("the CAP Gridline built does not conform: {}", errors.join("; "))))
    }
}
