//! Warnings from outside: CAP documents posted to the API or found in a polled feed. A document that does not
//! conform is rejected with every finding (element, line, rule, in the caller's language); a document already
//! received (same sender, identifier and sent time) is answered with the stored warning and changes nothing.

use cap::gbt35965::{Profile, warning_level};
use cap::{Alert, MessageType};
use domain::policy::{Action, Decision};
use domain::registry::JurisdictionPath;
use domain::{Invalid, InvalidReason};
use spatial::Geometry;
use store::registry::Versioned;
use store::warnings::{self as repo, WarningFields};

use super::cap_io::HAZARD_CODE_NAME;
use super::{WarningArea, WarningView, resource, view};
use crate::util::{Outcome, decide};
use crate::{App, AppError, Context};

/// The largest CAP document accepted.
pub const MAX_CAP_BYTES: usize = 1024 * 1024;

/// The outcome of an ingest.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// Whether this document was new (false: it had been received before, nothing changed).
    pub created: bool,
    /// The warning.
    pub warning: WarningView,
}

fn findings_invalid(findings: &[cap::Finding]) -> Invalid {
    let errors: Vec<&cap::Finding> = findings.iter().filter(|f| f.is_error()).collect();
    let (first_path, first_line) = errors.first().map(|f| (f.path.clone(), f.line)).unwrap_or_default();
    let describe = |zh: bool| {
        errors
            .iter()
            .take(20)
            .map(|f| {
                let line = f.line.map(|l| if zh { format!("第 {l} 行 ") } else { format!("line {l}: ") }).unwrap_or_default();
                format!("{line}{}", if zh { f.message_zh() } else { f.message_en() })
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let field = match first_line {
        Some(line) => format!("cap{first_path} (line {line})"),
        None => format!("cap{first_path}"),
    };
    Invalid::new(
        field,
        InvalidReason::Explained {
            rule: errors.first().map(|f| f.rule.code().to_string()).unwrap_or_default(),
            en: describe(false),
            zh: describe(true),
        },
    )
}

/// Reads a CAP document (XML, or the JSON form of `cap::json`) and checks it.
pub fn parse_document(bytes: &[u8]) -> Result<Alert, Invalid> {
    if bytes.len() > MAX_CAP_BYTES {
        return Err(Invalid::new("cap", InvalidReason::TooLong { max: MAX_CAP_BYTES }));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let parsed =
        if first == Some(b'{') { cap::json::alert_from_json_str(&String::from_utf8_lossy(bytes)) } else { cap::parse_alert(bytes) };
    if !parsed.is_conforming() {
        return Err(findings_invalid(&parsed.findings));
    }
    parsed.alert.ok_or_else(|| Invalid::new("cap", InvalidReason::Required))
}

impl App {
    /// Ingests a CAP document from `source` (`api`, `feed:<name>`). Returns the stored warning and whether it is
    /// new. `Actual` alerts and updates are relayed to the people inside their area when `relay_ingested` is on.
    pub async fn ingest_cap(&self, ctx: &Context, bytes: &[u8], source: &str) -> Result<Ingested, AppError> {
        let alert = parse_document(bytes)?;
        if !matches!(alert.message_type, MessageType::Alert | MessageType::Update | MessageType::Cancel) {
            return Err(
                Invalid::new("cap/alert/msgType", InvalidReason::UnknownValue { allowed: vec!["Alert", "Update", "Cancel"] }).into()
            );
        }
        let sent_ms = alert.sent.timestamp().as_millisecond();
        if let Some(existing) = {
            let mut reader = self.store().reader().await?;
            repo::find_sent(&mut reader.conn(), &alert.sender, &alert.identifier, sent_ms).await?
        } {
            if !decide(ctx, Action::Read, &resource(&existing.path, &existing.fields)).is_allowed() {
                return Err(AppError::Duplicate { field: "identifier".into() });
            }
            return Ok(Ingested { created: false, warning: view(ctx.locale, &existing) });
        }
        let (fields, path) = self.fields_from_alert(&alert, bytes, source).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource(&path, &fields)) {
            return Err(self.refuse(ctx, "warning.ingest", "warning", Some(alert.identifier.clone()), reason).await);
        }
        // The messages this one updates or cancels, if we have them.
        let mut replaced_ids = Vec::new();
        if let Some(references) = &alert.references {
            let mut reader = self.store().reader().await?;
            for reference in references.as_slice() {
                let sent = reference.sent().timestamp().as_millisecond();
                if let Some(row) = repo::find_sent(&mut reader.conn(), reference.sender(), reference.identifier(), sent).await? {
                    replaced_ids.push(row.id);
                }
            }
        }
        let mut fields = fields;
        fields.replaces_id = replaced_ids.first().copied();
        let (app, ctx2) = (self.clone(), ctx.clone());
        let message_type = alert.message_type;
        let row = self
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.now_ms();
                    let row = repo::insert_warning(c, &fields, &path, now).await?;
                    app.warning_event(c, &ctx2, "warning.received", &row).await?;
                    store::audit::append(c, &app.audit(&ctx2, "warning.ingest", "warning", Some(row.id.to_string()))).await?;
                    for replaced in replaced_ids {
                        let Some(current) = repo::get_warning(c, replaced).await? else { continue };
                        if current.fields.state != "issued" {
                            continue;
                        }
                        let mut old = current.fields.clone();
                        old.state = if message_type == MessageType::Cancel { "cancelled".into() } else { "updated".into() };
                        if let Versioned::Done(_) = repo::update_warning(c, current.id, current.version, &old, &current.path, now).await? {
                            repo::cancel_pending(c, current.id).await?;
                            if message_type == MessageType::Cancel {
                                store::tasks::cancel_open(c, "warning", current.id, now).await?;
                            }
                            if let Some(moved) = repo::get_warning(c, current.id).await? {
                                app.warning_event(
                                    c,
                                    &ctx2,
                                    if message_type == MessageType::Cancel { "warning.cancelled" } else { "warning.updated" },
                                    &moved,
                                )
                                .await?;
                            }
                        }
                    }
                    Ok(Outcome::Done(row))
                })
            })
            .await;
        let row = match row {
            Ok(row) => row,
            // Two copies of the same document arriving at once: the second finds the first.
            Err(AppError::Duplicate { .. }) => {
                let mut reader = self.store().reader().await?;
                let existing = repo::find_sent(&mut reader.conn(), &alert.sender, &alert.identifier, sent_ms)
                    .await?
                    .ok_or_else(|| AppError::Internal("duplicate warning vanished".into()))?;
                return Ok(Ingested { created: false, warning: view(ctx.locale, &existing) });
            }
            Err(error) => return Err(error),
        };
        if self.config().warnings.relay_ingested || row.fields.msg_type == "Cancel" {
            self.enqueue_recipients(&row, None).await?;
        } else {
            let id = row.id;
            let now = self.now_ms();
            self.store().write(move |c| Box::pin(async move { repo::mark_enqueued(c, id, 0, now).await })).await?;
        }
        let row = self.load_warning(row.id).await?;
        Ok(Ingested { created: true, warning: view(ctx.locale, &row) })
    }

    /// Maps a CAP alert onto a warning, and finds the narrowest jurisdiction containing its area.
    async fn fields_from_alert(&self, alert: &Alert, bytes: &[u8], source: &str) -> Result<(WarningFields, JurisdictionPath), AppError> {
        let zh = alert.infos.iter().find(|i| i.language.as_ref().is_some_and(|l| l.is_chinese())).or(alert.infos.first());
        let en = alert.infos.iter().find(|i| i.language_or_default().starts_with("en"));
        let Some(main) = zh else {
            return Err(Invalid::new("cap/alert/info", InvalidReason::Required).into());
        };
        // Level: the GB/T 35965 colour parameter, else the severity under the default mapping.
        let level = match warning_level(main) {
            Ok(Some(level)) => level,
            Ok(None) | Err(_) => Profile::default().severity_mapping.level(main.severity).unwrap_or(cap::gbt35965::WarningLevel::Blue),
        };
        let hazard = main
            .event_codes
            .iter()
            .find(|code| code.name == HAZARD_CODE_NAME)
            .map(|code| code.value.clone())
            .unwrap_or_else(|| hazard_code(&main.event));
        // Geocodes that name a jurisdiction we know (by its code) add its boundary to the area.
        let mut extra = Vec::new();
        let mut areas = Vec::new();
        {
            let mut reader = self.store().reader().await?;
            for area in &main.areas {
                areas.push(area.clone());
                for geocode in &area.geocodes {
                    if let Some(row) = store::registry::get_jurisdiction_by_code(&mut reader.conn(), &geocode.value).await?
                        && let Some(full) = store::registry::get_jurisdiction(&mut reader.conn(), row.id, true).await?
                        && let Some(boundary) = full.boundary
                        && let Ok(geometry) = Geometry::from_geojson(&boundary)
                    {
                        extra.push(geometry);
                    }
                }
            }
        }
        let area = WarningArea::from_cap("cap/alert/info/area", &areas, extra)?;
        let path = self.narrowest_jurisdiction(&area).await?;
        let sent_ms = alert.sent.timestamp().as_millisecond();
        let text_of = |value: &Option<String>| value.clone().unwrap_or_default();
        let effective = main.effective.or(main.onset).map(|t| t.timestamp().as_millisecond()).unwrap_or(sent_ms);
        let expires = main.expires.map(|t| t.timestamp().as_millisecond()).unwrap_or(effective.max(sent_ms) + 24 * 3_600_000);
        let fields = WarningFields {
            identifier: alert.identifier.clone(),
            sender: alert.sender.clone(),
            source: source.to_string(),
            state: "issued".into(),
            cap_status: alert.status.as_str().into(),
            msg_type: alert.message_type.as_str().into(),
            level: level.as_str().to_ascii_lowercase(),
            category: main.categories.first().map(|c| c.as_str()).unwrap_or("Other").into(),
            event: hazard,
            headline_zh: main.headline.clone().unwrap_or_else(|| main.event.clone()),
            headline_en: en.and_then(|i| i.headline.clone()),
            description_zh: text_of(&main.description),
            description_en: en.and_then(|i| i.description.clone()),
            instruction_zh: text_of(&main.instruction),
            instruction_en: en.and_then(|i| i.instruction.clone()),
            area_desc: main.areas.iter().map(|a| a.description.clone()).collect::<Vec<_>>().join("; "),
            area: area.to_json().to_string(),
            effective_at: effective,
            expires_at: expires,
            sent_at: Some(sent_ms),
            references_text: alert.references.as_ref().map(|r| r.to_string()),
            replaces_id: None,
            cap_xml: Some(String::from_utf8_lossy(bytes).into_owned()),
            recipients: 0,
            created_by: None,
            approved_by: None,
            issued_by: None,
        };
        Ok((fields, path))
    }

    /// The deepest jurisdiction whose boundary holds the whole area (its bounding box's corners and centre), or the
    /// root of the tree.
    pub(crate) async fn narrowest_jurisdiction(&self, area: &WarningArea) -> Result<JurisdictionPath, AppError> {
        let [west, south, east, north] = area.bbox();
        let probes = [[west, south], [west, north], [east, south], [east, north], [(west + east) / 2.0, (south + north) / 2.0]];
        match self.jurisdiction_holding(&probes).await? {
            Some((_, path)) => Ok(path),
            None => Err(AppError::Invalid(Invalid::new(
                "cap/alert/info/area",
                InvalidReason::Explained {
                    rule: "no_jurisdiction".into(),
                    en: "no jurisdiction is registered yet; import boundaries first".into(),
                    zh: "尚未登记任何辖区，请先导入边界".into(),
                },
            ))),
        }
    }
}

/// A hazard code for a CAP event text (Chinese or English), `other` when unknown.
fn hazard_code(event: &str) -> String {
    let event = event.trim();
    let table: &[(&str, &str)] = &[
        ("台风", "typhoon"),
        ("typhoon", "typhoon"),
        ("暴雨", "rainstorm"),
        ("rain", "rainstorm"),
        ("暴雪", "snowstorm"),
        ("snow", "snowstorm"),
        ("寒潮", "cold_wave"),
        ("大风", "gale"),
        ("wind", "gale"),
        ("高温", "heat_wave"),
        ("heat", "heat_wave"),
        ("雷电", "lightning"),
        ("thunder", "lightning"),
        ("干旱", "drought"),
        ("地震", "earthquake"),
        ("earthquake", "earthquake"),
        ("地质", "geological"),
        ("滑坡", "landslide"),
        ("洪", "flood_drought"),
        ("flood", "flood_drought"),
        ("内涝", "urban_waterlogging"),
        ("风暴潮", "storm_surge"),
        ("火", "fire"),
        ("fire", "fire"),
        ("tornado", "gale"),
    ];
    let lower = event.to_lowercase();
    table.iter().find(|(needle, _)| lower.contains(needle)).map(|(_, code)| (*code).to_string()).unwrap_or_else(|| "other".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hazards_are_read_from_event_texts() {
        assert_eq!(super::hazard_code("暴雨蓝色预警"), "rainstorm");
        assert_eq!(super::hazard_code("Severe Thunderstorm Warning"), "lightning");
        assert_eq!(super::hazard_code("Tsunami"), "other");
    }

    #[test]
    fn nonconforming_documents_name_line_and_rule() {
        let xml = br#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>X1</identifier><sender>a@b</sender>
  <sent>2026-07-01T08:00:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
</alert>"#;
        let error = super::parse_document(xml).unwrap_err();
        assert!(error.field.contains("line 3"), "{}", error.field);
        let en = error.message(domain::Locale::En);
        let zh = error.message(domain::Locale::ZhCn);
        assert!(en.contains("line 3") && zh.contains("第 3 行"), "{en} / {zh}");
        assert!(super::parse_document(&vec![b' '; super::MAX_CAP_BYTES + 1]).is_err());
    }
}
