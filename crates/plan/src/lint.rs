//! The plan linter: given a plan, the sub-type table and a registry snapshot, the gaps that would leave work without
//! an owner or make a deadline impossible — functions nobody leads, roles nobody holds where they are needed,
//! organizations that do not exist, deadlines before their prerequisites, reporting chains slower than the law.
//!
//! Every finding has a stable code, a severity, the path of the part of the document at fault and the parameters of
//! its message in both languages. The linter never fails: a plan is data, and its gaps are data too.

use std::collections::{BTreeMap, BTreeSet};

use domain::coded_enum;
use domain::i18n::{self, Locale};
use domain::incident::{Category, SubtypeTable};
use domain::registry::JurisdictionLevel;

use crate::codes::{Anchor, Function, Phase};
use crate::model::{Condition, HandTo, Party, Plan};
use crate::registry::{Availability, Index, JurisdictionEntry, RegistrySnapshot, Unresolved};

coded_enum! {
    /// What a finding is about. Each code has a short label (`plan_lint.<code>`) and a message with parameters
    /// (`plan_lint_message.<code>`) in both catalogs.
    LintCode, "plan_lint" {
        /// A sub-type code the table does not have.
        UnknownSubtype = "unknown_subtype",
        /// A sub-type outside the plan's categories.
        SubtypeOutsideScope = "subtype_outside_scope",
        /// A grade or warning condition in a plan for social security events only, which have neither.
        ScaleNotApplicable = "scale_not_applicable",
        /// The scope names neither levels nor jurisdictions.
        NoPlaceInScope = "no_place_in_scope",
        /// A jurisdiction code the registry does not have.
        UnknownJurisdiction = "unknown_jurisdiction",
        /// No jurisdiction of the registry can activate the plan.
        NoJurisdictionInScope = "no_jurisdiction_in_scope",
        /// The plan has no trigger.
        NoTriggers = "no_triggers",
        /// An `all` or `any` with nothing in it.
        EmptyCondition = "empty_condition",
        /// An organization code the registry does not have.
        UnknownOrganization = "unknown_organization",
        /// No organization of the sector at or above a jurisdiction.
        NoOrganizationForSector = "no_organization_for_sector",
        /// No organization of the kind at or above a jurisdiction.
        NoOrganizationOfKind = "no_organization_of_kind",
        /// Nobody holds the role in a jurisdiction.
        RoleNotHeld = "role_not_held",
        /// A party anchored at affected grids or communities, in a jurisdiction that has none.
        NoJurisdictionForAnchor = "no_jurisdiction_for_anchor",
        /// A function of the matrix with no lead.
        FunctionWithoutLead = "function_without_lead",
        /// A function listed twice in the matrix.
        DuplicateFunction = "duplicate_function",
        /// Command or upward reporting is not in the matrix.
        MissingEssentialFunction = "missing_essential_function",
        /// An action for a function the matrix does not list.
        ActionFunctionNotInMatrix = "action_function_not_in_matrix",
        /// An action without an owner of its own whose function has no lead.
        ActionWithoutOwner = "action_without_owner",
        /// The same id twice among triggers, actions or escalation rules.
        DuplicateId = "duplicate_id",
        /// A prerequisite that is not an action of the plan.
        UnknownPrerequisite = "unknown_prerequisite",
        /// Actions that wait for each other.
        PrerequisiteCycle = "prerequisite_cycle",
        /// An action due before one of its prerequisites.
        DueBeforePrerequisite = "due_before_prerequisite",
        /// An action whose level no trigger reaches.
        ActionLevelNeverReached = "action_level_never_reached",
        /// A supporting party that is also the lead.
        SupportSameAsLead = "support_same_as_lead",
        /// The reporting chain is not a chain.
        ReportingChainBroken = "reporting_chain_broken",
        /// An overall reporting deadline the chain cannot meet.
        ReportingDeadlineUnreachable = "reporting_deadline_unreachable",
        /// A reporting step slower than the statute allows.
        ReportingLooserThanStatute = "reporting_looser_than_statute",
        /// The plan's categories have a statutory reporting clock the plan does not name.
        StatuteMissing = "statute_missing",
        /// A reporting action aimed at a tier the chain does not reach.
        ReportsToNotInChain = "reports_to_not_in_chain",
        /// A reporting action due after the chain's deadline for its tier.
        ReportActionAfterDeadline = "report_action_after_deadline",
        /// A reporting action whose overdue escalation comes after the deadline it protects.
        ReportingEscalationTooLate = "reporting_escalation_too_late",
        /// A command escalation to a level that is not above the jurisdiction.
        EscalationTargetMissing = "escalation_target_missing",
        /// At activation: a task whose owner could not be found.
        OwnerUnresolved = "owner_unresolved",
        /// At activation: an affected jurisdiction outside the activating one.
        AffectedOutsideHome = "affected_outside_home",
    }
}

coded_enum! {
    /// How serious a finding is.
    Severity, "plan_severity" {
        /// The plan must not be published or activated as it is: work would have no owner, or a deadline cannot be met.
        Error = "error",
        /// Worth fixing; the plan still works.
        Warning = "warning",
    }
}

impl LintCode {
    /// The severity of findings with this code.
    pub fn severity(self) -> Severity {
        use LintCode::*;
        match self {
            NoJurisdictionInScope
            | ActionLevelNeverReached
            | SupportSameAsLead
            | StatuteMissing
            | ReportingEscalationTooLate
            | AffectedOutsideHome => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One gap found in a plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The path of the part of the document at fault (`matrix[3].lead`).
    pub path: String,
    /// What the finding is about.
    pub code: LintCode,
    /// How serious it is.
    pub severity: Severity,
    /// The parameters of the message, by name.
    pub params: Vec<(&'static str, String)>,
}

impl Finding {
    pub(crate) fn new(code: LintCode, path: impl Into<String>, params: Vec<(&'static str, String)>) -> Finding {
        Finding { path: path.into(), code, severity: code.severity(), params }
    }

    /// The message in `locale`. Parameters that are codes of a closed set are shown as their labels.
    pub fn message(&self, locale: Locale) -> String {
        let params: Vec<(&str, String)> = self.params.iter().map(|(name, value)| (*name, label_of(name, value, locale))).collect();
        i18n::format(locale, &format!("plan_lint_message.{}", self.code.code()), &params)
    }
}

/// The label of a parameter's value when the parameter holds a code of a known set; the value itself otherwise.
fn label_of(name: &str, value: &str, locale: Locale) -> String {
    use domain::incident::{ReportingTier, ResponseLevel};
    use domain::registry::{MemberRole, OrganizationKind, Sector};
    let label = match name {
        "function" => Function::parse(name, value).ok().map(|v| v.label(locale)),
        "sector" => Sector::parse(name, value).ok().map(|v| v.label(locale)),
        "kind" => OrganizationKind::parse(name, value)
            .ok()
            .map(|v| v.label(locale))
            .or_else(|| (value == "any").then(|| i18n::text(locale, "plan_text.any_kind"))),
        "role" => MemberRole::parse(name, value)
            .ok()
            .map(|v| v.label(locale))
            .or_else(|| domain::policy::AccountRole::parse(name, value).ok().map(|v| v.label(locale))),
        "level" => ResponseLevel::parse(name, value)
            .ok()
            .map(|v| v.label(locale))
            .or_else(|| JurisdictionLevel::parse(name, value).ok().map(|v| v.label(locale)))
            .or_else(|| (value == "next_level").then(|| i18n::text(locale, "plan_text.next_level"))),
        "to" | "tier" => ReportingTier::parse(name, value).ok().map(|v| v.label(locale)),
        "category" => Category::parse(name, value).ok().map(|v| v.label(locale)),
        "statute" => crate::codes::Statute::parse(name, value).ok().map(|v| v.label(locale)),
        "anchor" => Anchor::parse(name, value).ok().map(|v| v.label(locale)),
        _ => None,
    };
    label.map(str::to_string).unwrap_or_else(|| value.to_string())
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|finding| finding.severity == Severity::Error)
}

/// The jurisdictions that may activate `plan`: those its scope names by code, and every jurisdiction of its levels.
pub(crate) fn homes<'a>(plan: &Plan, index: &Index<'a>) -> Vec<&'a JurisdictionEntry> {
    let mut homes: BTreeMap<domain::ids::JurisdictionId, &JurisdictionEntry> = BTreeMap::new();
    for code in &plan.scope.jurisdictions {
        if let Some(entry) = index.jurisdiction_by_code(code.as_str()) {
            homes.insert(entry.id, entry);
        }
    }
    for level in &plan.scope.levels {
        for entry in index.jurisdictions_of_level(*level) {
            homes.insert(entry.id, entry);
        }
    }
    homes.into_values().collect()
}

/// The jurisdictions a party anchored at `anchor` is looked for in, for an incident of `home` (all grids or
/// communities below it, or the home itself).
pub(crate) fn anchor_jurisdictions<'a>(index: &Index<'a>, home: &'a JurisdictionEntry, anchor: Anchor) -> Vec<&'a JurisdictionEntry> {
    match anchor {
        Anchor::Home => vec![home],
        Anchor::EachAffectedGrid => index.within(home.id, JurisdictionLevel::Grid),
        Anchor::EachAffectedCommunity => index.within(home.id, JurisdictionLevel::Community),
    }
}

/// The finding for a party that could not be resolved at `jurisdiction`.
pub(crate) fn unresolved_finding(path: &str, unresolved: &Unresolved, jurisdiction: &JurisdictionEntry) -> Finding {
    let place = ("jurisdiction", jurisdiction.code.as_str().to_string());
    match unresolved {
        Unresolved::UnknownOrganization(code) => {
            Finding::new(LintCode::UnknownOrganization, path, vec![("code", code.as_str().to_string())])
        }
        Unresolved::NoSector(sector, kind) => Finding::new(
            LintCode::NoOrganizationForSector,
            path,
            vec![("sector", sector.code().to_string()), ("kind", kind.map(|kind| kind.code()).unwrap_or("any").to_string()), place],
        ),
        Unresolved::NoKind(kind) => Finding::new(LintCode::NoOrganizationOfKind, path, vec![("kind", kind.code().to_string()), place]),
        Unresolved::NoRole(role) => {
            let role = match role {
                crate::model::RoleSelector::Member(role) => role.code(),
                crate::model::RoleSelector::Account(role) => role.code(),
            };
            Finding::new(LintCode::RoleNotHeld, path, vec![("role", role.to_string()), place])
        }
    }
}

/// Lints a plan against the sub-type table and a registry snapshot. Findings are sorted by path, then code, and
/// each appears once.
pub fn lint(plan: &Plan, table: &SubtypeTable, registry: &RegistrySnapshot) -> Vec<Finding> {
    let index = Index::new(registry);
    let mut findings = BTreeSet::new();
    let mut add = |finding: Finding| {
        findings.insert(finding);
    };
    lint_scope(plan, table, &index, &mut add);
    lint_conditions(plan, table, &mut add);
    lint_matrix(plan, &mut add);
    lint_actions(plan, &mut add);
    lint_parties(plan, &index, &mut add);
    lint_reporting(plan, &mut add);
    lint_escalation(plan, &index, &mut add);
    findings.into_iter().collect()
}

fn lint_scope(plan: &Plan, table: &SubtypeTable, index: &Index<'_>, add: &mut impl FnMut(Finding)) {
    for (position, subtype) in plan.scope.subtypes.iter().enumerate() {
        check_subtype(plan, table, subtype, &format!("scope.subtypes[{position}]"), add);
    }
    if plan.scope.levels.is_empty() && plan.scope.jurisdictions.is_empty() {
        add(Finding::new(LintCode::NoPlaceInScope, "scope", Vec::new()));
    }
    for (position, code) in plan.scope.jurisdictions.iter().enumerate() {
        if index.jurisdiction_by_code(code.as_str()).is_none() {
            add(Finding::new(
                LintCode::UnknownJurisdiction,
                format!("scope.jurisdictions[{position}]"),
                vec![("code", code.as_str().to_string())],
            ));
        }
    }
    if (!plan.scope.levels.is_empty() || !plan.scope.jurisdictions.is_empty()) && homes(plan, index).is_empty() {
        add(Finding::new(LintCode::NoJurisdictionInScope, "scope", Vec::new()));
    }
}

fn check_subtype(plan: &Plan, table: &SubtypeTable, subtype: &domain::incident::SubtypeCode, path: &str, add: &mut impl FnMut(Finding)) {
    match table.get(subtype) {
        None => add(Finding::new(LintCode::UnknownSubtype, path, vec![("subtype", subtype.as_str().to_string())])),
        Some(entry) if !plan.scope.categories.contains(&entry.category) => add(Finding::new(
            LintCode::SubtypeOutsideScope,
            path,
            vec![
                ("subtype", subtype.as_str().to_string()),
                ("categories", plan.scope.categories.iter().map(|category| category.code()).collect::<Vec<_>>().join(", ")),
            ],
        )),
        Some(_) => {}
    }
}

fn lint_conditions(plan: &Plan, table: &SubtypeTable, add: &mut impl FnMut(Finding)) {
    if plan.triggers.is_empty() {
        add(Finding::new(LintCode::NoTriggers, "triggers", Vec::new()));
    }
    let ungraded = !plan.scope.categories.is_empty() && plan.scope.categories.iter().all(|category| *category == Category::SocialSecurity);
    let mut conditions: Vec<(String, &Condition)> = Vec::new();
    for (position, trigger) in plan.triggers.iter().enumerate() {
        conditions.push((format!("triggers[{position}].when"), &trigger.when));
    }
    for (position, action) in plan.actions.iter().enumerate() {
        if let Some(when) = &action.when {
            conditions.push((format!("actions[{position}].when"), when));
        }
    }
    for (position, rule) in plan.escalation.command.iter().enumerate() {
        conditions.push((format!("escalation.command[{position}].when"), &rule.when));
    }
    while let Some((path, condition)) = conditions.pop() {
        match condition {
            Condition::All(inner) | Condition::Any(inner) => {
                let name = if matches!(condition, Condition::All(_)) { "all" } else { "any" };
                if inner.is_empty() {
                    add(Finding::new(LintCode::EmptyCondition, format!("{path}.{name}"), Vec::new()));
                }
                for (position, inner) in inner.iter().enumerate() {
                    conditions.push((format!("{path}.{name}[{position}]"), inner));
                }
            }
            Condition::GradeAtLeast(_) if ungraded => {
                add(Finding::new(LintCode::ScaleNotApplicable, format!("{path}.grade_at_least"), vec![("scale", "grade".into())]))
            }
            Condition::WarningAtLeast(_) if ungraded => {
                add(Finding::new(LintCode::ScaleNotApplicable, format!("{path}.warning_at_least"), vec![("scale", "warning_level".into())]))
            }
            Condition::SubtypeIn(subtypes) => {
                for (position, subtype) in subtypes.iter().enumerate() {
                    check_subtype(plan, table, subtype, &format!("{path}.subtype_in[{position}]"), add);
                }
            }
            _ => {}
        }
    }
    // An action only from a level that no trigger reaches is dead unless someone raises the level by hand.
    let most_serious_trigger = plan.triggers.iter().map(|trigger| trigger.response_level).reduce(|a, b| a.most_serious(b));
    for (position, action) in plan.actions.iter().enumerate() {
        if let (Some(from), Some(reachable)) = (action.from_level, most_serious_trigger)
            && !reachable.at_least(from)
        {
            add(Finding::new(
                LintCode::ActionLevelNeverReached,
                format!("actions[{position}].from_level"),
                vec![("action", action.id.to_string()), ("level", from.code().to_string())],
            ));
        }
    }
}

fn lint_matrix(plan: &Plan, add: &mut impl FnMut(Finding)) {
    let mut seen: BTreeMap<Function, usize> = BTreeMap::new();
    for (position, row) in plan.matrix.iter().enumerate() {
        let function = ("function", row.function.code().to_string());
        if seen.insert(row.function, position).is_some() {
            add(Finding::new(LintCode::DuplicateFunction, format!("matrix[{position}].function"), vec![function.clone()]));
        }
        match &row.lead {
            None => add(Finding::new(LintCode::FunctionWithoutLead, format!("matrix[{position}]"), vec![function])),
            Some(lead) => {
                for (support_position, support) in row.support.iter().enumerate() {
                    if support == lead {
                        add(Finding::new(
                            LintCode::SupportSameAsLead,
                            format!("matrix[{position}].support[{support_position}]"),
                            vec![function.clone()],
                        ));
                    }
                }
            }
        }
    }
    for function in Function::ESSENTIAL {
        if !seen.contains_key(function) {
            add(Finding::new(LintCode::MissingEssentialFunction, "matrix", vec![("function", function.code().to_string())]));
        }
    }
}

fn lint_actions(plan: &Plan, add: &mut impl FnMut(Finding)) {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    let all_ids = plan
        .triggers
        .iter()
        .enumerate()
        .map(|(position, trigger)| (format!("triggers[{position}].id"), trigger.id.as_str()))
        .chain(plan.actions.iter().enumerate().map(|(position, action)| (format!("actions[{position}].id"), action.id.as_str())))
        .chain(
            plan.escalation
                .command
                .iter()
                .enumerate()
                .map(|(position, rule)| (format!("escalation.command[{position}].id"), rule.id.as_str())),
        );
    for (path, id) in all_ids {
        if !ids.insert(id) {
            add(Finding::new(LintCode::DuplicateId, path, vec![("id", id.to_string())]));
        }
    }
    for (position, action) in plan.actions.iter().enumerate() {
        let action_id = ("action", action.id.to_string());
        match plan.responsibility(action.function) {
            None => add(Finding::new(
                LintCode::ActionFunctionNotInMatrix,
                format!("actions[{position}].function"),
                vec![("function", action.function.code().to_string()), action_id.clone()],
            )),
            Some(row) if row.lead.is_none() && action.owner.is_none() => {
                add(Finding::new(LintCode::ActionWithoutOwner, format!("actions[{position}]"), vec![action_id.clone()]))
            }
            Some(_) => {}
        }
        for (after_position, prerequisite_id) in action.after.iter().enumerate() {
            let path = format!("actions[{position}].after[{after_position}]");
            match plan.action(prerequisite_id) {
                None => add(Finding::new(LintCode::UnknownPrerequisite, path, vec![("id", prerequisite_id.to_string())])),
                Some(prerequisite) => {
                    // Offsets of the two phases count from different moments; only same-phase deadlines compare.
                    if prerequisite.phase == action.phase && action.within_minutes < prerequisite.within_minutes {
                        add(Finding::new(
                            LintCode::DueBeforePrerequisite,
                            path,
                            vec![
                                action_id.clone(),
                                ("minutes", action.within_minutes.get().to_string()),
                                ("prerequisite", prerequisite.id.to_string()),
                                ("prerequisite_minutes", prerequisite.within_minutes.get().to_string()),
                            ],
                        ));
                    }
                }
            }
        }
    }
    // Cycles: a depth-first search over `after`, reporting each action that can reach itself.
    for (position, action) in plan.actions.iter().enumerate() {
        let mut stack: Vec<&crate::model::Ident> = action.after.iter().collect();
        let mut visited: BTreeSet<&str> = BTreeSet::new();
        while let Some(id) = stack.pop() {
            if id == &action.id {
                add(Finding::new(LintCode::PrerequisiteCycle, format!("actions[{position}].after"), vec![("id", action.id.to_string())]));
                break;
            }
            if !visited.insert(id.as_str()) {
                continue;
            }
            if let Some(next) = plan.action(id) {
                stack.extend(next.after.iter());
            }
        }
    }
}

/// Every party of the plan with its path.
fn parties(plan: &Plan) -> Vec<(String, &Party)> {
    let mut parties = Vec::new();
    for (position, row) in plan.matrix.iter().enumerate() {
        if let Some(lead) = &row.lead {
            parties.push((format!("matrix[{position}].lead"), lead));
        }
        for (support_position, support) in row.support.iter().enumerate() {
            parties.push((format!("matrix[{position}].support[{support_position}]"), support));
        }
    }
    for (position, action) in plan.actions.iter().enumerate() {
        if let Some(owner) = &action.owner {
            parties.push((format!("actions[{position}].owner"), owner));
        }
    }
    parties
}

fn lint_parties(plan: &Plan, index: &Index<'_>, add: &mut impl FnMut(Finding)) {
    let homes = homes(plan, index);
    for (path, party) in parties(plan) {
        // An organization code is checked even where no jurisdiction is in scope: it is wrong everywhere.
        if let Some(crate::model::OrganizationSelector::Code(code)) = &party.organization
            && !index.snapshot.organizations.iter().any(|org| org.code == *code)
        {
            add(Finding::new(LintCode::UnknownOrganization, &path, vec![("code", code.as_str().to_string())]));
            continue;
        }
        for home in &homes {
            let anchors = anchor_jurisdictions(index, home, party.at);
            if anchors.is_empty() {
                add(Finding::new(
                    LintCode::NoJurisdictionForAnchor,
                    &path,
                    vec![("anchor", party.at.code().to_string()), ("jurisdiction", home.code.as_str().to_string())],
                ));
            }
            for anchor in anchors {
                if let Err(unresolved) = index.resolve(party, anchor.id, Availability::Registered) {
                    add(unresolved_finding(&path, &unresolved, anchor));
                }
            }
        }
    }
}

fn lint_reporting(plan: &Plan, add: &mut impl FnMut(Finding)) {
    let schedule = match plan.reporting_schedule() {
        Ok(schedule) => Some(schedule),
        Err(invalid) => {
            // The domain names the step as `reporting.chain.steps[i]…`; the document calls it `reporting.chain[i]…`.
            let path = invalid.field.replace("reporting.chain.steps", "reporting.chain");
            add(Finding::new(LintCode::ReportingChainBroken, path, Vec::new()));
            None
        }
    };
    let statute = plan.reporting.statute.map(|statute| statute.schedule());
    for category in &plan.scope.categories {
        if let Some(required) = domain::incident::ReportingSchedule::statutory_for(*category)
            && statute.as_ref() != Some(&required)
        {
            let name =
                if required == domain::incident::ReportingSchedule::production_safety() { "production_safety" } else { "public_health" };
            add(Finding::new(
                LintCode::StatuteMissing,
                "reporting.statute",
                vec![("statute", name.to_string()), ("category", category.code().to_string())],
            ));
        }
    }
    let Some(schedule) = schedule else { return };
    for (position, deadline) in plan.reporting.deadlines.iter().enumerate() {
        let needed = schedule.total_to(deadline.to);
        let allowed = deadline.within_minutes.duration();
        if needed.is_none_or(|needed| needed > allowed) {
            add(Finding::new(
                LintCode::ReportingDeadlineUnreachable,
                format!("reporting.deadlines[{position}]"),
                vec![
                    ("to", deadline.to.code().to_string()),
                    ("minutes", deadline.within_minutes.get().to_string()),
                    ("needed", needed.map(|needed| needed.as_mins().to_string()).unwrap_or_else(|| "∞".into())),
                ],
            ));
        }
    }
    if let Some(statute) = &statute {
        // A step may be split differently from the statute's, so the plan is compared with the statute by the time
        // each tier they share is reached, counted from the first knowledge.
        for (position, step) in schedule.steps().iter().enumerate() {
            let (Some(plan_total), Some(statute_total)) = (schedule.total_to(step.to), statute.total_to(step.to)) else { continue };
            if plan_total > statute_total {
                add(Finding::new(
                    LintCode::ReportingLooserThanStatute,
                    format!("reporting.chain[{position}].within_minutes"),
                    vec![
                        ("to", step.to.code().to_string()),
                        ("minutes", plan_total.as_mins().to_string()),
                        ("statute_minutes", statute_total.as_mins().to_string()),
                    ],
                ));
            }
        }
    }
    for (position, action) in plan.actions.iter().enumerate() {
        let Some(tier) = action.reports_to else { continue };
        let Some(deadline) = schedule.total_to(tier).or_else(|| statute.as_ref().and_then(|statute| statute.total_to(tier))) else {
            add(Finding::new(
                LintCode::ReportsToNotInChain,
                format!("actions[{position}].reports_to"),
                vec![("tier", tier.code().to_string())],
            ));
            continue;
        };
        if action.phase != Phase::Activation {
            continue;
        }
        let params = |minutes: u32| {
            vec![("action", action.id.to_string()), ("minutes", minutes.to_string()), ("deadline", deadline.as_mins().to_string())]
        };
        let due = action.within_minutes.duration();
        let escalates = due + plan.escalation.overdue.after_minutes.duration();
        if due > deadline {
            add(Finding::new(
                LintCode::ReportActionAfterDeadline,
                format!("actions[{position}].within_minutes"),
                params(action.within_minutes.get()),
            ));
        } else if escalates > deadline {
            add(Finding::new(
                LintCode::ReportingEscalationTooLate,
                format!("actions[{position}].within_minutes"),
                params(action.within_minutes.get() + plan.escalation.overdue.after_minutes.get()),
            ));
        }
    }
}

fn lint_escalation(plan: &Plan, index: &Index<'_>, add: &mut impl FnMut(Finding)) {
    let beyond_capacity = plan.triggers.iter().any(|trigger| !plan.escalation.handles_up_to.at_least(trigger.response_level));
    for home in homes(plan, index) {
        let ancestors = index.self_and_ancestors(home.id);
        // A trigger above what the jurisdiction handles hands command to the next level, which must exist.
        if beyond_capacity && ancestors.len() < 2 {
            add(Finding::new(
                LintCode::EscalationTargetMissing,
                "escalation.handles_up_to",
                vec![("level", "next_level".to_string()), ("jurisdiction", home.code.as_str().to_string())],
            ));
        }
        for (position, rule) in plan.escalation.command.iter().enumerate() {
            let found = match rule.to {
                HandTo::NextLevel => ancestors.len() > 1,
                HandTo::Level(level) => level.rank() < home.level.rank() && ancestors.iter().any(|entry| entry.level == level),
            };
            if !found {
                let level = match rule.to {
                    HandTo::NextLevel => "next_level".to_string(),
                    HandTo::Level(level) => level.code().to_string(),
                };
                add(Finding::new(
                    LintCode::EscalationTargetMissing,
                    format!("escalation.command[{position}].to"),
                    vec![("level", level), ("jurisdiction", home.code.as_str().to_string())],
                ));
            }
        }
    }
}
