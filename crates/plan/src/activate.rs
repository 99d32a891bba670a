//! Activation and stand-down planning: from a plan, an incident's situation, the registry and a time, what the
//! response looks like — the response level, who commands, the modes to set, the responsibility matrix resolved to
//! organizations and members, and the task drafts with owners and due times. And at stand-down: which tasks close,
//! which stay, which modes return, and the stand-down tasks.
//!
//! Everything here is a pure function of its arguments: the application stores the result, creates the tasks and
//! notifies their owners; the same inputs always give the same plan, in the same order.

use std::collections::{BTreeMap, BTreeSet};

use domain::ids::{JurisdictionId, MemberId, OrganizationId};
use domain::incident::{Figures, IncidentKind, ReportingDeadline, ResponseLevel, Scales, SubtypeTable};
use domain::registry::{JurisdictionLevel, JurisdictionMode, MemberRole};
use jiff::Timestamp;

use crate::codes::{Anchor, Function, OverdueTarget, Phase};
use crate::error::PlanError;
use crate::lint::{Finding, LintCode, homes, unresolved_finding};
use crate::model::{ActionTemplate, Condition, HandTo, Ident, Party, Plan, PlanCode, RoleSelector, Version};
use crate::registry::{Availability, Index, JurisdictionEntry, RegistrySnapshot};

/// What is known about an incident when a plan is matched, activated or stood down.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation {
    /// What kind of incident.
    pub kind: IncidentKind,
    /// Its grade and the warning in force (the response level is what activation decides).
    pub scales: Scales,
    /// Casualties, affected households, readings.
    pub figures: Figures,
    /// The jurisdiction responsible for it, which activates the plan.
    pub home: JurisdictionId,
    /// The grids or communities affected (empty: the home jurisdiction itself).
    pub affected: Vec<JurisdictionId>,
    /// When the first tier knew of it: the reporting clocks start here.
    pub known_at: Timestamp,
}

/// Whether a plan applies to a situation, and the level its triggers call for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The plan's scope covers the incident's category, sub-type and jurisdiction.
    pub applies: bool,
    /// The most serious level among the triggers that hold.
    pub level: Option<ResponseLevel>,
    /// The triggers that hold, in document order.
    pub matched: Vec<Ident>,
}

/// The affected jurisdictions, expanded: the grids and communities inside affected areas, and the jurisdictions
/// between each affected one and the home.
struct Affected<'a> {
    inside: BTreeMap<JurisdictionId, &'a JurisdictionEntry>,
    outside: Vec<JurisdictionId>,
}

impl<'a> Affected<'a> {
    fn new(index: &Index<'a>, home: &'a JurisdictionEntry, affected: &[JurisdictionId]) -> Result<Affected<'a>, PlanError> {
        let mut inside = BTreeMap::new();
        let mut outside = Vec::new();
        let base: Vec<JurisdictionId> = if affected.is_empty() { vec![home.id] } else { affected.to_vec() };
        for id in base {
            let entry = index.jurisdiction(id).ok_or(PlanError::UnknownJurisdiction(id))?;
            if !home.path.contains(&entry.path) {
                outside.push(id);
                continue;
            }
            for level in [JurisdictionLevel::Community, JurisdictionLevel::Grid] {
                for below in index.within(entry.id, level) {
                    inside.insert(below.id, below);
                }
            }
            for above in index.self_and_ancestors(entry.id) {
                if !home.path.contains(&above.path) {
                    break;
                }
                inside.insert(above.id, above);
            }
        }
        outside.sort();
        outside.dedup();
        Ok(Affected { inside, outside })
    }

    fn of_level(&self, level: JurisdictionLevel) -> Vec<&'a JurisdictionEntry> {
        self.inside.values().copied().filter(|entry| entry.level == level).collect()
    }

    fn count(&self, level: JurisdictionLevel) -> usize {
        self.inside.values().filter(|entry| entry.level == level).count()
    }
}

struct Context<'s, 'a> {
    table: &'s SubtypeTable,
    situation: &'s Situation,
    affected: &'s Affected<'a>,
}

fn holds(condition: &Condition, context: &Context<'_, '_>) -> bool {
    let situation = context.situation;
    match condition {
        // An empty list never holds: the linter reports it, and a plan must not activate on nothing.
        Condition::All(inner) => !inner.is_empty() && inner.iter().all(|inner| holds(inner, context)),
        Condition::Any(inner) => inner.iter().any(|inner| holds(inner, context)),
        Condition::GradeAtLeast(grade) => situation.scales.grade().is_some_and(|actual| actual.at_least(*grade)),
        Condition::WarningAtLeast(level) => situation.scales.warning().is_some_and(|actual| actual.at_least(*level)),
        Condition::SubtypeIn(subtypes) => subtypes.iter().any(|subtype| context.table.is_within(situation.kind.subtype(), subtype)),
        Condition::AtLeast(threshold) => situation.figures.get(threshold.measure).is_some_and(|value| value >= threshold.value),
        Condition::AffectedAtLeast(affected) => context.affected.count(affected.level) >= affected.count as usize,
    }
}

fn covers(plan: &Plan, table: &SubtypeTable, index: &Index<'_>, situation: &Situation) -> bool {
    let kind = &situation.kind;
    plan.scope.categories.contains(&kind.category())
        && (plan.scope.subtypes.is_empty() || plan.scope.subtypes.iter().any(|subtype| table.is_within(kind.subtype(), subtype)))
        && homes(plan, index).iter().any(|home| home.id == situation.home)
}

fn evaluate_in(plan: &Plan, context: &Context<'_, '_>, applies: bool) -> Evaluation {
    let matched: Vec<&crate::model::Trigger> = plan.triggers.iter().filter(|trigger| holds(&trigger.when, context)).collect();
    Evaluation {
        applies,
        level: matched.iter().map(|trigger| trigger.response_level).reduce(ResponseLevel::most_serious),
        matched: matched.iter().map(|trigger| trigger.id.clone()).collect(),
    }
}

/// Whether `plan` applies to the situation and at which level its triggers would activate it.
pub fn evaluate(plan: &Plan, table: &SubtypeTable, registry: &RegistrySnapshot, situation: &Situation) -> Result<Evaluation, PlanError> {
    let index = Index::new(registry);
    let home = index.jurisdiction(situation.home).ok_or(PlanError::UnknownJurisdiction(situation.home))?;
    let affected = Affected::new(&index, home, &situation.affected)?;
    let context = Context { table, situation, affected: &affected };
    Ok(evaluate_in(plan, &context, covers(plan, table, &index, situation)))
}

/// The plans that apply to the situation, best first: triggered before untriggered, the more serious level first,
/// then the more specific scope (a plan for `urban_waterlogging` before one for `flood_drought`, a plan naming the
/// jurisdiction before one for its level), then by code. Each comes with its index in `plans`.
pub fn select(
    plans: &[Plan],
    table: &SubtypeTable,
    registry: &RegistrySnapshot,
    situation: &Situation,
) -> Result<Vec<(usize, Evaluation)>, PlanError> {
    let index = Index::new(registry);
    let home = index.jurisdiction(situation.home).ok_or(PlanError::UnknownJurisdiction(situation.home))?;
    let mut selected = Vec::new();
    for (position, plan) in plans.iter().enumerate() {
        let evaluation = evaluate(plan, table, registry, situation)?;
        if !evaluation.applies {
            continue;
        }
        let subtype_depth = plan
            .scope
            .subtypes
            .iter()
            .filter(|subtype| table.is_within(situation.kind.subtype(), subtype))
            .map(|subtype| table.lineage(subtype).len())
            .max()
            .unwrap_or(0);
        let named = plan.scope.jurisdictions.iter().any(|code| code == &home.code);
        let level_rank = evaluation.level.map(|level| level.rank()).unwrap_or(u8::MAX);
        selected.push(((level_rank, std::cmp::Reverse(subtype_depth), !named, plan.code.clone()), position, evaluation));
    }
    selected.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(selected.into_iter().map(|(_, position, evaluation)| (position, evaluation)).collect())
}

/// A party resolved to an organization and the members to notify, at one jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// What the plan asked for.
    pub party: Party,
    /// Where it was resolved: the home, or one affected grid or community.
    pub jurisdiction: JurisdictionId,
    /// The organization, if the party is or belongs to one.
    pub organization: Option<OrganizationId>,
    /// The members to notify; the first is the primary owner. Empty for an organization without registered members,
    /// which is reached through its own inbox.
    pub members: Vec<MemberId>,
}

impl Owner {
    fn same_people(&self, other: &Owner) -> bool {
        self.organization == other.organization && self.members == other.members
    }
}

/// The responsibility matrix of an activation, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixAssignment {
    /// The function.
    pub function: Function,
    /// The lead, once per anchor jurisdiction (one at home, or one per affected grid or community).
    pub lead: Vec<Owner>,
    /// The supporting parties.
    pub support: Vec<Owner>,
}

/// Why command passes to a higher level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandReason {
    /// The response level is more serious than the activating jurisdiction handles.
    LevelAboveCapacity {
        /// The response level.
        level: ResponseLevel,
        /// The most serious level the jurisdiction handles.
        handles_up_to: ResponseLevel,
    },
    /// A command escalation rule of the plan holds.
    Rule(Ident),
}

/// Who commands the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandDecision {
    /// The jurisdiction that commands: the home, or the level command was handed to.
    pub jurisdiction: JurisdictionId,
    /// Whether command passed up.
    pub escalated: bool,
    /// Why, if it did.
    pub reasons: Vec<CommandReason>,
    /// The command lead at the home jurisdiction (who commands locally, and hands over if command passes up).
    pub local_lead: Option<Owner>,
}

/// A jurisdiction's new mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModeChange {
    /// The jurisdiction.
    pub jurisdiction: JurisdictionId,
    /// Its mode from now.
    pub mode: JurisdictionMode,
}

/// Where an overdue task goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationTarget {
    /// To this owner.
    Owner(Owner),
    /// To the next level up: the jurisdiction above the home.
    NextLevel(JurisdictionId),
    /// Nowhere could be found; the duty officer must see it.
    Unresolved,
}

/// When and to whom a task escalates if it is not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationDraft {
    /// When: the due time plus the plan's grace.
    pub at: Timestamp,
    /// To whom.
    pub to: EscalationTarget,
}

/// A task to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDraft {
    /// A stable key: `<plan>/<action>` or `<plan>/<action>/<jurisdiction code>`; the idempotency key of creation.
    pub key: String,
    /// The action template it comes from.
    pub action: Ident,
    /// The function it serves.
    pub function: Function,
    /// The title in Chinese, with the grid or community for per-jurisdiction tasks.
    pub title_zh: String,
    /// The title in English.
    pub title_en: String,
    /// Where the task applies.
    pub jurisdiction: JurisdictionId,
    /// Who owns it; `None` when nobody could be found (a finding says so).
    pub owner: Option<Owner>,
    /// Who supports.
    pub support: Vec<Owner>,
    /// When it is due.
    pub due: Timestamp,
    /// The keys of the tasks that must be done first.
    pub after: Vec<String>,
    /// What happens if it is late.
    pub escalation: EscalationDraft,
}

/// The jurisdictions an activation touches: what the application stores to stand down later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveScope {
    /// The activating jurisdiction.
    pub home: JurisdictionId,
    /// The affected jurisdictions inside it, expanded (grids, communities and the levels between).
    pub affected: Vec<JurisdictionId>,
    /// The jurisdictions whose mode the activation set.
    pub mode_jurisdictions: Vec<JurisdictionId>,
}

/// Everything an activation sets in motion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The plan's code.
    pub plan: PlanCode,
    /// The plan's version.
    pub version: Version,
    /// When it was activated.
    pub activated_at: Timestamp,
    /// The level the triggers call for, if any.
    pub triggered_level: Option<ResponseLevel>,
    /// The level in force: the one asked for, or the triggered one.
    pub response_level: ResponseLevel,
    /// The triggers that hold.
    pub matched_triggers: Vec<Ident>,
    /// Who commands.
    pub command: CommandDecision,
    /// The modes to set.
    pub modes: Vec<ModeChange>,
    /// The responsibility matrix, resolved.
    pub matrix: Vec<MatrixAssignment>,
    /// The tasks to create, by due time then key.
    pub tasks: Vec<TaskDraft>,
    /// The deadlines of the plan's reporting chain, from the first knowledge.
    pub reporting: Vec<ReportingDeadline>,
    /// The deadlines of the statute's reporting chain, if the plan names one.
    pub statutory_reporting: Vec<ReportingDeadline>,
    /// The jurisdictions touched.
    pub scope: ActiveScope,
    /// What could not be resolved: owners nobody fills, affected areas outside the home, missing escalation targets.
    pub findings: Vec<Finding>,
}

/// The part of planning shared by activation and stand-down.
struct Planner<'s, 'a> {
    plan: &'s Plan,
    index: &'s Index<'a>,
    home: &'a JurisdictionEntry,
    affected: &'s Affected<'a>,
    context: Context<'s, 'a>,
    findings: Vec<Finding>,
}

impl<'s, 'a> Planner<'s, 'a> {
    fn anchors(&self, anchor: Anchor) -> Vec<&'a JurisdictionEntry> {
        match anchor {
            Anchor::Home => vec![self.home],
            Anchor::EachAffectedGrid => self.affected.of_level(JurisdictionLevel::Grid),
            Anchor::EachAffectedCommunity => self.affected.of_level(JurisdictionLevel::Community),
        }
    }

    /// Where a party anchored at `anchor` is looked for, for a task at `at`: the home, the task's own grid or
    /// community, the community containing the task's grid, or the affected grids inside the task's community.
    fn anchors_for(&self, anchor: Anchor, at: &'a JurisdictionEntry) -> Vec<&'a JurisdictionEntry> {
        let level = match anchor {
            Anchor::Home => return vec![self.home],
            Anchor::EachAffectedGrid => JurisdictionLevel::Grid,
            Anchor::EachAffectedCommunity => JurisdictionLevel::Community,
        };
        if at.level == level {
            return vec![at];
        }
        if let Some(above) = self.index.self_and_ancestors(at.id).into_iter().find(|entry| entry.level == level) {
            return vec![above];
        }
        self.anchors(anchor).into_iter().filter(|entry| at.path.contains(&entry.path)).collect()
    }

    fn resolve(&mut self, party: &Party, at: &'a JurisdictionEntry, path: &str) -> Option<Owner> {
        match self.index.resolve(party, at.id, Availability::Callable) {
            Ok(resolution) => Some(Owner {
                party: party.clone(),
                jurisdiction: at.id,
                organization: resolution.organization,
                members: resolution.members,
            }),
            Err(unresolved) => {
                self.findings.push(unresolved_finding(path, &unresolved, at));
                None
            }
        }
    }

    fn command_lead(&mut self) -> Option<Owner> {
        let position = self.plan.matrix.iter().position(|row| row.function == Function::Command)?;
        let lead = self.plan.matrix[position].lead.clone()?;
        let home = self.home;
        self.resolve(&lead, home, &format!("matrix[{position}].lead"))
    }

    fn matrix(&mut self) -> Vec<MatrixAssignment> {
        let mut assignments = Vec::new();
        for (position, row) in self.plan.matrix.iter().enumerate() {
            let mut lead = Vec::new();
            if let Some(party) = &row.lead {
                for at in self.anchors(party.at) {
                    lead.extend(self.resolve(party, at, &format!("matrix[{position}].lead")));
                }
            }
            let mut support = Vec::new();
            for (support_position, party) in row.support.iter().enumerate() {
                for at in self.anchors(party.at) {
                    support.extend(self.resolve(party, at, &format!("matrix[{position}].support[{support_position}]")));
                }
            }
            assignments.push(MatrixAssignment { function: row.function, lead, support });
        }
        assignments
    }

    fn command(&mut self, level: ResponseLevel) -> CommandDecision {
        let mut reasons = Vec::new();
        let mut targets: Vec<&'a JurisdictionEntry> = Vec::new();
        let ancestors = self.index.self_and_ancestors(self.home.id);
        let parent = ancestors.get(1).copied();
        let handles_up_to = self.plan.escalation.handles_up_to;
        if !handles_up_to.at_least(level) {
            reasons.push(CommandReason::LevelAboveCapacity { level, handles_up_to });
            match parent {
                Some(parent) => targets.push(parent),
                None => self.findings.push(Finding::new(
                    LintCode::EscalationTargetMissing,
                    "escalation.handles_up_to",
                    vec![("level", "next_level".into()), ("jurisdiction", self.home.code.as_str().to_string())],
                )),
            }
        }
        for (position, rule) in self.plan.escalation.command.iter().enumerate() {
            if !holds(&rule.when, &self.context) {
                continue;
            }
            reasons.push(CommandReason::Rule(rule.id.clone()));
            let target = match rule.to {
                HandTo::NextLevel => parent,
                HandTo::Level(level) => {
                    ancestors.iter().copied().find(|entry| entry.level == level && entry.level.rank() < self.home.level.rank())
                }
            };
            match target {
                Some(target) => targets.push(target),
                None => {
                    let level = match rule.to {
                        HandTo::NextLevel => "next_level".to_string(),
                        HandTo::Level(level) => level.code().to_string(),
                    };
                    self.findings.push(Finding::new(
                        LintCode::EscalationTargetMissing,
                        format!("escalation.command[{position}].to"),
                        vec![("level", level), ("jurisdiction", self.home.code.as_str().to_string())],
                    ));
                }
            }
        }
        // The widest level asked for takes command.
        let commanding = targets.into_iter().min_by_key(|entry| entry.path.ids().len()).unwrap_or(self.home);
        let local_lead = self.command_lead();
        CommandDecision { jurisdiction: commanding.id, escalated: commanding.id != self.home.id, reasons, local_lead }
    }

    /// The superior of an owner: the parent organization of an organization; for people below the home, the cadre
    /// of their community or the duty officer above; otherwise the command lead, or the next level for the command
    /// lead itself.
    fn superior(&mut self, owner: &Owner) -> EscalationTarget {
        if let Some(organization) = owner.organization {
            let parent = self.index.snapshot.organizations.iter().find(|org| org.id == organization).and_then(|org| org.parent);
            if let Some(parent) = parent.and_then(|parent| self.index.snapshot.organizations.iter().find(|org| org.id == parent))
                && let Some(at) = self.index.jurisdiction(parent.jurisdiction)
            {
                let party = Party {
                    organization: Some(crate::model::OrganizationSelector::Code(parent.code.clone())),
                    role: None,
                    at: Anchor::Home,
                };
                if let Ok(resolution) = self.index.resolve(&party, at.id, Availability::Callable) {
                    return EscalationTarget::Owner(Owner {
                        party,
                        jurisdiction: at.id,
                        organization: resolution.organization,
                        members: resolution.members,
                    });
                }
            }
        }
        if owner.jurisdiction != self.home.id {
            for above in self.index.self_and_ancestors(owner.jurisdiction).into_iter().skip(1) {
                let role = if above.level == JurisdictionLevel::Community { MemberRole::Cadre } else { MemberRole::DutyOfficer };
                let party = Party { organization: None, role: Some(RoleSelector::Member(role)), at: Anchor::Home };
                let found: Vec<MemberId> = self
                    .index
                    .snapshot
                    .members
                    .iter()
                    .filter(|member| member.jurisdiction == above.id && member.roles.contains(&role))
                    .filter(|member| {
                        matches!(member.status, domain::registry::MemberStatus::Active | domain::registry::MemberStatus::Deployed)
                    })
                    .map(|member| member.id)
                    .collect();
                if !found.is_empty() {
                    return EscalationTarget::Owner(Owner { party, jurisdiction: above.id, organization: None, members: found });
                }
                if above.id == self.home.id {
                    break;
                }
            }
        }
        self.command_or_next_level(owner)
    }

    fn command_or_next_level(&mut self, owner: &Owner) -> EscalationTarget {
        match self.command_lead() {
            Some(lead) if !lead.same_people(owner) => EscalationTarget::Owner(lead),
            _ => match self.index.parent(self.home.id) {
                Some(parent) => EscalationTarget::NextLevel(parent.id),
                None => EscalationTarget::Unresolved,
            },
        }
    }

    fn escalation_target(&mut self, action: &ActionTemplate, owner: Option<&Owner>, at: &'a JurisdictionEntry) -> EscalationTarget {
        let Some(owner) = owner else { return self.command_lead().map(EscalationTarget::Owner).unwrap_or(EscalationTarget::Unresolved) };
        match self.plan.escalation.overdue.to {
            OverdueTarget::Superior => self.superior(owner),
            OverdueTarget::CommandLead => self.command_or_next_level(owner),
            OverdueTarget::FunctionLead => {
                let lead = self.plan.responsibility(action.function).and_then(|row| row.lead.clone());
                let target = lead.and_then(|lead| {
                    let anchor = self.anchors_for(lead.at, at).into_iter().next()?;
                    self.index.resolve(&lead, anchor.id, Availability::Callable).ok().map(|resolution| Owner {
                        party: lead.clone(),
                        jurisdiction: anchor.id,
                        organization: resolution.organization,
                        members: resolution.members,
                    })
                });
                match target {
                    Some(target) if !target.same_people(owner) => EscalationTarget::Owner(target),
                    _ => self.superior(owner),
                }
            }
        }
    }

    /// The task drafts of the actions of `phase` that apply at `level`, due from `start`.
    fn tasks(&mut self, phase: Phase, level: ResponseLevel, start: Timestamp) -> Vec<TaskDraft> {
        let plan = self.plan;
        let mut drafts: Vec<TaskDraft> = Vec::new();
        let mut keys_by_action: BTreeMap<&Ident, Vec<(JurisdictionId, String)>> = BTreeMap::new();
        let selected: Vec<(usize, &ActionTemplate)> = plan
            .actions
            .iter()
            .enumerate()
            .filter(|(_, action)| action.phase == phase)
            .filter(|(_, action)| action.from_level.is_none_or(|from| level.at_least(from)))
            .filter(|(_, action)| action.when.as_ref().is_none_or(|when| holds(when, &self.context)))
            .collect();
        for (position, action) in &selected {
            let row = plan.responsibility(action.function);
            let Some(owner_party) = action.owner.clone().or_else(|| row.and_then(|row| row.lead.clone())) else {
                self.findings.push(Finding::new(
                    LintCode::ActionWithoutOwner,
                    format!("actions[{position}]"),
                    vec![("action", action.id.to_string())],
                ));
                continue;
            };
            let owner_path = if action.owner.is_some() {
                format!("actions[{position}].owner")
            } else {
                let row_position = plan.matrix.iter().position(|row| row.function == action.function).unwrap_or(0);
                format!("matrix[{row_position}].lead")
            };
            let anchors = self.anchors(owner_party.at);
            for at in anchors {
                let owner = self.resolve(&owner_party, at, &owner_path);
                if owner.is_none() {
                    self.findings.push(Finding::new(
                        LintCode::OwnerUnresolved,
                        format!("actions[{position}]"),
                        vec![("action", action.id.to_string()), ("jurisdiction", at.code.as_str().to_string())],
                    ));
                }
                let mut support = Vec::new();
                if let Some(row) = row {
                    let row_position = plan.matrix.iter().position(|candidate| candidate.function == row.function).unwrap_or(0);
                    for (support_position, party) in row.support.iter().enumerate() {
                        for support_at in self.anchors_for(party.at, at) {
                            support.extend(self.resolve(party, support_at, &format!("matrix[{row_position}].support[{support_position}]")));
                        }
                    }
                }
                let per_jurisdiction = owner_party.at != Anchor::Home;
                let key = if per_jurisdiction {
                    format!("{}/{}/{}", plan.code, action.id, at.code.as_str())
                } else {
                    format!("{}/{}", plan.code, action.id)
                };
                let (title_zh, title_en) = if per_jurisdiction {
                    (
                        format!("{}（{}）", action.title.zh(), at.name(domain::Locale::ZhCn)),
                        format!("{} ({})", action.title.en(), at.name(domain::Locale::En)),
                    )
                } else {
                    (action.title.zh().to_string(), action.title.en().to_string())
                };
                let due = start.checked_add(action.within_minutes.duration()).unwrap_or(Timestamp::MAX);
                let escalation_at = due.checked_add(plan.escalation.overdue.after_minutes.duration()).unwrap_or(Timestamp::MAX);
                let to = self.escalation_target(action, owner.as_ref(), at);
                keys_by_action.entry(&action.id).or_default().push((at.id, key.clone()));
                drafts.push(TaskDraft {
                    key,
                    action: action.id.clone(),
                    function: action.function,
                    title_zh,
                    title_en,
                    jurisdiction: at.id,
                    owner,
                    support,
                    due,
                    after: Vec::new(),
                    escalation: EscalationDraft { at: escalation_at, to },
                });
            }
        }
        // Prerequisites: a task waits for the prerequisite's tasks in its own part of the tree (the grids of its
        // community, the community of its grid, the same jurisdiction), or for all of them when none is there.
        let related = |a: JurisdictionId, b: JurisdictionId| match (self.index.jurisdiction(a), self.index.jurisdiction(b)) {
            (Some(a), Some(b)) => a.path.contains(&b.path) || b.path.contains(&a.path),
            _ => a == b,
        };
        for draft in &mut drafts {
            let Some(action) = plan.action(&draft.action) else { continue };
            let mut after = BTreeSet::new();
            for prerequisite in &action.after {
                let Some(keys) = keys_by_action.get(prerequisite) else { continue };
                let nearby: Vec<&String> = keys.iter().filter(|(at, _)| related(*at, draft.jurisdiction)).map(|(_, key)| key).collect();
                if nearby.is_empty() {
                    after.extend(keys.iter().map(|(_, key)| key.clone()));
                } else {
                    after.extend(nearby.into_iter().cloned());
                }
            }
            draft.after = after.into_iter().collect();
        }
        drafts.sort_by(|a, b| (a.due, &a.key).cmp(&(b.due, &b.key)));
        drafts
    }
}

fn sorted_findings(findings: Vec<Finding>) -> Vec<Finding> {
    let set: BTreeSet<Finding> = findings.into_iter().collect();
    set.into_iter().collect()
}

/// Activates `plan` for a situation at `at`. The level is `requested` if given (a duty officer may set it), otherwise
/// the most serious level among the triggers that hold. Fails if the jurisdiction is unknown, the plan does not
/// cover the situation, or nothing triggers it and no level is requested.
pub fn activate(
    plan: &Plan,
    table: &SubtypeTable,
    registry: &RegistrySnapshot,
    situation: &Situation,
    at: Timestamp,
    requested: Option<ResponseLevel>,
) -> Result<Activation, PlanError> {
    let index = Index::new(registry);
    let home = index.jurisdiction(situation.home).ok_or(PlanError::UnknownJurisdiction(situation.home))?;
    let affected = Affected::new(&index, home, &situation.affected)?;
    let context = Context { table, situation, affected: &affected };
    if !covers(plan, table, &index, situation) {
        return Err(PlanError::NotApplicable { plan: plan.code.to_string() });
    }
    let evaluation = evaluate_in(plan, &context, true);
    let level = requested.or(evaluation.level).ok_or_else(|| PlanError::NotTriggered { plan: plan.code.to_string() })?;
    let mut planner = Planner { plan, index: &index, home, affected: &affected, context, findings: Vec::new() };
    for outside in &affected.outside {
        let code = index.jurisdiction(*outside).map(|entry| entry.code.as_str().to_string()).unwrap_or_default();
        planner.findings.push(Finding::new(
            LintCode::AffectedOutsideHome,
            "",
            vec![("jurisdiction", code), ("home", home.code.as_str().to_string())],
        ));
    }
    let command = planner.command(level);
    let matrix = planner.matrix();
    let tasks = planner.tasks(Phase::Activation, level, at);
    let mode_jurisdictions: Vec<JurisdictionId> = affected.inside.keys().copied().collect();
    let modes =
        mode_jurisdictions.iter().map(|jurisdiction| ModeChange { jurisdiction: *jurisdiction, mode: plan.modes.on_activation }).collect();
    let reporting = plan.reporting_schedule().map(|schedule| schedule.deadlines(situation.known_at, &[])).unwrap_or_default();
    let statutory_reporting =
        plan.reporting.statute.map(|statute| statute.schedule().deadlines(situation.known_at, &[])).unwrap_or_default();
    Ok(Activation {
        plan: plan.code.clone(),
        version: plan.version,
        activated_at: at,
        triggered_level: evaluation.level,
        response_level: level,
        matched_triggers: evaluation.matched,
        command,
        modes,
        matrix,
        tasks,
        reporting,
        statutory_reporting,
        scope: ActiveScope { home: home.id, affected: affected.inside.keys().copied().collect(), mode_jurisdictions },
        findings: sorted_findings(planner.findings),
    })
}

/// A task still open at stand-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTask {
    /// The task's key (from its draft).
    pub key: String,
    /// Its function.
    pub function: Function,
}

/// What the application knows at stand-down, beyond the plan and the situation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandDownInput<'a> {
    /// The scope stored at activation.
    pub scope: &'a ActiveScope,
    /// The response level that was in force.
    pub level: ResponseLevel,
    /// The tasks still open.
    pub open_tasks: &'a [OpenTask],
    /// Jurisdictions that other active plans keep in emergency mode.
    pub other_emergencies: &'a [JurisdictionId],
    /// Jurisdictions under a warning in force (the warning's area covers their subtree).
    pub warnings_in_force: &'a [JurisdictionId],
}

/// What stand-down does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandDownPlan {
    /// The modes the jurisdictions return to.
    pub modes: Vec<ModeChange>,
    /// The keys of open tasks to close.
    pub close: Vec<String>,
    /// The keys of open tasks that stay open (their functions outlive the response).
    pub keep: Vec<String>,
    /// The stand-down tasks to create, due from the stand-down.
    pub tasks: Vec<TaskDraft>,
    /// What could not be resolved.
    pub findings: Vec<Finding>,
}

/// Plans the stand-down of an activation of `plan` at `at`: each jurisdiction whose mode the activation set returns
/// to emergency if another plan still holds it, to heightened if a warning covers it, and to peacetime otherwise;
/// open tasks close unless the plan keeps their function; the plan's stand-down actions become tasks.
pub fn stand_down(
    plan: &Plan,
    table: &SubtypeTable,
    registry: &RegistrySnapshot,
    situation: &Situation,
    input: &StandDownInput<'_>,
    at: Timestamp,
) -> Result<StandDownPlan, PlanError> {
    let index = Index::new(registry);
    let home = index.jurisdiction(input.scope.home).ok_or(PlanError::UnknownJurisdiction(input.scope.home))?;
    let affected = Affected::new(&index, home, &input.scope.affected)?;
    let context = Context { table, situation, affected: &affected };
    let mut planner = Planner { plan, index: &index, home, affected: &affected, context, findings: Vec::new() };
    let warned: Vec<&JurisdictionEntry> = input.warnings_in_force.iter().filter_map(|id| index.jurisdiction(*id)).collect();
    let mut modes = Vec::new();
    for jurisdiction in &input.scope.mode_jurisdictions {
        let Some(entry) = index.jurisdiction(*jurisdiction) else { return Err(PlanError::UnknownJurisdiction(*jurisdiction)) };
        let mode = if input.other_emergencies.contains(jurisdiction) {
            JurisdictionMode::Emergency
        } else if warned.iter().any(|warning| warning.path.contains(&entry.path)) {
            JurisdictionMode::Heightened
        } else {
            JurisdictionMode::Peacetime
        };
        modes.push(ModeChange { jurisdiction: *jurisdiction, mode });
    }
    modes.sort();
    let (keep, close): (Vec<&OpenTask>, Vec<&OpenTask>) =
        input.open_tasks.iter().partition(|task| plan.stand_down.keep_functions.contains(&task.function));
    let tasks = planner.tasks(Phase::StandDown, input.level, at);
    let mut keep: Vec<String> = keep.into_iter().map(|task| task.key.clone()).collect();
    let mut close: Vec<String> = close.into_iter().map(|task| task.key.clone()).collect();
    keep.sort();
    close.sort();
    Ok(StandDownPlan { modes, close, keep, tasks, findings: sorted_findings(planner.findings) })
}
