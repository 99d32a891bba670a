//! Warnings from outside: CAP documents posted to the API or found in a polled feed. A document that does not
//! conform is rejected with every finding (element, line, rule, in the caller's language); a document already
//! received (same sender, identifier and sent time) is answered with the stored warning and changes nothing.

use cap::gbt35965::{Profile, warning_level};
use cap::{Alert, MessageType};
use domain::policy::{Action, Decision, ResourceKind};
use domain::registry::JurisdictionPath;
use domain::{Invalid, InvalidReason};
use spatial::Geometry;
use store::registry::Versioned;
use store::warnings::{self as repo, WarningFields, WarningRow};

use super::cap_io::HAZARD_CODE_NAME;
use super::{WarningArea, WarningView, resource, view};
use crate::util::{Outcome, decide};
use crate::warnings::Warnings;
use crate::{AppError, Context};

/// The largest CAP document accepted.
pub const MAX_CAP_BYTES: usize = 1024 * 1024;

/// The outcome of an ingest.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Ingested {
    /// Whether this document was new (false: it had been received before, nothing changed).
    pub created: bool,
    /// The warning.
    pub warning: WarningView,
    /// The CAP version the document was converted from (`1.1`, `1.0`) when it was not CAP 1.2.
    pub converted_from: Option<String>,
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

/// The identifier of the draft a posted document becomes: `draft-` and the first 16 hex digits of the SHA-256 of
/// the document's sender, identifier and sent time, so that posting the same document again finds the same draft.
fn draft_identifier(alert: &Alert) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{}\n{}\n{}", alert.sender, alert.identifier, alert.sent).as_bytes());
    format!("draft-{}", digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>())
}

/// Only alerts, updates and cancellations are taken; acknowledgements and errors are for other systems.
fn check_message_type(alert: &Alert) -> Result<(), Invalid> {
    if matches!(alert.message_type, MessageType::Alert | MessageType::Update | MessageType::Cancel) {
        Ok(())
    } else {
        Err(Invalid::new("cap/alert/msgType", InvalidReason::UnknownValue { allowed: vec!["Alert", "Update", "Cancel"] }))
    }
}

/// A CAP document as Gridline received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The alert.
    pub alert: Alert,
    /// The CAP version it was converted from (`"1.1"`, `"1.0"`), if it was not CAP 1.2.
    pub converted_from: Option<&'static str>,
    /// The document to keep: as received, or the CAP 1.2 it was converted to.
    pub document: Vec<u8>,
}

/// Reads a CAP document (XML, or the JSON form of `cap::json`) and checks it. A CAP 1.0 or 1.1 document — the
/// world's largest feeds still publish 1.1 — is converted to CAP 1.2 when its only fault is its version and the
/// conversion conforms; the result says so.
pub fn parse_document(bytes: &[u8]) -> Result<Received, Invalid> {
    if bytes.len() > MAX_CAP_BYTES {
        return Err(Invalid::new("cap", InvalidReason::TooLong { max: MAX_CAP_BYTES }));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let parsed =
        if first == Some(b'{') { cap::json::alert_from_json_str(&String::from_utf8_lossy(bytes)) } else { cap::parse_alert(bytes) };
    if parsed.is_conforming() {
        let alert = parsed.alert.ok_or_else(|| Invalid::new("cap", InvalidReason::Required))?;
        return Ok(Received { alert, converted_from: None, document: bytes.to_vec() });
    }
    let only_its_version = parsed.alert.is_some() && parsed.errors().all(|finding| finding.rule == cap::Rule::CapVersion);
    if !only_its_version {
        return Err(findings_invalid(&parsed.findings));
    }
    let text = String::from_utf8_lossy(bytes);
    let version = if text.contains(cap::CAP_1_0_NAMESPACE) { "1.0" } else { "1.1" };
    let converted = cap::emit_alert(parsed.alert.as_ref().ok_or_else(|| Invalid::new("cap", InvalidReason::Required))?);
    let again = cap::parse_alert(converted.as_bytes());
    if !again.is_conforming() {
        return Err(findings_invalid(&again.findings));
    }
    let alert = again.alert.ok_or_else(|| Invalid::new("cap", InvalidReason::Required))?;
    Ok(Received { alert, converted_from: Some(version), document: converted.into_bytes() })
}

impl Warnings {
    /// Receives a CAP document posted by one of Gridline's own accounts (`POST /api/v1/warnings`). Whoever posts
    /// it, it is a draft like any other: an `Alert` becomes a draft that a second person approves before it is
    /// issued; an `Update` becomes an update draft of the warning it references; a `Cancel` cancels the warnings it
    /// references at once (a cancellation needs no second person). Authority over an `Update` or a `Cancel` is
    /// authority over the warning it references, wherever the message's own area lies. A document received before
    /// (same sender, identifier and sent time) is answered with what it made, and changes nothing.
    pub async fn ingest_cap(&self, ctx: &Context, bytes: &[u8]) -> Result<Ingested, AppError> {
        let Received { alert, converted_from, document } = parse_document(bytes)?;
        let mut ingested = self.ingest_alert(ctx, &alert, &document).await?;
        ingested.converted_from = converted_from.map(str::to_string);
        Ok(ingested)
    }

    async fn ingest_alert(&self, ctx: &Context, alert: &Alert, bytes: &[u8]) -> Result<Ingested, AppError> {
        let alert = alert.clone();
        check_message_type(&alert)?;
        // A posted document becomes Gridline's own draft: it is stored under Gridline's sender and an identifier of
        // its own (derived from the document's, so that posting it again finds it), never under the identity the
        // poster wrote — otherwise an account could take a trusted feed's next alert, update or cancel before the
        // feed brings it, and the real one would be dropped as already received.
        let identifier = draft_identifier(&alert);
        let sender = self.kernel.config().warnings.sender.clone();
        let sent_ms = alert.sent.timestamp().as_millisecond();
        let existing = {
            let mut reader = self.kernel.store().reader().await?;
            repo::find_sent(&mut reader.conn(), &sender, &identifier, sent_ms).await?
        };
        if let Some(existing) = existing {
            if !decide(ctx, Action::Read, &resource(&existing.path, &existing.fields)).is_allowed() {
                return Err(AppError::Duplicate { field: "identifier".into() });
            }
            return Ok(Ingested { created: false, warning: view(ctx.locale, &existing), converted_from: None });
        }
        let draft = |mut fields: WarningFields| {
            fields.state = "draft".into();
            fields.created_by = ctx.account_id();
            fields.sender = sender.clone();
            fields.identifier = identifier.clone();
            fields
        };
        match alert.message_type {
            MessageType::Cancel => self.cancel_from_cap(ctx, &alert).await,
            MessageType::Update => {
                let referenced = self.referenced_warnings(ctx, &alert, "warning.ingest").await?;
                let original = &referenced[0];
                if original.fields.state != "issued" {
                    return Err(AppError::WrongState { kind: ResourceKind::Warning, state: original.fields.state.clone(), step: "update" });
                }
                let (fields, path) = self.fields_from_alert(&alert, bytes, "api").await?;
                let mut fields = draft(fields);
                fields.replaces_id = Some(original.id);
                fields.cap_status = original.fields.cap_status.clone();
                self.insert_received_draft(ctx, fields, path, "warning.update_drafted").await
            }
            _ => {
                let (fields, path) = self.fields_from_alert(&alert, bytes, "api").await?;
                self.insert_received_draft(ctx, draft(fields), path, "warning.drafted").await
            }
        }
    }

    /// The warning a document already made, if it was received before (by sender, identifier and sent time). A
    /// caller who may not read it learns only that the identifier is taken.
    async fn already_received(&self, ctx: &Context, alert: &Alert) -> Result<Option<Ingested>, AppError> {
        let sent_ms = alert.sent.timestamp().as_millisecond();
        let existing = {
            let mut reader = self.kernel.store().reader().await?;
            repo::find_sent(&mut reader.conn(), &alert.sender, &alert.identifier, sent_ms).await?
        };
        let Some(existing) = existing else { return Ok(None) };
        if !decide(ctx, Action::Read, &resource(&existing.path, &existing.fields)).is_allowed() {
            return Err(AppError::Duplicate { field: "identifier".into() });
        }
        Ok(Some(Ingested { created: false, warning: view(ctx.locale, &existing), converted_from: None }))
    }

    /// The warnings an `Update` or `Cancel` references, each one checked: it must be known here, in force, and the
    /// caller must have authority over it (the policy's `Update` on the referenced warning, audited when refused).
    async fn referenced_warnings(&self, ctx: &Context, alert: &Alert, action: &str) -> Result<Vec<WarningRow>, AppError> {
        let Some(references) = &alert.references else {
            return Err(Invalid::new("cap/alert/references", InvalidReason::Required).into());
        };
        let mut rows = Vec::new();
        {
            let mut reader = self.kernel.store().reader().await?;
            for (index, reference) in references.as_slice().iter().enumerate() {
                let sent = reference.sent().timestamp().as_millisecond();
                let row = repo::find_sent(&mut reader.conn(), reference.sender(), reference.identifier(), sent).await?;
                let field = format!("cap/alert/references[{index}]");
                let row = row.ok_or_else(|| {
                    Invalid::new(
                        &field,
                        InvalidReason::Explained {
                            rule: "unknown_reference".into(),
                            en: format!("no warning sent by {} as {} is known here", reference.sender(), reference.identifier()),
                            zh: format!("本系统没有 {} 以标识 {} 发出的预警", reference.sender(), reference.identifier()),
                        },
                    )
                })?;
                rows.push(row);
            }
        }
        for row in &rows {
            if let Decision::Deny(reason) = decide(ctx, Action::Update, &resource(&row.path, &row.fields)) {
                return Err(self.kernel.refuse(ctx, action, "warning", Some(row.id.to_string()), reason).await);
            }
        }
        Ok(rows)
    }

    /// A CAP `Cancel` from one of our accounts: every referenced warning the caller has authority over is cancelled
    /// at once. A repeat of a cancellation already made answers with it.
    async fn cancel_from_cap(&self, ctx: &Context, alert: &Alert) -> Result<Ingested, AppError> {
        let referenced = self.referenced_warnings(ctx, alert, "warning.cancel").await?;
        let info = alert.infos.iter().find(|i| i.language.as_ref().is_some_and(|l| l.is_chinese())).or(alert.infos.first());
        let info_en = alert.infos.iter().find(|i| i.language_or_default().starts_with("en"));
        let note_zh = info.and_then(|i| i.description.clone().or_else(|| i.headline.clone())).unwrap_or_else(|| "预警已解除。".to_string());
        let note_en = info_en.and_then(|i| i.description.clone().or_else(|| i.headline.clone()));
        let mut first = None;
        let mut created = false;
        for row in referenced {
            let view = match row.fields.state.as_str() {
                "issued" => {
                    created = true;
                    self.cancel_warning(ctx, row.id, &note_zh, note_en.as_deref()).await?
                }
                "cancelled" => {
                    let mut reader = self.kernel.store().reader().await?;
                    match repo::cancellation_of(&mut reader.conn(), row.id).await? {
                        Some(cancel) => view(ctx.locale, &cancel),
                        None => view(ctx.locale, &row),
                    }
                }
                other => {
                    return Err(AppError::WrongState { kind: ResourceKind::Warning, state: other.to_string(), step: "cancel" });
                }
            };
            first.get_or_insert(view);
        }
        let warning = first.ok_or_else(|| Invalid::new("cap/alert/references", InvalidReason::Required))?;
        Ok(Ingested { created, warning, converted_from: None })
    }

    /// Stores a received document as a draft (after the policy allowed drafting in its area).
    async fn insert_received_draft(
        &self,
        ctx: &Context,
        mut fields: WarningFields,
        path: JurisdictionPath,
        event: &'static str,
    ) -> Result<Ingested, AppError> {
        // The same content rules as a draft written on the console: what it is, what is happening, what to do, and
        // an expiry within seven days of now.
        let now = self.kernel.now_ms();
        if fields.expires_at <= now || fields.expires_at > fields.effective_at.max(now) + 7 * 86_400_000 {
            return Err(Invalid::new(
                "cap/alert/info/expires",
                InvalidReason::OutOfRange { min: crate::time::rfc3339(now), max: "+7d".into() },
            )
            .into());
        }
        fields.headline_zh = super::text("cap/alert/info/headline", &fields.headline_zh, 160)?;
        fields.description_zh = super::text("cap/alert/info/description", &fields.description_zh, 4000)?;
        fields.instruction_zh = super::text("cap/alert/info/instruction", &fields.instruction_zh, 2000)?;
        if fields.headline_en.is_some() && (fields.description_en.is_none() || fields.instruction_en.is_none()) {
            let field = if fields.description_en.is_none() { "cap/alert/info[en]/description" } else { "cap/alert/info[en]/instruction" };
            return Err(Invalid::new(field, InvalidReason::Required).into());
        }
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource(&path, &fields)) {
            return Err(self.kernel.refuse(ctx, "warning.ingest", "warning", Some(fields.identifier.clone()), reason).await);
        }
        let (sender, identifier, sent_ms) = (fields.sender.clone(), fields.identifier.clone(), fields.sent_at.unwrap_or_default());
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_warning(c, &fields, &path, app.kernel.now_ms()).await?;
                    app.warning_event(c, &ctx2, event, &row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "warning.ingest", "warning", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await;
        match row {
            Ok(row) => Ok(Ingested { created: true, warning: view(ctx.locale, &row), converted_from: None }),
            // Two copies of the same document arriving at once: the second finds the first.
            Err(AppError::Duplicate { .. }) => {
                let mut reader = self.kernel.store().reader().await?;
                let existing = repo::find_sent(&mut reader.conn(), &sender, &identifier, sent_ms)
                    .await?
                    .ok_or_else(|| AppError::Internal("duplicate warning vanished".into()))?;
                Ok(Ingested { created: false, warning: view(ctx.locale, &existing), converted_from: None })
            }
            Err(error) => Err(error),
        }
    }

    /// Relays a CAP document from a trusted, registered source (a feed the operator configured in
    /// `[[warnings.feeds]]`, under `source` = `feed:<name>`): it is stored as issued and, when `relay_ingested` is
    /// on, delivered to the people inside its area. An `Update` or `Cancel` replaces only warnings that came from
    /// the same source and sender: a feed can never cancel a warning Gridline issued or another source relayed.
    pub async fn relay_trusted_cap(&self, ctx: &Context, bytes: &[u8], source: &str) -> Result<Ingested, AppError> {
        let Received { alert, converted_from, document } = parse_document(bytes)?;
        let mut ingested = self.relay_alert(ctx, &alert, &document, source).await?;
        ingested.converted_from = converted_from.map(str::to_string);
        Ok(ingested)
    }

    async fn relay_alert(&self, ctx: &Context, alert: &Alert, bytes: &[u8], source: &str) -> Result<Ingested, AppError> {
        let alert = alert.clone();
        check_message_type(&alert)?;
        let sent_ms = alert.sent.timestamp().as_millisecond();
        if let Some(existing) = self.already_received(ctx, &alert).await? {
            return Ok(existing);
        }
        let (fields, path) = self.fields_from_alert(&alert, bytes, source).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &resource(&path, &fields)) {
            return Err(self.kernel.refuse(ctx, "warning.ingest", "warning", Some(alert.identifier.clone()), reason).await);
        }
        // The messages this one updates or cancels, if we have them and they came from this same source.
        let mut replaced_ids = Vec::new();
        if let Some(references) = &alert.references {
            let mut reader = self.kernel.store().reader().await?;
            for reference in references.as_slice() {
                let sent = reference.sent().timestamp().as_millisecond();
                if let Some(row) = repo::find_sent(&mut reader.conn(), reference.sender(), reference.identifier(), sent).await?
                    && row.fields.source == source
                    && row.fields.sender == alert.sender
                {
                    replaced_ids.push(row.id);
                }
            }
        }
        let mut fields = fields;
        fields.replaces_id = replaced_ids.first().copied();
        let (app, ctx2) = (self.clone(), ctx.clone());
        let message_type = alert.message_type;
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let row = repo::insert_warning(c, &fields, &path, now).await?;
                    app.warning_event(c, &ctx2, "warning.received", &row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "warning.ingest", "warning", Some(row.id.to_string()))).await?;
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
                let mut reader = self.kernel.store().reader().await?;
                let existing = repo::find_sent(&mut reader.conn(), &alert.sender, &alert.identifier, sent_ms)
                    .await?
                    .ok_or_else(|| AppError::Internal("duplicate warning vanished".into()))?;
                return Ok(Ingested { created: false, warning: view(ctx.locale, &existing), converted_from: None });
            }
            Err(error) => return Err(error),
        };
        if self.kernel.config().warnings.relay_ingested || row.fields.msg_type == "Cancel" {
            self.enqueue_recipients(&row, None).await?;
        } else {
            let id = row.id;
            let now = self.kernel.now_ms();
            self.kernel.store().write(move |c| Box::pin(async move { repo::mark_enqueued(c, id, 0, now).await })).await?;
        }
        let row = self.load_warning(row.id).await?;
        Ok(Ingested { created: true, warning: view(ctx.locale, &row), converted_from: None })
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
        // Geocodes add their boundaries to the area: a jurisdiction's code (Chinese administrative codes), or a
        // boundary table the operator imported as the layer `geocodes-<scheme>` (SAME/FIPS6, UGC, EMMA_ID …).
        let mut extra = Vec::new();
        let mut areas = Vec::new();
        for (index, area) in main.areas.iter().enumerate() {
            areas.push(area.clone());
            let mut unknown = Vec::new();
            let mut resolved = 0;
            for geocode in &area.geocodes {
                match self.geocode_boundary(&geocode.name, &geocode.value).await? {
                    Some(geometry) => {
                        extra.push(geometry);
                        resolved += 1;
                    }
                    None => unknown.push(format!("{} {}", geocode.name, geocode.value)),
                }
            }
            // An area given only by codes must have at least one we know, or nobody can be located in it.
            if area.polygons.is_empty() && area.circles.is_empty() && resolved == 0 {
                let field = format!("cap/alert/info/area[{index}]/geocode");
                if unknown.is_empty() {
                    return Err(Invalid::new(
                        field,
                        InvalidReason::Explained {
                            rule: "area_without_place".into(),
                            en: "the area has neither a polygon, a circle nor a geocode".into(),
                            zh: "该区域既无多边形、圆，也无地理编码".into(),
                        },
                    )
                    .into());
                }
                let listed = unknown.join(", ");
                return Err(Invalid::new(field, InvalidReason::Explained {
                    rule: "unknown_geocode".into(),
                    en: format!(
                        "the area is given only by geocodes, and none is a known boundary: {listed} (import the boundaries as the layer geocodes-<scheme>, e.g. geocodes-same, or as jurisdictions with these codes)"
                    ),
                    zh: format!("该区域仅以地理编码给出，且没有一个是已知边界：{listed}（请将边界导入为图层 geocodes-<编码体系>，如 geocodes-same，或导入为以这些代码为编码的辖区）"),
                })
                .into());
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

    /// The boundary of a CAP geocode: a jurisdiction with that code, else the feature with that id in the boundary
    /// table `geocodes-<scheme>` (the scheme in lower case; FIPS6 codes are SAME codes). `None` when unknown.
    async fn geocode_boundary(&self, scheme: &str, code: &str) -> Result<Option<Geometry>, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        if let Some(row) = store::registry::get_jurisdiction_by_code(&mut reader.conn(), code).await?
            && let Some(full) = store::registry::get_jurisdiction(&mut reader.conn(), row.id, true).await?
            && let Some(boundary) = full.boundary
            && let Ok(geometry) = Geometry::from_geojson(&boundary)
        {
            return Ok(Some(geometry));
        }
        let scheme = scheme.trim().to_ascii_lowercase();
        let scheme = match scheme.as_str() {
            "fips6" => "same",
            other => other,
        };
        if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Ok(None);
        }
        let Some(layer) = store::layers::get_layer(&mut reader.conn(), &format!("geocodes-{scheme}")).await? else { return Ok(None) };
        let Some(feature) = store::layers::feature_by_external_id(&mut reader.conn(), layer.id, code.trim()).await? else {
            return Ok(None);
        };
        Ok(Geometry::from_geojson(&feature.geometry).ok())
    }

    /// The deepest jurisdiction whose boundary holds the whole area (its bounding box's corners and centre), or the
    /// root of the tree.
    pub(crate) async fn narrowest_jurisdiction(&self, area: &WarningArea) -> Result<JurisdictionPath, AppError> {
        let [west, south, east, north] = area.bbox();
        let probes = [[west, south], [west, north], [east, south], [east, north], [(west + east) / 2.0, (south + north) / 2.0]];
        match self.registry.jurisdiction_holding(&probes).await? {
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
