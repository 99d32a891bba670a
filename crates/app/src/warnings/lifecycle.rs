//! Issuing, updating and cancelling, and enqueuing the deliveries of what was sent.

use domain::policy::{Action, Decision, ResourceKind};
use store::registry::Versioned;
use store::warnings::{self as repo, WarningRow};

use super::cap_io::{self, Replaced};
use super::{WarningArea, WarningInput, WarningView, resource, view};
use crate::util::{Outcome, decide};
use crate::warnings::Warnings;
use crate::{AppError, Context};

/// Recipients enqueued per write: big enough to be fast, small enough that other writes are not held up long.
const ENQUEUE_CHUNK: usize = 10_000;

/// How many deliveries an enqueue added, by kind of recipient.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Enqueued {
    /// Households targeted.
    pub households: i64,
    /// Members targeted.
    pub members: i64,
    /// Delivery rows added (one per recipient and channel).
    pub deliveries: u64,
}

impl Warnings {
    /// Issues an approved warning (or a draft `Exercise`/`Test`): gives it its GB/T 35965 identifier and CAP
    /// document, moves the warning it replaces on, and enqueues a delivery to everyone inside the area.
    /// `confirm` must be true when the reach is unusually large (see [`App::preview_reach`]).
    pub async fn issue_warning(&self, ctx: &Context, id: i64, version: Option<i64>, confirm: bool) -> Result<WarningView, AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let row = self.load_warning(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &resource(&row.path, &row.fields)) {
            return Err(self.kernel.refuse(ctx, "warning.issue", "warning", Some(id.to_string()), reason).await);
        }
        let actual = row.fields.cap_status == "Actual";
        match row.fields.state.as_str() {
            "approved" => {}
            "draft" if !actual || row.fields.msg_type == "Cancel" => {}
            "draft" => return Err(AppError::SecondPersonRequired),
            other => return Err(AppError::WrongState { kind: ResourceKind::Warning, state: other.to_string(), step: "issue" }),
        }
        self.send(ctx, row, version, confirm).await
    }

    /// Sends a warning row that passed its checks.
    async fn send(&self, ctx: &Context, row: WarningRow, version: i64, confirm: bool) -> Result<WarningView, AppError> {
        let id = row.id;
        let targets = if row.fields.msg_type == "Cancel" {
            super::Targets::default()
        } else {
            let area = WarningArea::from_json("area", &crate::util::parse_json_value(&row.fields.area)?)?;
            self.targets_inside(&area).await?
        };
        let preview = self.preview_of(&row.fields, &targets).await?;
        if preview.confirmation_required && !confirm {
            return Err(AppError::ConfirmationRequired { people: preview.residents, usual: preview.usual });
        }
        let replaced = match row.fields.replaces_id {
            Some(replaced_id) => {
                let replaced = self.load_warning(replaced_id).await?;
                if !matches!(replaced.fields.state.as_str(), "issued") {
                    return Err(AppError::WrongState { kind: ResourceKind::Warning, state: replaced.fields.state, step: "replace" });
                }
                Some(replaced)
            }
            None => None,
        };
        let (app, ctx2) = (self.clone(), ctx.clone());
        let sent = self.kernel.now_ms();
        let sent_row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let mut fields = row.fields.clone();
                    let config = &app.kernel.config().warnings;
                    // What Gridline sends, it sends as itself (a draft received from another system kept that
                    // system's sender until now).
                    fields.sender = config.sender.clone();
                    // The sequence digit keeps identifiers unique when two warnings are sent in the same second.
                    let mut identifier = None;
                    for sequence in 0..=9u8 {
                        let candidate = cap_io::identifier(config, sent, sequence)?;
                        if repo::find_by_identifier(c, &fields.sender, &candidate).await?.is_none() {
                            identifier = Some(candidate);
                            break;
                        }
                    }
                    fields.identifier = identifier.ok_or_else(|| AppError::Internal("ten warnings sent in one second".into()))?;
                    fields.state = "issued".into();
                    fields.sent_at = Some(sent);
                    fields.issued_by = ctx2.account_id();
                    fields.effective_at = fields.effective_at.max(sent);
                    let replaced_ref = replaced.as_ref().and_then(|r| {
                        Some(Replaced {
                            sender: r.fields.sender.clone(),
                            identifier: r.fields.identifier.clone(),
                            sent_ms: r.fields.sent_at?,
                        })
                    });
                    if let Some(r) = &replaced_ref {
                        fields.references_text = Some(format!("{},{},{}", r.sender, r.identifier, cap_io::cap_time(r.sent_ms)?));
                    }
                    let alert = cap_io::build_alert(config, &fields, sent, replaced_ref.as_ref())?;
                    fields.cap_xml = Some(cap_io::emit_checked(&alert)?);
                    match repo::update_warning(c, id, version, &fields, &row.path, sent).await? {
                        Versioned::Done(_) => {}
                        Versioned::Conflict(current) => return Err(AppError::Conflict { current }),
                        Versioned::Missing => return Err(AppError::NotFound { kind: ResourceKind::Warning }),
                    }
                    let sent_row = repo::get_warning(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Warning })?;
                    app.warning_event(c, &ctx2, "warning.issued", &sent_row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "warning.issue", "warning", Some(id.to_string()))).await?;
                    if let Some(replaced) = replaced {
                        // Re-read inside the write: the replaced warning must still be in force.
                        let current = repo::get_warning(c, replaced.id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Warning })?;
                        if current.fields.state != "issued" {
                            return Err(AppError::WrongState { kind: ResourceKind::Warning, state: current.fields.state, step: "replace" });
                        }
                        let mut old = current.fields.clone();
                        let cancelled = sent_row.fields.msg_type == "Cancel";
                        old.state = if cancelled { "cancelled".into() } else { "updated".into() };
                        if let Versioned::Conflict(now) =
                            repo::update_warning(c, current.id, current.version, &old, &current.path, sent).await?
                        {
                            return Err(AppError::Conflict { current: now });
                        }
                        repo::cancel_pending(c, current.id).await?;
                        if cancelled {
                            store::tasks::cancel_open(c, "warning", current.id, sent).await?;
                        }
                        let moved = repo::get_warning(c, current.id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Warning })?;
                        app.warning_event(c, &ctx2, if cancelled { "warning.cancelled" } else { "warning.updated" }, &moved).await?;
                    }
                    Ok(Outcome::Done(sent_row))
                })
            })
            .await?;
        self.enqueue_recipients(&sent_row, Some(targets)).await?;
        let row = self.load_warning(id).await?;
        Ok(view(ctx.locale, &row))
    }

    /// Enqueues one delivery per recipient and channel for a sent warning: households inside the area (only for
    /// `Actual` warnings), members inside it, organizations on its branch of the tree, and — for an update or a
    /// cancellation — everyone the replaced warning reached. Idempotent: running it again adds nothing, so it is
    /// simply re-run for warnings whose enqueuing a stopped process left unfinished.
    pub async fn enqueue_recipients(&self, row: &WarningRow, targets: Option<super::Targets>) -> Result<Enqueued, AppError> {
        let targets = match targets {
            Some(targets) => targets,
            None if row.fields.msg_type == "Cancel" => super::Targets::default(),
            None => {
                let area = WarningArea::from_json("area", &crate::util::parse_json_value(&row.fields.area)?)?;
                self.targets_inside(&area).await?
            }
        };
        let id = row.id;
        let now = self.kernel.now_ms();
        let mut enqueued = Enqueued::default();
        if row.fields.cap_status == "Actual" {
            enqueued.households = targets.households.len() as i64;
            for chunk in targets.households.chunks(ENQUEUE_CHUNK) {
                let chunk = chunk.to_vec();
                enqueued.deliveries +=
                    self.kernel.store().write(move |c| Box::pin(async move { repo::enqueue_households(c, id, &chunk, now).await })).await?;
                self.wake_delivery();
            }
        }
        enqueued.members = targets.members.len() as i64;
        for chunk in targets.members.chunks(ENQUEUE_CHUNK) {
            let chunk = chunk.to_vec();
            enqueued.deliveries +=
                self.kernel.store().write(move |c| Box::pin(async move { repo::enqueue_members(c, id, &chunk, now).await })).await?;
        }
        let path = row.path.clone();
        let replaces = row.fields.replaces_id;
        let recipients = enqueued.households + enqueued.members;
        enqueued.deliveries += self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    let mut added = repo::enqueue_organizations(c, id, &path, now).await?;
                    if let Some(replaced) = replaces {
                        added += repo::enqueue_copies(c, replaced, id, now).await?;
                    }
                    repo::mark_enqueued(c, id, recipients, now).await?;
                    Ok::<_, store::StoreError>(added)
                })
            })
            .await?;
        self.wake_delivery();
        Ok(enqueued)
    }

    /// Finishes the enqueuing that a stopped process left unfinished (run at start).
    pub async fn resume_enqueuing(&self) -> Result<usize, AppError> {
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            repo::issued_not_enqueued(&mut reader.conn()).await?
        };
        for row in &rows {
            self.enqueue_recipients(row, None).await?;
        }
        Ok(rows.len())
    }

    /// Drafts an update of an issued warning (CAP `Update`): new content that, once approved and issued, replaces it.
    pub async fn draft_warning_update(&self, ctx: &Context, id: i64, input: WarningInput) -> Result<WarningView, AppError> {
        let original = self.load_warning(id).await?;
        if original.fields.state != "issued" {
            return Err(AppError::WrongState { kind: ResourceKind::Warning, state: original.fields.state, step: "update" });
        }
        let (mut fields, path) = self.warning_fields(ctx, &input).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &resource(&original.path, &original.fields)) {
            return Err(self.kernel.refuse(ctx, "warning.update", "warning", Some(id.to_string()), reason).await);
        }
        fields.msg_type = "Update".into();
        fields.replaces_id = Some(id);
        fields.cap_status = original.fields.cap_status.clone();
        self.insert_follow_up(ctx, fields, path, "warning.update_drafted").await
    }

    async fn insert_follow_up(
        &self,
        ctx: &Context,
        fields: store::warnings::WarningFields,
        path: domain::registry::JurisdictionPath,
        event: &'static str,
    ) -> Result<WarningView, AppError> {
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let row = repo::insert_warning(c, &fields, &path, app.kernel.now_ms()).await?;
                    app.warning_event(c, &ctx2, event, &row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "warning.create", "warning", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(ctx.locale, &row))
    }

    /// Cancels an issued warning at once (CAP `Cancel`), with a note saying why: pending deliveries stop, open
    /// door-knock tasks are cancelled, and everyone the warning reached is told. No second person is needed.
    pub async fn cancel_warning(&self, ctx: &Context, id: i64, note_zh: &str, note_en: Option<&str>) -> Result<WarningView, AppError> {
        let original = self.load_warning(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &resource(&original.path, &original.fields)) {
            return Err(self.kernel.refuse(ctx, "warning.cancel", "warning", Some(id.to_string()), reason).await);
        }
        if original.fields.state != "issued" {
            return Err(AppError::WrongState { kind: ResourceKind::Warning, state: original.fields.state, step: "cancel" });
        }
        let note_zh = super::text("note_zh", note_zh, 1000)?;
        let note_en = super::optional_text("note_en", note_en, 1000)?;
        let mut fields = original.fields.clone();
        fields.identifier = format!("draft-{}", crate::util::random_hex(8)?);
        fields.state = "draft".into();
        fields.msg_type = "Cancel".into();
        fields.replaces_id = Some(id);
        fields.sent_at = None;
        fields.cap_xml = None;
        fields.recipients = 0;
        fields.created_by = ctx.account_id();
        fields.approved_by = None;
        fields.issued_by = None;
        fields.headline_zh = format!("【解除】{}", original.fields.headline_zh);
        fields.description_zh = note_zh;
        fields.instruction_zh = "预警已解除，请关注后续通知。".into();
        if let Some(headline_en) = &original.fields.headline_en {
            fields.headline_en = Some(format!("[Cancelled] {headline_en}"));
            fields.description_en = Some(note_en.unwrap_or_else(|| "This warning has been cancelled.".into()));
            fields.instruction_en = Some("The warning is over; watch for further notices.".into());
        }
        let draft = self.insert_follow_up(ctx, fields, original.path.clone(), "warning.cancel_drafted").await?;
        let row = self.load_warning(draft.id).await?;
        self.send(ctx, row, draft.version, true).await
    }
}
