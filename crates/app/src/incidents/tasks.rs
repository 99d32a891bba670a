//! Tasks with an owner and a deadline, as people work them: "my tasks" in the field view, closing a task with
//! what was found, and — for a door-knock — the household to visit. The household's address, phone and needs are
//! personal data: they are shown to the task's owner (and to whoever is cleared for them in that grid), and every
//! such showing is recorded in the audit log with the task as its purpose.

use domain::ids::MemberId;
use domain::policy::{Action, Decision, Resource, ResourceKind};
use domain::registry::JurisdictionPath;
use domain::{Classification, Invalid, InvalidReason, Locale, i18n, masking};
use store::list::ListQuery;
use store::registry::Versioned;
use store::tasks::{self as repo, TaskRow};

use crate::incidents::Incidents;
use crate::time::rfc3339;
use crate::util::visibility;
use crate::util::{Outcome, decide};
use crate::{AppError, Context, ListParams, Page};

/// Task states.
pub const STATUSES: &[&str] = &["open", "acknowledged", "in_progress", "done", "unable", "declined", "cancelled"];

/// The steps a task's owner can take from each open state.
fn allowed_steps(from: &str) -> &'static [&'static str] {
    match from {
        "open" => &["acknowledged", "in_progress", "done", "unable", "declined"],
        "acknowledged" => &["in_progress", "done", "unable", "declined"],
        "in_progress" => &["done", "unable"],
        _ => &[],
    }
}

/// A task on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TaskView {
    /// Id.
    pub id: i64,
    /// `door_knock`, `plan_action`, …
    pub kind: String,
    /// The kind in the caller's language.
    pub kind_label: String,
    /// What it is about (`warning`, `incident`).
    pub subject_type: String,
    /// Its id.
    pub subject_id: i64,
    /// The title in the caller's language.
    pub title: String,
    /// Where.
    pub jurisdiction_id: i64,
    /// Owner.
    pub owner_member_id: Option<i64>,
    /// Escalates to.
    pub escalate_to_member_id: Option<i64>,
    /// `open`, `done`, `unable`, `cancelled`.
    pub status: String,
    /// The status in the caller's language.
    pub status_label: String,
    /// Deadline.
    pub due_at: String,
    /// Whether it is open past its deadline.
    pub overdue: bool,
    /// When it was escalated.
    pub escalated_at: Option<String>,
    /// What the owner reported.
    pub evidence: Option<String>,
    /// The owning organization.
    pub owner_organization_id: Option<i64>,
    /// The plan function it serves.
    pub function: Option<String>,
    /// When the owner acknowledged it.
    pub acknowledged_at: Option<String>,
    /// When it escalates if not done.
    pub escalate_at: Option<String>,
    /// The steps its owner may take now.
    pub allowed_steps: Vec<String>,
    /// For a door-knock: the household to visit.
    pub household: Option<HouseholdBrief>,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// What a door-knock needs to know of a household.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HouseholdBrief {
    /// Id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Address (masked unless shown to someone cleared).
    pub address: Option<String>,
    /// Phone (masked unless shown to someone cleared).
    pub phone: Option<String>,
    /// Residents.
    pub residents: i64,
    /// Needs on the vulnerable-resident register (hidden unless shown to someone cleared).
    pub needs: Option<String>,
    /// Position (rounded unless shown to someone cleared).
    pub lon: f64,
    /// Position.
    pub lat: f64,
    /// Whether personal data is shown unmasked.
    pub revealed: bool,
}

/// Filters of the task list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only tasks in this state.
    pub status: Option<String>,
    /// Only tasks of this kind.
    pub kind: Option<String>,
    /// Only tasks about this warning.
    pub warning_id: Option<i64>,
}

/// A step on a task: acknowledge it, start it, finish it with evidence, or decline it with a reason.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskReport {
    /// The version read.
    pub version: Option<i64>,
    /// `acknowledged`, `in_progress`, `done`, `unable` (could not be done: nobody home, no access) or `declined`
    /// (not ours).
    pub status: String,
    /// What was found, or why (required for `unable` and `declined`).
    #[serde(default)]
    pub note: Option<String>,
    /// A photo as evidence (a media URL from an upload).
    #[serde(default)]
    pub photo: Option<String>,
}

/// Giving a task to someone else.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassignment {
    /// The version read.
    pub version: Option<i64>,
    /// The member who takes it over.
    #[serde(default)]
    pub member_id: Option<i64>,
    /// Or the organization.
    #[serde(default)]
    pub organization_id: Option<i64>,
    /// Why.
    pub reason: String,
}

fn task_resource(row: &TaskRow) -> Resource<'_> {
    let resource = Resource::new(ResourceKind::Task, Classification::Internal)
        .in_jurisdiction(&row.task.path)
        .owned_by(row.task.owner_organization_id.map(domain::ids::OrganizationId));
    // The owner reports on their task wherever it is; once escalated, so does the person it escalated to.
    let responsible =
        if row.escalated_at.is_some() { row.task.escalate_to_member_id.or(row.task.owner_member_id) } else { row.task.owner_member_id };
    match responsible {
        Some(member) => resource.about_member(MemberId(member)),
        None => resource,
    }
}

fn is_responsible(ctx: &Context, row: &TaskRow) -> bool {
    let me = ctx.subject.member.map(|m| m.0);
    me.is_some() && (me == row.task.owner_member_id || (row.escalated_at.is_some() && me == row.task.escalate_to_member_id))
}

/// A task on the wire (without the household of a door-knock).
pub fn view_of(locale: Locale, now: i64, row: TaskRow) -> TaskView {
    view(locale, now, row, None)
}

fn view(locale: Locale, now: i64, row: TaskRow, household: Option<HouseholdBrief>) -> TaskView {
    let label = |prefix: &str, code: &str| i18n::lookup(locale, &format!("{prefix}.{code}")).unwrap_or(code).to_string();
    let steps: Vec<String> = allowed_steps(&row.status).iter().map(|s| s.to_string()).collect();
    TaskView {
        allowed_steps: steps,
        id: row.id,
        kind_label: label("task_kind", &row.task.kind),
        kind: row.task.kind,
        subject_type: row.task.subject_type,
        subject_id: row.task.subject_id,
        title: match locale {
            Locale::ZhCn => row.task.title_zh,
            Locale::En => row.task.title_en,
        },
        jurisdiction_id: row.task.jurisdiction_id,
        owner_member_id: row.task.owner_member_id,
        escalate_to_member_id: row.task.escalate_to_member_id,
        status_label: label("state", &row.status),
        overdue: row.status == "open" && row.task.due_at <= now,
        status: row.status,
        due_at: rfc3339(row.task.due_at),
        escalated_at: row.escalated_at.map(rfc3339),
        evidence: row.evidence,
        owner_organization_id: row.task.owner_organization_id,
        function: row.task.function.clone(),
        acknowledged_at: row.acknowledged_at.map(rfc3339),
        escalate_at: row.task.escalate_at.map(rfc3339),

        household,
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
    }
}

impl Incidents {
    async fn load_task(&self, id: i64) -> Result<TaskRow, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        repo::get_task(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Task })
    }

    /// Lists tasks visible to the caller.
    pub async fn list_tasks(&self, ctx: &Context, params: &ListParams, filter: &TaskFilter) -> Result<Page<TaskView>, AppError> {
        let limit = params.limit()?;
        let offset = params.offset()?;
        let filter_of = domain::policy::read_filter(&ctx.subject, ResourceKind::Task, Classification::Internal);
        let mut scope = if ctx.is_system() { store::list::Visibility::Everything } else { visibility(filter_of) };
        // The policy's "own record" is the owner's member id, not a task id: a person's own tasks come from `my_tasks`.
        if let store::list::Visibility::Some { own_id, .. } = &mut scope {
            *own_id = None;
        }
        let mut query = ListQuery::new(scope, limit);
        query.offset = offset;
        query.search = params.q.clone();
        query.sort = params.sort(&["due_at", "id", "status", "kind"])?.or(Some(("due_at".into(), false)));
        if let Some(id) = params.jurisdiction_id {
            query.within = Some(self.registry.jurisdiction_path("jurisdiction_id", id).await?.0);
        }
        if let Some(status) = filter.status.as_deref().filter(|s| !s.is_empty()) {
            if !STATUSES.contains(&status) {
                return Err(Invalid::new("status", InvalidReason::UnknownValue { allowed: STATUSES.to_vec() }).into());
            }
            query.equals.push(("status", status.to_string().into()));
        }
        if let Some(kind) = filter.kind.as_deref().filter(|s| !s.is_empty()) {
            query.equals.push(("kind", kind.to_string().into()));
        }
        if let Some(warning) = filter.warning_id {
            query.equals.push(("subject_type", "warning".to_string().into()));
            query.equals.push(("subject_id", warning.into()));
        }
        let page = {
            let mut reader = self.kernel.store().reader().await?;
            repo::list_tasks(&mut reader.conn(), &query).await?
        };
        let now = self.kernel.now_ms();
        Ok(Page { items: page.items.into_iter().map(|row| view(ctx.locale, now, row, None)).collect(), total: page.total, limit, offset })
    }

    /// The open tasks of the signed-in person (owned, or escalated to them), soonest deadline first.
    pub async fn my_tasks(&self, ctx: &Context) -> Result<Vec<TaskView>, AppError> {
        let Some(member) = ctx.subject.member else { return Ok(Vec::new()) };
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            repo::open_tasks_of_member(&mut reader.conn(), member.0, 200).await?
        };
        let now = self.kernel.now_ms();
        Ok(rows.into_iter().map(|row| view(ctx.locale, now, row, None)).collect())
    }

    /// One task; for a door-knock, with the household, shown unmasked to the people responsible (audited).
    pub async fn get_task(&self, ctx: &Context, id: i64) -> Result<TaskView, AppError> {
        let row = self.load_task(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &task_resource(&row)) {
            return Err(self.kernel.refuse(ctx, "task.read", "task", Some(id.to_string()), reason).await);
        }
        let household = self.task_household(ctx, &row).await?;
        Ok(view(ctx.locale, self.kernel.now_ms(), row, household))
    }

    async fn task_household(&self, ctx: &Context, row: &TaskRow) -> Result<Option<HouseholdBrief>, AppError> {
        let Some(household_id) =
            serde_json::from_str::<serde_json::Value>(&row.task.detail).ok().and_then(|d| d.get("household_id").and_then(|h| h.as_i64()))
        else {
            return Ok(None);
        };
        let (household, needs) = {
            let mut reader = self.kernel.store().reader().await?;
            let household = store::households::get_household(&mut reader.conn(), household_id).await?;
            let needs = store::households::vulnerable_needs(&mut reader.conn(), household_id).await?;
            (household, needs)
        };
        let Some(household) = household else { return Ok(None) };
        let confidential = Resource::new(ResourceKind::Household, Classification::Confidential).in_jurisdiction(&household.path);
        let responsible = is_responsible(ctx, row);
        let reveal = responsible || decide(ctx, Action::Read, &confidential).is_allowed();
        // The register's needs go to the person the task is for, never to everyone cleared for the area.
        let needs = if responsible { needs } else { None };
        if reveal {
            let fields: Vec<&str> =
                if needs.is_some() { vec!["address", "phone", "needs", "position"] } else { vec!["address", "phone", "position"] };
            let mut record = self.kernel.audit(ctx, "household.reveal", "household", Some(household_id.to_string()));
            record.purpose = format!("task {}", row.id);
            record.details = serde_json::json!({ "fields": fields });
            self.kernel.store().write(move |c| Box::pin(async move { store::audit::append(c, &record).await })).await?;
            // And in the register's access log, so that the household sees who viewed its record and why.
            self.registry.log_household_read(ctx, household_id, "task", &fields).await?;
        }
        let f = household.fields;
        Ok(Some(HouseholdBrief {
            id: household.id,
            code: f.code,
            address: if reveal { f.address } else { f.address.map(|a| masking::person_name(&a)) },
            phone: if reveal { f.phone } else { f.phone.as_deref().map(masking::phone) },
            residents: f.residents,
            needs: if reveal { needs } else { None },
            lon: if reveal { f.lon } else { masking::coordinate(f.lon) },
            lat: if reveal { f.lat } else { masking::coordinate(f.lat) },
            revealed: reveal,
        }))
    }

    /// A step on a task by its owner (or someone cleared in its place): acknowledge, start, finish with evidence,
    /// or decline with a reason.
    pub async fn close_task(&self, ctx: &Context, id: i64, report: TaskReport) -> Result<TaskView, AppError> {
        let version = report.version.ok_or(AppError::VersionRequired)?;
        let status = report.status.trim().to_string();
        if !STATUSES.contains(&status.as_str()) || matches!(status.as_str(), "open" | "cancelled") {
            return Err(Invalid::new(
                "status",
                InvalidReason::UnknownValue { allowed: vec!["acknowledged", "in_progress", "done", "unable", "declined"] },
            )
            .into());
        }
        let mut note = match report.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(note) if note.chars().count() > 2000 => return Err(Invalid::new("note", InvalidReason::TooLong { max: 2000 }).into()),
            Some(note) => Some(note.to_string()),
            None if matches!(status.as_str(), "unable" | "declined") => return Err(Invalid::new("note", InvalidReason::Required).into()),
            None => None,
        };
        if let Some(photo) = report.photo.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            if !(photo.starts_with("/media/") || photo.starts_with("http://") || photo.starts_with("https://")) || photo.len() > 500 {
                return Err(Invalid::new("photo", InvalidReason::Malformed { expected: "a media URL" }).into());
            }
            note = Some(match note {
                Some(text) => format!("{text}\n{photo}"),
                None => photo.to_string(),
            });
        }
        let row = self.load_task(id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &task_resource(&row)) {
            return Err(self.kernel.refuse(ctx, "task.close", "task", Some(id.to_string()), reason).await);
        }
        if !allowed_steps(&row.status).contains(&status.as_str()) {
            return Err(AppError::WrongState { kind: ResourceKind::Task, state: row.status, step: "close" });
        }
        let event = match status.as_str() {
            "acknowledged" => "task.acknowledged",
            "in_progress" => "task.started",
            "declined" => "task.declined",
            _ => "task.closed",
        };
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    match repo::set_status(c, id, version, &status, note.as_deref(), app.kernel.now_ms()).await? {
                        Versioned::Done(_) => {}
                        Versioned::Conflict(current) => return Err(AppError::Conflict { current }),
                        Versioned::Missing => return Err(AppError::NotFound { kind: ResourceKind::Task }),
                    }
                    let row = repo::get_task(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Task })?;
                    app.task_event(c, &ctx2, event, &row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, event, "task", Some(id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(ctx.locale, self.kernel.now_ms(), row, None))
    }

    /// Gives a task to another member or organization; the move, who made it and why are recorded on the task.
    pub async fn reassign_task(&self, ctx: &Context, id: i64, input: Reassignment) -> Result<TaskView, AppError> {
        let version = input.version.ok_or(AppError::VersionRequired)?;
        let reason = input.reason.trim().to_string();
        if reason.is_empty() {
            return Err(Invalid::new("reason", InvalidReason::Required).into());
        }
        if reason.chars().count() > 500 {
            return Err(Invalid::new("reason", InvalidReason::TooLong { max: 500 }).into());
        }
        if input.member_id.is_none() && input.organization_id.is_none() {
            return Err(Invalid::new("member_id", InvalidReason::Required).into());
        }
        {
            let mut reader = self.kernel.store().reader().await?;
            if let Some(member) = input.member_id
                && store::registry::get_member(&mut reader.conn(), member).await?.is_none()
            {
                return Err(Invalid::new("member_id", InvalidReason::NotFound).into());
            }
            if let Some(organization) = input.organization_id
                && store::registry::get_organization(&mut reader.conn(), organization).await?.is_none()
            {
                return Err(Invalid::new("organization_id", InvalidReason::NotFound).into());
            }
        }
        let row = self.load_task(id).await?;
        // Reassigning is a manager's step: the scope's roles, not the owner alone.
        let managed = Resource::new(ResourceKind::Task, Classification::Internal).in_jurisdiction(&row.task.path);
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &managed) {
            return Err(self.kernel.refuse(ctx, "task.reassign", "task", Some(id.to_string()), reason).await);
        }
        // An open task changes hands; one its owner declined or could not do is given to someone else and opens
        // again. Only finished or cancelled work stays as it is.
        if !allowed_steps(&row.status).contains(&"done") && !matches!(row.status.as_str(), "declined" | "unable") {
            return Err(AppError::WrongState { kind: ResourceKind::Task, state: row.status, step: "reassign" });
        }
        let mut history: Vec<serde_json::Value> =
            row.reassignments.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
        history.push(serde_json::json!({
            "at": rfc3339(self.kernel.now_ms()), "by": ctx.actor_label,
            "from": {"member_id": row.task.owner_member_id, "organization_id": row.task.owner_organization_id},
            "to": {"member_id": input.member_id, "organization_id": input.organization_id}, "reason": reason,
        }));
        let history = serde_json::Value::Array(history).to_string();
        let (app, ctx2) = (self.clone(), ctx.clone());
        let (member, organization) = (input.member_id, input.organization_id);
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    match repo::reassign(c, id, version, member, organization, &history, app.kernel.now_ms()).await? {
                        Versioned::Done(_) => {}
                        Versioned::Conflict(current) => return Err(AppError::Conflict { current }),
                        Versioned::Missing => return Err(AppError::NotFound { kind: ResourceKind::Task }),
                    }
                    let row = repo::get_task(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Task })?;
                    app.task_event(c, &ctx2, "task.reassigned", &row).await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "task.reassign", "task", Some(id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(view(ctx.locale, self.kernel.now_ms(), row, None))
    }

    /// The tasks of an incident (its matrix as work), by due time.
    pub async fn incident_tasks(&self, ctx: &Context, incident_id: i64) -> Result<Vec<TaskView>, AppError> {
        self.get_incident(ctx, incident_id).await?;
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            repo::tasks_of(&mut reader.conn(), "incident", incident_id).await?
        };
        let now = self.kernel.now_ms();
        Ok(rows.into_iter().map(|row| view(ctx.locale, now, row, None)).collect())
    }

    /// The open tasks of an organization (its inbox), for its members and managers.
    pub async fn organization_tasks(&self, ctx: &Context, organization_id: i64) -> Result<Vec<TaskView>, AppError> {
        self.registry.get_organization(ctx, organization_id).await?;
        let rows = {
            let mut reader = self.kernel.store().reader().await?;
            repo::open_tasks_of_organization(&mut reader.conn(), organization_id, 200).await?
        };
        let now = self.kernel.now_ms();
        Ok(rows
            .into_iter()
            .filter(|row| decide(ctx, Action::Read, &task_resource(row)).is_allowed())
            .map(|row| view(ctx.locale, now, row, None))
            .collect())
    }

    pub(crate) async fn task_event(&self, c: &mut store::Conn<'_>, ctx: &Context, kind: &str, row: &TaskRow) -> Result<(), AppError> {
        let payload = serde_json::json!({
            "id": row.id, "version": row.version, "kind": row.task.kind, "status": row.status, "title_zh": row.task.title_zh,
            "title_en": row.task.title_en, "owner_member_id": row.task.owner_member_id, "escalate_to_member_id": row.task.escalate_to_member_id,
            "due_at": crate::time::rfc3339(row.task.due_at),
        });
        let path: &JurisdictionPath = &row.task.path;
        store::events::append(c, &self.kernel.event(ctx, kind, "task", row.id, Some(path), None, Classification::Internal, payload))
            .await?;
        Ok(())
    }
}
