//! Emergency plans in the platform: saving (every revision kept, linted against the registry as it is), publishing
//! (refused while the linter finds errors), activation for an incident (the response level, who commands, the modes,
//! the responsibility matrix and the tasks with owners and deadlines), stand-down, and the upward report.

use std::collections::BTreeMap;

use domain::ids::{JurisdictionId, MemberId, OrganizationId};
use domain::incident::{Category, IncidentStatus, ReportingSchedule, ResponseLevel, TimelineEntry};
use domain::policy::{AccountRole, Action, Decision, Resource, ResourceKind};
use domain::registry::{JurisdictionLevel, JurisdictionPath, MemberRole, MemberStatus, OrganizationKind, Sector};
use domain::text::Code;
use domain::{Classification, Invalid, InvalidReason, Locale};
use jiff::Timestamp;
use plan::{EscalationTarget, GrantEntry, JurisdictionEntry, MemberEntry, OrganizationEntry, Plan, RegistrySnapshot, Situation};
use serde_json::Value;
use store::incidents::{self as repo, ActivationRow, PlanRow};
use store::registry::Versioned;
use store::tasks::NewTask;

use crate::incidents::Incidents;
use crate::incidents::reports::{affected_of, figures_of, incident_resource, incident_view, kind_of, reference, scales_of, subtypes};
use crate::time::rfc3339;
use crate::util::{Outcome, decide};
use crate::{AppError, Context, IncidentView};

/// A linter finding on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FindingView {
    /// The stable code.
    pub code: String,
    /// `error` or `warning`.
    pub severity: String,
    /// Where in the document (a JSON path).
    pub path: String,
    /// The line of that place, when the document has it.
    pub line: Option<usize>,
    /// What is wrong, in the caller's language.
    pub message: String,
}

/// A plan revision on the wire.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlanView {
    /// Id of this revision.
    pub id: i64,
    /// The plan's code.
    pub code: String,
    /// The document's version.
    pub version: String,
    /// The revision number.
    pub revision: i64,
    /// The title in the caller's language.
    pub title: String,
    /// `draft`, `published` or `retired`.
    pub state: String,
    /// The linter's findings at save.
    pub findings: Vec<FindingView>,
    /// How many findings are errors.
    pub errors: usize,
    /// The document (only when one plan is asked for).
    pub document: Option<String>,
    /// Who saved it.
    pub saved_by: String,
    /// When.
    pub created_at: String,
}

/// Activating a plan.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationInput {
    /// The incident's version read.
    pub version: Option<i64>,
    /// The plan to activate (default: the best published plan for the incident).
    #[serde(default)]
    pub plan_code: Option<String>,
    /// The response level (default: the one the plan's triggers call for).
    #[serde(default)]
    pub response_level: Option<String>,
}

/// What an activation did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ActivationView {
    /// Id.
    pub id: i64,
    /// The plan.
    pub plan_code: String,
    /// The response level in force.
    pub response_level: String,
    /// Who commands.
    pub command_jurisdiction_id: i64,
    /// Whether command passed up.
    pub escalated: bool,
    /// The modes set: jurisdiction id and mode.
    pub modes: Vec<(i64, String)>,
    /// The tasks created.
    pub tasks: Vec<crate::incidents::tasks::TaskView>,
    /// What could not be resolved (owners nobody fills…), in the caller's language.
    pub findings: Vec<String>,
    /// The incident afterwards.
    pub incident: IncidentView,
}

/// An upward report generated from the data.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UpwardReportView {
    /// The text in the caller's language.
    pub text: String,
    /// The text in Chinese.
    pub text_zh: String,
    /// The text in English.
    pub text_en: String,
    /// The items: key, label and value in the caller's language.
    pub items: Vec<(String, String, String)>,
}

fn plan_view(locale: Locale, row: &PlanRow, with_document: bool) -> PlanView {
    let findings: Vec<FindingView> = match plan::parse(&row.document) {
        Ok(_) => serde_json::from_str::<Vec<Value>>(&row.findings)
            .unwrap_or_default()
            .iter()
            .map(|f| FindingView {
                code: f["code"].as_str().unwrap_or_default().to_string(),
                severity: f["severity"].as_str().unwrap_or_default().to_string(),
                path: f["path"].as_str().unwrap_or_default().to_string(),
                line: f["line"].as_u64().map(|l| l as usize),
                message: f
                    .get(if locale == Locale::En { "message_en" } else { "message_zh" })
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    PlanView {
        id: row.id,
        code: row.code.clone(),
        version: row.version.clone(),
        revision: row.revision,
        title: match (locale, &row.title_en) {
            (Locale::En, Some(en)) => en.clone(),
            _ => row.title_zh.clone(),
        },
        state: row.state.clone(),
        errors: findings.iter().filter(|f| f.severity == "error").count(),
        findings,
        document: with_document.then(|| row.document.clone()),
        saved_by: row.saved_by.clone(),
        created_at: rfc3339(row.created_at),
    }
}

fn plan_resource() -> Resource<'static> {
    Resource::new(ResourceKind::Plan, Classification::Internal)
}

fn malformed(error: &plan::PlanError) -> AppError {
    let field = match error {
        plan::PlanError::Malformed(parse) => {
            let field = if parse.field.is_empty() { "document".to_string() } else { parse.field.clone() };
            format!("plan: line {}, column {}, {field}", parse.line, parse.column)
        }
        _ => "plan".to_string(),
    };
    AppError::Invalid(Invalid::new(
        field,
        InvalidReason::Explained { rule: error.code().into(), en: error.message(Locale::En), zh: error.message(Locale::ZhCn) },
    ))
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Incidents {
    /// The registry as plans see it.
    pub(crate) async fn registry_snapshot(&self) -> Result<RegistrySnapshot, AppError> {
        let mut reader = self.kernel.store().reader().await?;
        let mut snapshot = RegistrySnapshot::default();
        for (id, code, level, path, name_zh, name_en) in repo::all_jurisdictions(&mut reader.conn()).await? {
            let (Ok(code), Ok(level), Some(path)) =
                (Code::parse("code", &code), JurisdictionLevel::parse("level", &level), JurisdictionPath::parse(&path))
            else {
                continue;
            };
            snapshot.jurisdictions.push(JurisdictionEntry { id: JurisdictionId(id), code, level, path, name_zh, name_en });
        }
        for (id, code, kind, sector, jurisdiction, parent) in repo::all_organizations(&mut reader.conn()).await? {
            let (Ok(code), Ok(kind)) = (Code::parse("code", &code), OrganizationKind::parse("kind", &kind)) else { continue };
            snapshot.organizations.push(OrganizationEntry {
                id: OrganizationId(id),
                code,
                kind,
                sector: sector.as_deref().and_then(|s| Sector::parse("sector", s).ok()),
                jurisdiction: JurisdictionId(jurisdiction),
                parent: parent.map(OrganizationId),
            });
        }
        let mut grants: BTreeMap<i64, Vec<GrantEntry>> = BTreeMap::new();
        for (member, role, scope) in repo::member_grants(&mut reader.conn()).await? {
            if let Ok(role) = AccountRole::parse("role", &role) {
                grants.entry(member).or_default().push(GrantEntry { role, scope: scope.map(JurisdictionId) });
            }
        }
        for (id, jurisdiction, organization, roles, status) in repo::all_members(&mut reader.conn()).await? {
            let roles: Vec<MemberRole> = serde_json::from_str::<Vec<String>>(&roles)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| MemberRole::parse("roles", r).ok())
                .collect();
            let Ok(status) = MemberStatus::parse("status", &status) else { continue };
            snapshot.members.push(MemberEntry {
                id: MemberId(id),
                jurisdiction: JurisdictionId(jurisdiction),
                organization: organization.map(OrganizationId),
                roles,
                grants: grants.remove(&id).unwrap_or_default(),
                status,
            });
        }
        Ok(snapshot)
    }

    /// Saves the plans Gridline ships that the database does not have yet, published (run at start).
    pub async fn ensure_shipped_plans(&self) -> Result<usize, AppError> {
        let existing: Vec<String> = {
            let mut reader = self.kernel.store().reader().await?;
            repo::latest_plans(&mut reader.conn()).await?.into_iter().map(|p| p.code).collect()
        };
        let ctx = Context::system("plans", Locale::ZhCn);
        let mut saved = 0;
        for (_, document) in plan::shipped() {
            let parsed = plan::parse(document).map_err(|error| AppError::Internal(format!("a shipped plan: {error}")))?;
            if existing.iter().any(|code| code == parsed.code.as_str()) {
                continue;
            }
            let view = self.save_plan(&ctx, document).await?;
            let id = view.id;
            self.kernel.store().write(move |c| Box::pin(async move { repo::publish_plan(c, id).await })).await?;
            saved += 1;
        }
        Ok(saved)
    }

    /// Saves a new revision of a plan (a draft): a malformed document is refused whole with its line, column and
    /// field; a well-formed one is kept with the linter's findings against the registry as it is now.
    pub async fn save_plan(&self, ctx: &Context, document: &str) -> Result<PlanView, AppError> {
        if let Decision::Deny(reason) = decide(ctx, Action::Create, &plan_resource()) {
            return Err(self.kernel.refuse(ctx, "plan.save", "plan", None, reason).await);
        }
        let parsed: Plan = plan::parse(document).map_err(|error| malformed(&error))?;
        let snapshot = self.registry_snapshot().await?;
        let findings = plan::lint(&parsed, subtypes(), &snapshot);
        let findings_json = Value::Array(
            findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "code": f.code.code(), "severity": if f.severity == plan::Severity::Error { "error" } else { "warning" },
                        "path": f.path, "line": plan::locate(document, &f.path).map(|p| p.line),
                        "message_zh": f.message(Locale::ZhCn), "message_en": f.message(Locale::En),
                    })
                })
                .collect(),
        )
        .to_string();
        let (app, ctx2) = (self.clone(), ctx.clone());
        let document = document.to_string();
        let code = parsed.code.as_str().to_string();
        let version = parsed.version.get().to_string();
        let title_zh = parsed.title.zh().to_string();
        let title_en = parsed.title.en().to_string();
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let row = repo::insert_plan(
                        c,
                        &code,
                        &version,
                        &title_zh,
                        Some(&title_en),
                        &document,
                        "draft",
                        &findings_json,
                        &ctx2.actor_label,
                        now,
                    )
                    .await?;
                    let payload = serde_json::json!({"id": row.id, "code": row.code, "revision": row.revision});
                    store::events::append(
                        c,
                        &app.kernel.event(&ctx2, "plan.saved", "plan", row.id, None, None, Classification::Internal, payload),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "plan.save", "plan", Some(row.id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(plan_view(ctx.locale, &row, true))
    }

    /// Publishes a revision: it becomes the one activations use. Refused while the linter finds errors.
    pub async fn publish_plan(&self, ctx: &Context, id: i64) -> Result<PlanView, AppError> {
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &plan_resource()) {
            return Err(self.kernel.refuse(ctx, "plan.publish", "plan", Some(id.to_string()), reason).await);
        }
        let row = {
            let mut reader = self.kernel.store().reader().await?;
            repo::get_plan(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Plan })?
        };
        let view = plan_view(ctx.locale, &row, false);
        if view.errors > 0 {
            let first = view.findings.iter().find(|f| f.severity == "error").map(|f| f.message.clone()).unwrap_or_default();
            return Err(AppError::Invalid(Invalid::new(
                "plan",
                InvalidReason::Explained {
                    rule: "plan_has_errors".into(),
                    en: format!("the plan has {} errors; fix them before publishing (first: {first})", view.errors),
                    zh: format!("预案有 {} 处错误，请修正后再发布（第一处：{first}）", view.errors),
                },
            )));
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let row = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    repo::publish_plan(c, id).await?;
                    let row = repo::get_plan(c, id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Plan })?;
                    let payload = serde_json::json!({"id": id, "code": row.code, "revision": row.revision});
                    store::events::append(
                        c,
                        &app.kernel.event(&ctx2, "plan.published", "plan", id, None, None, Classification::Internal, payload),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "plan.publish", "plan", Some(id.to_string()))).await?;
                    Ok(Outcome::Done(row))
                })
            })
            .await?;
        Ok(plan_view(ctx.locale, &row, false))
    }

    /// The latest revision of every plan.
    pub async fn list_plans(&self, ctx: &Context) -> Result<Vec<PlanView>, AppError> {
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &plan_resource()) {
            return Err(self.kernel.refuse(ctx, "plan.read", "plan", None, reason).await);
        }
        let mut reader = self.kernel.store().reader().await?;
        Ok(repo::latest_plans(&mut reader.conn()).await?.iter().map(|row| plan_view(ctx.locale, row, false)).collect())
    }

    /// One plan revision, with its document.
    pub async fn get_plan(&self, ctx: &Context, id: i64) -> Result<PlanView, AppError> {
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &plan_resource()) {
            return Err(self.kernel.refuse(ctx, "plan.read", "plan", Some(id.to_string()), reason).await);
        }
        let mut reader = self.kernel.store().reader().await?;
        let row = repo::get_plan(&mut reader.conn(), id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Plan })?;
        Ok(plan_view(ctx.locale, &row, true))
    }

    /// The situation a plan sees: the incident's kind, scales and figures; its home is the sub-district (街道) it lies
    /// in — the level plans are written for — or its own jurisdiction above that level; the incident's own place,
    /// when below the home, counts as affected.
    fn situation(row: &store::incidents::IncidentRow, snapshot: &RegistrySnapshot) -> Result<Situation, AppError> {
        let kind = kind_of(&row.fields)?;
        let place = JurisdictionId(row.fields.jurisdiction_id);
        let entry_of = |id: JurisdictionId| snapshot.jurisdictions.iter().find(|j| j.id == id);
        let home = entry_of(place)
            .and_then(|entry| {
                entry
                    .path
                    .ancestors_and_self()
                    .iter()
                    .rev()
                    .filter_map(|path| snapshot.jurisdictions.iter().find(|j| &j.path == path))
                    .find(|j| j.level == JurisdictionLevel::SubDistrict)
                    .map(|j| j.id)
            })
            .unwrap_or(place);
        let mut affected: Vec<JurisdictionId> = affected_of(&row.fields.affected).into_iter().map(JurisdictionId).collect();
        if affected.is_empty() && home != place {
            affected.push(place);
        }
        Ok(Situation {
            scales: scales_of(&row.fields, kind.category()),
            kind,
            figures: figures_of(&row.fields.figures),
            home,
            affected,
            known_at: ts(row.fields.known_at),
        })
    }

    /// Activates the plan for a verified incident: sets the response level, hands command up if the plan says so,
    /// switches the affected jurisdictions' mode, and creates the matrix's tasks with owners and due times.
    pub async fn activate_plan(&self, ctx: &Context, incident_id: i64, input: ActivationInput) -> Result<ActivationView, AppError> {
        let version = input.version.ok_or(AppError::VersionRequired)?;
        let row = self.load_incident(incident_id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &incident_resource(&row)) {
            return Err(self.kernel.refuse(ctx, "incident.activate", "incident", Some(incident_id.to_string()), reason).await);
        }
        let status = IncidentStatus::parse("status", &row.fields.status)?;
        domain::incident::transition(status, IncidentStatus::Responding).map_err(AppError::InvalidTransition)?;
        let requested = match input.response_level.as_deref().filter(|l| !l.is_empty()) {
            Some(level) => Some(ResponseLevel::parse("response_level", level)?),
            None => None,
        };
        let snapshot = self.registry_snapshot().await?;
        let situation = Self::situation(&row, &snapshot)?;
        let published = {
            let mut reader = self.kernel.store().reader().await?;
            repo::published_plans(&mut reader.conn()).await?
        };
        let plans: Vec<(PlanRow, Plan)> =
            published.into_iter().filter_map(|p| plan::parse(&p.document).ok().map(|parsed| (p, parsed))).collect();
        let chosen = match input.plan_code.as_deref().filter(|c| !c.is_empty()) {
            Some(code) => {
                plans.iter().position(|(_, p)| p.code.as_str() == code).ok_or_else(|| Invalid::new("plan_code", InvalidReason::NotFound))?
            }
            None => {
                let documents: Vec<Plan> = plans.iter().map(|(_, p)| p.clone()).collect();
                let selected = plan::select(&documents, subtypes(), &snapshot, &situation).map_err(|e| malformed(&e))?;
                let best = selected.iter().find(|(_, evaluation)| evaluation.level.is_some() || requested.is_some()).or(selected.first());
                best.map(|(index, _)| *index).ok_or_else(|| {
                    AppError::Invalid(Invalid::new(
                        "plan_code",
                        InvalidReason::Explained {
                            rule: "no_plan".into(),
                            en: "no published plan covers this incident's kind and place".into(),
                            zh: "没有已发布的预案适用于此类事件和地点".into(),
                        },
                    ))
                })?
            }
        };
        let (plan_row, plan_doc) = plans[chosen].clone();
        let now = self.kernel.now_ms();
        let activation = plan::activate(&plan_doc, subtypes(), &snapshot, &situation, ts(now), requested).map_err(|error| {
            AppError::Invalid(Invalid::new(
                "plan_code",
                InvalidReason::Explained { rule: error.code().into(), en: error.message(Locale::En), zh: error.message(Locale::ZhCn) },
            ))
        })?;
        let paths: BTreeMap<i64, JurisdictionPath> = snapshot.jurisdictions.iter().map(|j| (j.id.0, j.path.clone())).collect();
        let findings: Vec<String> = activation.findings.iter().map(|f| f.message(ctx.locale)).collect();
        let findings_json =
            serde_json::to_string(&activation.findings.iter().map(|f| f.message(Locale::ZhCn)).collect::<Vec<_>>()).unwrap_or_default();
        let tasks: Vec<NewTask> = activation
            .tasks
            .iter()
            .filter_map(|draft| {
                let path = paths.get(&draft.jurisdiction.0)?.clone();
                let owner = draft.owner.as_ref();
                let (escalate_member, escalate_jurisdiction) = match &draft.escalation.to {
                    EscalationTarget::Owner(owner) => (owner.members.first().map(|m| m.0), Some(owner.jurisdiction.0)),
                    EscalationTarget::NextLevel(jurisdiction) => (None, Some(jurisdiction.0)),
                    EscalationTarget::Unresolved => (None, None),
                };
                let support: Vec<Value> = draft
                    .support
                    .iter()
                    .map(|s| serde_json::json!({"organization_id": s.organization.map(|o| o.0), "members": s.members.iter().map(|m| m.0).collect::<Vec<_>>(), "jurisdiction_id": s.jurisdiction.0}))
                    .collect();
                let depends: Vec<String> = draft.after.iter().map(|key| format!("incident:{incident_id}:{key}")).collect();
                Some(NewTask {
                    kind: "plan_action".into(),
                    subject_type: "incident".into(),
                    subject_id: incident_id,
                    dedupe_key: format!("incident:{incident_id}:{}", draft.key),
                    title_zh: draft.title_zh.clone(),
                    title_en: draft.title_en.clone(),
                    detail: serde_json::json!({"plan": plan_row.code, "key": draft.key, "action": draft.action.as_str()}).to_string(),
                    jurisdiction_id: draft.jurisdiction.0,
                    path,
                    owner_member_id: owner.and_then(|o| o.members.first().map(|m| m.0)),
                    owner_organization_id: owner.and_then(|o| o.organization.map(|o| o.0)),
                    escalate_to_member_id: escalate_member,
                    due_at: draft.due.as_millisecond(),
                    function: Some(draft.function.code().to_string()),
                    support: Some(Value::Array(support).to_string()),
                    depends_on: Some(serde_json::to_string(&depends).unwrap_or_default()),
                    escalate_at: Some(draft.escalation.at.as_millisecond()),
                    escalate_to_jurisdiction_id: escalate_jurisdiction,
                })
            })
            .collect();
        let modes: Vec<(i64, String)> = activation.modes.iter().map(|m| (m.jurisdiction.0, m.mode.code().to_string())).collect();
        let scope = serde_json::json!({
            "home": activation.scope.home.0,
            "affected": activation.scope.affected.iter().map(|j| j.0).collect::<Vec<_>>(),
            "mode_jurisdictions": activation.scope.mode_jurisdictions.iter().map(|j| j.0).collect::<Vec<_>>(),
        })
        .to_string();
        let response_level = activation.response_level.code().to_string();
        let triggered = activation.triggered_level.map(|l| l.code().to_string());
        let matched = serde_json::to_string(&activation.matched_triggers.iter().map(|t| t.as_str().to_string()).collect::<Vec<_>>())
            .unwrap_or_default();
        let command = activation.command.jurisdiction.0;
        let escalated = activation.command.escalated;
        let (app, ctx2) = (self.clone(), ctx.clone());
        let plan_id = plan_row.id;
        let plan_code = plan_row.code.clone();
        let modes_to_set = modes.clone();
        let (incident, activation_row, created) = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let current = repo::get_incident(c, incident_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    let mut fields = current.fields.clone();
                    fields.status = IncidentStatus::Responding.code().into();
                    fields.response_level = Some(response_level.clone());
                    if escalated {
                        fields.command_jurisdiction_id = Some(command);
                    }
                    match repo::update_incident(c, incident_id, version, &fields, now).await? {
                        Versioned::Done(_) => {}
                        Versioned::Conflict(current) => return Err(AppError::Conflict { current }),
                        Versioned::Missing => return Err(AppError::NotFound { kind: ResourceKind::Incident }),
                    }
                    let mut before = Vec::new();
                    for (jurisdiction, mode) in &modes_to_set {
                        if let Some(old) = repo::set_jurisdiction_mode(c, *jurisdiction, mode, now).await? {
                            if &old != mode {
                                let path = store::registry::get_jurisdiction(c, *jurisdiction, false).await?.map(|j| j.path);
                                let payload = serde_json::json!({"id": jurisdiction, "from": old, "to": mode, "incident_id": incident_id});
                                store::events::append(
                                    c,
                                    &app.kernel.event(&ctx2, "jurisdiction.mode_changed", "jurisdiction", *jurisdiction, path.as_ref(), None, Classification::Public, payload),
                                )
                                .await?;
                            }
                            before.push(serde_json::json!([jurisdiction, old]));
                        }
                    }
                    let activation = repo::insert_activation(
                        c,
                        &ActivationRow {
                            id: 0,
                            incident_id,
                            plan_id,
                            plan_code: plan_code.clone(),
                            response_level: response_level.clone(),
                            triggered_level: triggered,
                            matched,
                            command_jurisdiction_id: command,
                            scope,
                            modes_before: Value::Array(before).to_string(),
                            findings: findings_json,
                            activated_by: ctx2.actor_label.clone(),
                            activated_at: now,
                            stood_down_at: None,
                            stood_down_by: None,
                        },
                    )
                    .await?;
                    let mut created = Vec::new();
                    for task in &tasks {
                        if let Some(row) = store::tasks::insert_if_absent(c, task, now).await? {
                            app.task_event(c, &ctx2, "task.created", &row).await?;
                            created.push(row);
                        }
                    }
                    let incident = repo::get_incident(c, incident_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    let payload = serde_json::json!({
                        "id": incident_id, "version": incident.version, "status": incident.fields.status, "plan": plan_code,
                        "response_level": response_level, "tasks": created.len(), "command_jurisdiction_id": command, "escalated": escalated,
                    });
                    store::events::append(
                        c,
                        &app.kernel.event(&ctx2, "incident.activated", "incident", incident_id, Some(&incident.fields.path), None, Classification::Internal, payload),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "incident.activate", "incident", Some(incident_id.to_string()))).await?;
                    Ok(Outcome::Done((incident, activation, created)))
                })
            })
            .await?;
        let now = self.kernel.now_ms();
        Ok(ActivationView {
            id: activation_row.id,
            plan_code: activation_row.plan_code,
            response_level: activation_row.response_level,
            command_jurisdiction_id: activation_row.command_jurisdiction_id,
            escalated,
            modes,
            tasks: created.into_iter().map(|row| crate::incidents::tasks::view_of(ctx.locale, now, row)).collect(),
            findings,
            incident: incident_view(ctx.locale, &incident),
        })
    }

    /// Stands the response down: each activation's jurisdictions return to the mode they should be in now (another
    /// plan or a warning may keep them raised), the open tasks the plan does not keep are closed, the plan's
    /// stand-down tasks are created, and the incident becomes `stabilized`.
    pub async fn stand_down(&self, ctx: &Context, incident_id: i64, version: Option<i64>) -> Result<IncidentView, AppError> {
        let version = version.ok_or(AppError::VersionRequired)?;
        let row = self.load_incident(incident_id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Update, &incident_resource(&row)) {
            return Err(self.kernel.refuse(ctx, "incident.stand_down", "incident", Some(incident_id.to_string()), reason).await);
        }
        let status = IncidentStatus::parse("status", &row.fields.status)?;
        domain::incident::transition(status, IncidentStatus::Stabilized).map_err(AppError::InvalidTransition)?;
        let snapshot = self.registry_snapshot().await?;
        let situation = Self::situation(&row, &snapshot)?;
        let paths: BTreeMap<i64, JurisdictionPath> = snapshot.jurisdictions.iter().map(|j| (j.id.0, j.path.clone())).collect();
        let now = self.kernel.now_ms();
        let (activations, others, warnings, tasks) = {
            let mut reader = self.kernel.store().reader().await?;
            let mine: Vec<ActivationRow> =
                repo::activations_of(&mut reader.conn(), incident_id).await?.into_iter().filter(|a| a.stood_down_at.is_none()).collect();
            let others: Vec<JurisdictionId> = repo::active_activations(&mut reader.conn())
                .await?
                .iter()
                .filter(|a| a.incident_id != incident_id)
                .flat_map(|a| {
                    serde_json::from_str::<Value>(&a.scope)
                        .ok()
                        .and_then(|s| s["mode_jurisdictions"].as_array().cloned())
                        .unwrap_or_default()
                })
                .filter_map(|j| j.as_i64().map(JurisdictionId))
                .collect();
            let warnings: Vec<JurisdictionId> = store::warnings::warnings_in_force(&mut reader.conn(), now)
                .await?
                .iter()
                .filter(|w| w.fields.cap_status == "Actual")
                .map(|w| JurisdictionId(w.path.leaf().0))
                .collect();
            let tasks = store::tasks::tasks_of(&mut reader.conn(), "incident", incident_id).await?;
            (mine, others, warnings, tasks)
        };
        let open: Vec<plan::OpenTask> = tasks
            .iter()
            .filter(|t| matches!(t.status.as_str(), "open" | "acknowledged" | "in_progress"))
            .filter_map(|t| {
                let detail: Value = serde_json::from_str(&t.task.detail).ok()?;
                let key = detail["key"].as_str()?.to_string();
                let function = plan::Function::parse("function", t.task.function.as_deref()?).ok()?;
                Some(plan::OpenTask { key, function })
            })
            .collect();
        let mut mode_changes: Vec<(i64, String)> = Vec::new();
        let mut close_keys: Vec<String> = Vec::new();
        let mut new_tasks: Vec<NewTask> = Vec::new();
        for activation in &activations {
            let plan_row = {
                let mut reader = self.kernel.store().reader().await?;
                repo::get_plan(&mut reader.conn(), activation.plan_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Plan })?
            };
            let plan_doc = plan::parse(&plan_row.document).map_err(|e| malformed(&e))?;
            let scope_json: Value = serde_json::from_str(&activation.scope).unwrap_or_default();
            let ids = |key: &str| -> Vec<JurisdictionId> {
                scope_json[key].as_array().cloned().unwrap_or_default().iter().filter_map(|v| v.as_i64().map(JurisdictionId)).collect()
            };
            let scope = plan::ActiveScope {
                home: JurisdictionId(scope_json["home"].as_i64().unwrap_or(row.fields.jurisdiction_id)),
                affected: ids("affected"),
                mode_jurisdictions: ids("mode_jurisdictions"),
            };
            let level = ResponseLevel::parse("response_level", &activation.response_level).unwrap_or(ResponseLevel::Level4);
            let input =
                plan::StandDownInput { scope: &scope, level, open_tasks: &open, other_emergencies: &others, warnings_in_force: &warnings };
            let planned = plan::stand_down(&plan_doc, subtypes(), &snapshot, &situation, &input, ts(now)).map_err(|e| malformed(&e))?;
            mode_changes.extend(planned.modes.iter().map(|m| (m.jurisdiction.0, m.mode.code().to_string())));
            close_keys.extend(planned.close.iter().map(|key| format!("incident:{incident_id}:{key}")));
            for draft in &planned.tasks {
                let Some(path) = paths.get(&draft.jurisdiction.0) else { continue };
                let mut task = NewTask::simple(
                    "plan_action",
                    "incident",
                    incident_id,
                    format!("incident:{incident_id}:{}", draft.key),
                    draft.title_zh.clone(),
                    draft.title_en.clone(),
                    serde_json::json!({"plan": plan_row.code, "key": draft.key, "action": draft.action.as_str()}).to_string(),
                    draft.jurisdiction.0,
                    path.clone(),
                    draft.due.as_millisecond(),
                );
                task.owner_member_id = draft.owner.as_ref().and_then(|o| o.members.first().map(|m| m.0));
                task.owner_organization_id = draft.owner.as_ref().and_then(|o| o.organization.map(|o| o.0));
                task.function = Some(draft.function.code().to_string());
                task.escalate_at = Some(draft.escalation.at.as_millisecond());
                new_tasks.push(task);
            }
        }
        let (app, ctx2) = (self.clone(), ctx.clone());
        let activation_ids: Vec<i64> = activations.iter().map(|a| a.id).collect();
        let incident = self
            .kernel
            .transact(move |c| {
                Box::pin(async move {
                    let now = app.kernel.now_ms();
                    let current = repo::get_incident(c, incident_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    let mut fields = current.fields.clone();
                    fields.status = IncidentStatus::Stabilized.code().into();
                    match repo::update_incident(c, incident_id, version, &fields, now).await? {
                        Versioned::Done(_) => {}
                        Versioned::Conflict(current) => return Err(AppError::Conflict { current }),
                        Versioned::Missing => return Err(AppError::NotFound { kind: ResourceKind::Incident }),
                    }
                    for (jurisdiction, mode) in &mode_changes {
                        if let Some(old) = repo::set_jurisdiction_mode(c, *jurisdiction, mode, now).await?
                            && &old != mode
                        {
                            let path = store::registry::get_jurisdiction(c, *jurisdiction, false).await?.map(|j| j.path);
                            let payload = serde_json::json!({"id": jurisdiction, "from": old, "to": mode, "incident_id": incident_id});
                            store::events::append(
                                c,
                                &app.kernel.event(&ctx2, "jurisdiction.mode_changed", "jurisdiction", *jurisdiction, path.as_ref(), None, Classification::Public, payload),
                            )
                            .await?;
                        }
                    }
                    for task in store::tasks::tasks_of(c, "incident", incident_id).await? {
                        if close_keys.contains(&task.task.dedupe_key) && matches!(task.status.as_str(), "open" | "acknowledged" | "in_progress") {
                            if let Versioned::Done(_) = store::tasks::set_status(c, task.id, task.version, "cancelled", Some("stood down / 已终止响应"), now).await? {
                                if let Some(row) = store::tasks::get_task(c, task.id).await? {
                                    app.task_event(c, &ctx2, "task.closed", &row).await?;
                                }
                            }
                        }
                    }
                    for task in &new_tasks {
                        if let Some(row) = store::tasks::insert_if_absent(c, task, now).await? {
                            app.task_event(c, &ctx2, "task.created", &row).await?;
                        }
                    }
                    for id in &activation_ids {
                        repo::mark_stood_down(c, *id, &ctx2.actor_label, now).await?;
                    }
                    let incident = repo::get_incident(c, incident_id).await?.ok_or(AppError::NotFound { kind: ResourceKind::Incident })?;
                    let payload = serde_json::json!({"id": incident_id, "version": incident.version, "status": incident.fields.status, "modes": mode_changes});
                    store::events::append(
                        c,
                        &app.kernel.event(&ctx2, "incident.stood_down", "incident", incident_id, Some(&incident.fields.path), None, Classification::Internal, payload),
                    )
                    .await?;
                    store::audit::append(c, &app.kernel.audit(&ctx2, "incident.stand_down", "incident", Some(incident_id.to_string()))).await?;
                    if app.kernel.config().data.purge_at_stand_down {
                        let (reports, tasks) = purge_response_data(c, incident_id).await?;
                        let mut record = app.kernel.audit(&ctx2, "data.purge", "incident", Some(incident_id.to_string()));
                        record.details = serde_json::json!({"reports": reports, "tasks": tasks, "why": "Emergency Response Law Art. 85"});
                        store::audit::append(c, &record).await?;
                    }
                    Ok(Outcome::Done(incident))
                })
            })
            .await?;
        Ok(incident_view(ctx.locale, &incident))
    }

    /// The upward report, generated from the incident's data: what, where, when, grade, casualties, actions, needs.
    pub async fn upward_report(&self, ctx: &Context, incident_id: i64) -> Result<UpwardReportView, AppError> {
        let row = self.load_incident(incident_id).await?;
        if let Decision::Deny(reason) = decide(ctx, Action::Read, &incident_resource(&row)) {
            return Err(self.kernel.refuse(ctx, "incident.read", "incident", Some(incident_id.to_string()), reason).await);
        }
        let kind = kind_of(&row.fields)?;
        let (reports, tasks, events, home, command) = {
            let mut reader = self.kernel.store().reader().await?;
            let reports = repo::reports_of(&mut reader.conn(), incident_id).await?;
            let tasks = store::tasks::tasks_of(&mut reader.conn(), "incident", incident_id).await?;
            let events = repo::timeline(&mut reader.conn(), incident_id, 500).await?;
            let home = store::registry::get_jurisdiction(&mut reader.conn(), row.fields.jurisdiction_id, false).await?;
            let command = match row.fields.command_jurisdiction_id {
                Some(id) => store::registry::get_jurisdiction(&mut reader.conn(), id, false).await?,
                None => None,
            };
            (reports, tasks, events, home, command)
        };
        let name = |j: &Option<store::registry::JurisdictionRow>| {
            j.as_ref().map(|j| (j.name_zh.clone(), j.name_en.clone().unwrap_or_else(|| j.name_zh.clone()))).unwrap_or_default()
        };
        let place = reports.iter().find_map(|r| r.report.address.clone()).unwrap_or_else(|| row.fields.title_zh.clone());
        let actions: Vec<TimelineEntry> = tasks
            .iter()
            .filter(|t| t.status == "done")
            .map(|t| TimelineEntry {
                at: ts(t.closed_at.unwrap_or(t.updated_at)),
                text: match &t.evidence {
                    Some(evidence) => format!("{}：{evidence}", t.task.title_zh),
                    None => t.task.title_zh.clone(),
                },
            })
            .collect();
        let timeline: Vec<TimelineEntry> = events
            .iter()
            .filter(|e| e.subject_type == "incident")
            .map(|e| TimelineEntry { at: ts(e.at_ms), text: domain::i18n::text(Locale::ZhCn, &format!("event.{}", e.kind)).to_string() })
            .collect();
        let facts = domain::incident::IncidentFacts {
            reference: reference(incident_id),
            kind: kind.clone(),
            summary: row.fields.description.clone(),
            place,
            jurisdiction: name(&home),
            position: domain::geometry::GeoPoint::parse("", row.fields.lon, row.fields.lat).ok(),
            occurred_at: ts(row.fields.known_at),
            reported_at: ts(reports.iter().map(|r| r.created_at).min().unwrap_or(row.created_at)),
            scales: scales_of(&row.fields, kind.category()),
            figures: figures_of(&row.fields.figures),
            actions,
            needs: Vec::new(),
            timeline,
            source_reports: reports.len() as u32,
            reporting_unit: name(if command.is_some() { &command } else { &home }).0,
            contact: None,
        };
        let zone = jiff::tz::TimeZone::get(&self.kernel.config().default_timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        let schedule = ReportingSchedule::statutory_for(kind.category());
        let report = domain::incident::upward_report(&facts, subtypes(), &zone, schedule.as_ref(), &[]);
        let _ = Category::parse("category", &row.fields.category)?;
        Ok(UpwardReportView {
            text: report.text(ctx.locale),
            text_zh: report.text(Locale::ZhCn),
            text_en: report.text(Locale::En),
            items: report
                .items
                .iter()
                .map(|item| {
                    let (label, value) = match ctx.locale {
                        Locale::ZhCn => (item.label_zh.clone(), item.value_zh.clone()),
                        Locale::En => (item.label_en.clone(), item.value_en.clone()),
                    };
                    (item.key.to_string(), label, value)
                })
                .collect(),
        })
    }
}

/// The keys of personal details in a task's detail, removed by the purge.
const PERSONAL_KEYS: &[&str] = &["name", "phone", "email", "address", "needs", "households", "reporter"];

/// Purges the personal data an incident's response gathered, inside the stand-down's transaction; answers
/// (reports, tasks) purged. See [`DataConfig::purge_at_stand_down`].
pub(crate) async fn purge_response_data(c: &mut store::Conn<'_>, incident_id: i64) -> Result<(u64, u64), store::StoreError> {
    let reports = c
        .execute(
            "UPDATE reports SET reporter_name = NULL, reporter_phone = NULL, reporter_email = NULL
             WHERE incident_id = $1 AND (reporter_name IS NOT NULL OR reporter_phone IS NOT NULL OR reporter_email IS NOT NULL)",
            store::params![incident_id],
        )
        .await?;
    let mut tasks = 0;
    for task in store::tasks::tasks_of(c, "incident", incident_id).await? {
        let Ok(mut detail) = serde_json::from_str::<Value>(&task.task.detail) else { continue };
        let Some(object) = detail.as_object_mut() else { continue };
        let before = object.len();
        object.retain(|key, _| !PERSONAL_KEYS.contains(&key.as_str()));
        if object.len() != before {
            c.execute("UPDATE tasks SET detail = $1 WHERE id = $2", store::params![detail.to_string(), task.id]).await?;
            tasks += 1;
        }
    }
    Ok((reports, tasks))
}
