//! Nobody vulnerable left unreached: expiry, door-knock tasks and their escalation. A pass is idempotent (tasks
//! have dedupe keys; escalation marks are set once), so it can run every few seconds on every node.

use domain::Locale;
use store::tasks::{self as task_repo, NewTask};
use store::warnings as repo;

use crate::warnings::Warnings;
use crate::{AppError, Context};

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EscalationReport {
    /// Warnings that expired.
    pub expired: usize,
    /// Door-knock tasks created.
    pub door_knocks: usize,
    /// Overdue tasks escalated.
    pub escalated: usize,
}

impl Warnings {
    /// One pass: expire what has expired, turn unacknowledged vulnerable households into door-knock tasks once a
    /// warning's level deadline has passed, and escalate overdue tasks to the community cadre.
    pub async fn run_escalation(&self) -> Result<EscalationReport, AppError> {
        let mut report = EscalationReport::default();
        let now = self.kernel.now_ms();
        let ctx = Context::system("escalation", Locale::ZhCn);
        let (expired, in_force) = {
            let mut reader = self.kernel.store().reader().await?;
            (repo::expired_warnings(&mut reader.conn(), now).await?, repo::warnings_in_force(&mut reader.conn(), now).await?)
        };
        for row in expired {
            let (app, ctx2) = (self.clone(), ctx.clone());
            let done = self
                .kernel
                .store()
                .write(move |c| {
                    Box::pin(async move {
                        let mut fields = row.fields.clone();
                        fields.state = "expired".into();
                        if let store::registry::Versioned::Done(_) =
                            repo::update_warning(c, row.id, row.version, &fields, &row.path, now).await?
                        {
                            repo::cancel_pending(c, row.id).await?;
                            if let Some(moved) = repo::get_warning(c, row.id).await? {
                                app.warning_event(c, &ctx2, "warning.expired", &moved).await?;
                            }
                            return Ok::<bool, AppError>(true);
                        }
                        Ok(false)
                    })
                })
                .await?;
            report.expired += usize::from(done);
        }
        let config = &self.kernel.config().warnings;
        for warning in in_force {
            let Some(minutes) = config.door_knock_after_minutes.get(&warning.fields.level) else { continue };
            let Some(sent) = warning.fields.sent_at else { continue };
            if warning.fields.msg_type == "Cancel" || warning.fields.cap_status != "Actual" || now < sent + minutes * 60_000 {
                continue;
            }
            let unreached = {
                let mut reader = self.kernel.store().reader().await?;
                repo::unacknowledged_vulnerable(&mut reader.conn(), warning.id).await?
            };
            let due = now + config.door_knock_due_minutes.max(1) * 60_000;
            for (household_id, _) in unreached {
                let (app, ctx2, warning) = (self.clone(), ctx.clone(), warning.clone());
                let created = self
                    .kernel
                    .store()
                    .write(move |c| {
                        Box::pin(async move {
                            let Some(household) = store::households::get_household(c, household_id).await? else { return Ok::<_, AppError>(false) };
                            let owner = task_repo::member_with_role_at(c, household.fields.jurisdiction_id, "grid_member").await?;
                            let cadre = task_repo::member_with_role_above(c, &household.path, "cadre").await?;
                            let task = NewTask {
                                kind: "door_knock".into(),
                                subject_type: "warning".into(),
                                subject_id: warning.id,
                                dedupe_key: format!("door_knock:{}:{household_id}", warning.id),
                                title_zh: format!("上门通知：{}", warning.fields.headline_zh),
                                title_en: format!("Door-knock: {}", warning.fields.headline_en.clone().unwrap_or_else(|| warning.fields.headline_zh.clone())),
                                detail: serde_json::json!({ "household_id": household_id, "warning_id": warning.id, "level": warning.fields.level })
                                    .to_string(),
                                jurisdiction_id: household.fields.jurisdiction_id,
                                path: household.path.clone(),
                                // No grid member on record: the cadre owns it from the start.
                                owner_member_id: owner.or(cadre),
                                owner_organization_id: None,
                                escalate_to_member_id: if owner.is_some() { cadre } else { None },
                                due_at: due,
                                function: None,
                                support: None,
                                depends_on: None,
                                escalate_at: None,
                                escalate_to_jurisdiction_id: None,
                            };
                            let Some(row) = task_repo::insert_if_absent(c, &task, now).await? else { return Ok(false) };
                            app.incidents.task_event(c, &ctx2, "task.created", &row).await?;
                            Ok(true)
                        })
                    })
                    .await?;
                report.door_knocks += usize::from(created);
            }
        }
        loop {
            let overdue = {
                let mut reader = self.kernel.store().reader().await?;
                task_repo::overdue_unescalated(&mut reader.conn(), now, 500).await?
            };
            if overdue.is_empty() {
                break;
            }
            let count = overdue.len();
            let (app, ctx2) = (self.clone(), ctx.clone());
            let escalated = self
                .kernel
                .store()
                .write(move |c| {
                    Box::pin(async move {
                        let mut escalated = 0;
                        for task in overdue {
                            if task_repo::mark_escalated(c, task.id, now).await? {
                                let row = task_repo::get_task(c, task.id).await?.unwrap_or(task);
                                app.incidents.task_event(c, &ctx2, "task.escalated", &row).await?;
                                escalated += 1;
                            }
                        }
                        Ok::<usize, AppError>(escalated)
                    })
                })
                .await?;
            report.escalated += escalated;
            if count < 500 {
                break;
            }
        }
        Ok(report)
    }
}
