//! Activation and stand-down planning against the reference registry: the level, who commands, the modes, the
//! task drafts with owners, supporters, due times and escalation targets; and what stand-down closes and returns.

use domain::ids::{JurisdictionId, MemberId, OrganizationId};
use domain::incident::{Category, Figures, Measure, ResponseLevel, Scales, WarningLevel};
use domain::registry::JurisdictionMode;
use jiff::Timestamp;
use plan::{Activation, CommandReason, EscalationTarget, LintCode, OpenTask, PlanError, Situation, StandDownInput, TaskDraft};

use crate::support::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn situation(subtype: &str, warning: Option<WarningLevel>, figures: Figures, affected: &[JurisdictionId]) -> Situation {
    let table = table();
    let entry = table.get_str(subtype).unwrap();
    Situation {
        kind: table.kind("", entry.category.code(), subtype).unwrap(),
        scales: Scales::parse(entry.category, None, if entry.category == Category::SocialSecurity { None } else { warning }, None).unwrap(),
        figures,
        home: SUB_DISTRICT,
        affected: affected.to_vec(),
        known_at: at("2026-07-20T07:55:00Z"),
    }
}

fn activate(plan_file: &str, situation: &Situation, requested: Option<ResponseLevel>) -> Result<Activation, PlanError> {
    plan::activate(&shipped(plan_file), &table(), &registry(), situation, at("2026-07-20T08:00:00Z"), requested)
}

fn task<'a>(activation: &'a Activation, key: &str) -> &'a TaskDraft {
    activation.tasks.iter().find(|task| task.key == key).unwrap_or_else(|| {
        let keys: Vec<&str> = activation.tasks.iter().map(|task| task.key.as_str()).collect();
        panic!("no task {key}; tasks: {keys:#?}")
    })
}

fn members(target: &EscalationTarget) -> Vec<MemberId> {
    match target {
        EscalationTarget::Owner(owner) => owner.members.clone(),
        other => panic!("expected an owner, got {other:?}"),
    }
}

#[test]
fn a_waterlogged_grid_activates_the_rainstorm_plan_at_level_4() {
    let situation = situation("urban_waterlogging", None, Figures::new().with(Measure::PondingDepthCm, 20), &[GRID_1_1]);
    let activation = activate("rainstorm-waterlogging.json", &situation, None).unwrap();
    assert_eq!(activation.response_level, ResponseLevel::Level4);
    assert_eq!(activation.triggered_level, Some(ResponseLevel::Level4));
    assert_eq!(activation.matched_triggers.iter().map(|id| id.as_str()).collect::<Vec<_>>(), vec!["level-4"]);
    assert!(activation.findings.is_empty(), "{:#?}", activation.findings);

    // The sub-district commands through its duty officers on shift; the one off shift is not called.
    assert_eq!(activation.command.jurisdiction, SUB_DISTRICT);
    assert!(!activation.command.escalated);
    let local_lead = activation.command.local_lead.as_ref().unwrap();
    assert_eq!((local_lead.organization, local_lead.members.clone()), (Some(SUB_DISTRICT_OFFICE), vec![DUTY_OFFICER, MemberId(11)]));

    // The grid, its community and the sub-district go into emergency mode; nothing else.
    let modes: Vec<(JurisdictionId, JurisdictionMode)> = activation.modes.iter().map(|change| (change.jurisdiction, change.mode)).collect();
    assert_eq!(
        modes,
        vec![
            (SUB_DISTRICT, JurisdictionMode::Emergency),
            (COMMUNITY_1, JurisdictionMode::Emergency),
            (GRID_1_1, JurisdictionMode::Emergency)
        ]
    );

    let keys: Vec<&str> = activation.tasks.iter().map(|task| task.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "rainstorm-waterlogging/relay-warning/310104011001",
            "rainstorm-waterlogging/check-vulnerable/310104011001-01",
            "rainstorm-waterlogging/deploy-pumps",
            "rainstorm-waterlogging/first-report",
            "rainstorm-waterlogging/patrol-ponding/310104011001-01",
            "rainstorm-waterlogging/stage-materials",
            "rainstorm-waterlogging/public-notice",
            "rainstorm-waterlogging/progress-report",
        ],
        "level-3 actions, stand-down actions and actions whose conditions do not hold are left out"
    );

    // "Within 15 minutes: the grid member checks the vulnerable residents of the affected grid."
    let check = task(&activation, "rainstorm-waterlogging/check-vulnerable/310104011001-01");
    assert_eq!(check.due, at("2026-07-20T08:15:00Z"));
    assert_eq!(check.title_zh, "逐户确认网格内独居老人、残疾人等特殊群体安全（汇翠一网格）");
    assert_eq!(check.title_en, "Check on the vulnerable residents of the grid door to door and confirm they are safe (Huicui grid 1)");
    let owner = check.owner.as_ref().unwrap();
    assert_eq!(
        (owner.jurisdiction, owner.members.clone()),
        (GRID_1_1, vec![GRID_MEMBER_1_1]),
        "the grid member who left is never an owner"
    );
    // Supported by the community's cadre and the health centre's liaison.
    let support: Vec<(Option<OrganizationId>, Vec<MemberId>)> =
        check.support.iter().map(|owner| (owner.organization, owner.members.clone())).collect();
    assert_eq!(support, vec![(None, vec![CADRE_1]), (Some(HEALTH_CENTRE), vec![MemberId(7)])]);
    // Late by ten minutes, it escalates to the community cadre above the grid member.
    assert_eq!(check.escalation.at, at("2026-07-20T08:25:00Z"));
    assert_eq!(members(&check.escalation.to), vec![CADRE_1]);

    // A department's task goes to its liaison, and up to the command lead when late.
    let pumps = task(&activation, "rainstorm-waterlogging/deploy-pumps");
    assert_eq!(pumps.owner.as_ref().unwrap().organization, Some(DISTRICT_WATER));
    assert_eq!(pumps.owner.as_ref().unwrap().members, vec![MemberId(21)]);
    assert_eq!(pumps.due, at("2026-07-20T08:30:00Z"));
    assert_eq!(members(&pumps.escalation.to), vec![DUTY_OFFICER, MemberId(11)]);

    // The first report goes to the holder of the duty-officer account role, and the progress report waits for it.
    let first = task(&activation, "rainstorm-waterlogging/first-report");
    assert_eq!(first.owner.as_ref().unwrap().members, vec![DUTY_OFFICER]);
    assert_eq!(task(&activation, "rainstorm-waterlogging/progress-report").after, vec!["rainstorm-waterlogging/first-report".to_string()]);

    // The reporting chain runs from the first knowledge at 07:55.
    let due: Vec<Timestamp> = activation.reporting.iter().map(|deadline| deadline.due).collect();
    assert_eq!(due, vec![at("2026-07-20T08:05:00Z"), at("2026-07-20T08:20:00Z"), at("2026-07-20T08:50:00Z")]);
    assert!(activation.statutory_reporting.is_empty(), "natural disasters have no statutory clock in hours");

    // The matrix is resolved too: per-grid leads once per affected grid.
    let vulnerable = activation.matrix.iter().find(|row| row.function == plan::Function::VulnerablePersons).unwrap();
    assert_eq!(vulnerable.lead.len(), 1);
    assert_eq!(activation, activate("rainstorm-waterlogging.json", &situation, None).unwrap(), "activation is deterministic");
}

#[test]
fn a_wider_flood_with_trapped_people_activates_level_3_with_per_grid_and_per_community_tasks() {
    let figures = Figures::new().with(Measure::PondingDepthCm, 40).with(Measure::Trapped, 2);
    let situation = situation("urban_waterlogging", Some(WarningLevel::Yellow), figures, &[COMMUNITY_1, GRID_2_1]);
    let activation = activate("rainstorm-waterlogging.json", &situation, None).unwrap();
    assert_eq!(activation.response_level, ResponseLevel::Level3);
    assert_eq!(activation.matched_triggers.iter().map(|id| id.as_str()).collect::<Vec<_>>(), vec!["level-4", "level-3"]);
    assert!(!activation.command.escalated, "the sub-district handles level 3 itself");

    // Community 1 is affected as a whole (both its grids); of community 2 only one grid.
    let checks: Vec<&str> =
        activation.tasks.iter().filter(|task| task.action.as_str() == "check-vulnerable").map(|task| task.key.as_str()).collect();
    assert_eq!(
        checks,
        vec![
            "rainstorm-waterlogging/check-vulnerable/310104011001-01",
            "rainstorm-waterlogging/check-vulnerable/310104011001-02",
            "rainstorm-waterlogging/check-vulnerable/310104011002-01",
        ]
    );
    // Each community's evacuation waits for the checks in its own grids.
    let evacuation = task(&activation, "rainstorm-waterlogging/evacuate-low-lying/310104011002");
    assert_eq!(evacuation.after, vec!["rainstorm-waterlogging/check-vulnerable/310104011002-01".to_string()]);
    assert_eq!(evacuation.owner.as_ref().unwrap().organization, Some(COMMITTEE_2));
    assert_eq!(evacuation.due, at("2026-07-20T09:00:00Z"));
    // The shelter waits for both evacuations.
    assert_eq!(task(&activation, "rainstorm-waterlogging/open-shelter").after.len(), 2);
    // Conditional actions are in: the rescue of trapped people and the closure of flooded underpasses.
    let rescue = task(&activation, "rainstorm-waterlogging/rescue-trapped");
    assert_eq!(rescue.owner.as_ref().unwrap().organization, Some(FIRE_STATION));
    task(&activation, "rainstorm-waterlogging/close-underpasses");
    // Both communities, three grids and the sub-district switch mode.
    assert_eq!(activation.modes.len(), 6);
    assert!(activation.tasks.windows(2).all(|pair| (pair[0].due, &pair[0].key) <= (pair[1].due, &pair[1].key)));
}

#[test]
fn deaths_hand_command_to_the_district() {
    let figures = Figures::new().with(Measure::PondingDepthCm, 60).with(Measure::Deaths, 1);
    let situation = situation("urban_waterlogging", Some(WarningLevel::Yellow), figures, &[GRID_1_2]);
    let activation = activate("rainstorm-waterlogging.json", &situation, None).unwrap();
    assert_eq!(activation.response_level, ResponseLevel::Level2);
    assert_eq!(activation.command.jurisdiction, DISTRICT);
    assert!(activation.command.escalated);
    assert_eq!(
        activation.command.reasons,
        vec![
            CommandReason::LevelAboveCapacity { level: ResponseLevel::Level2, handles_up_to: ResponseLevel::Level3 },
            CommandReason::Rule(plan::model::Ident::parse("deaths").unwrap()),
        ]
    );
}

#[test]
fn a_requested_level_overrides_the_triggers_and_nothing_triggered_is_an_error() {
    let quiet = situation("urban_waterlogging", None, Figures::new(), &[GRID_1_1]);
    assert_eq!(
        activate("rainstorm-waterlogging.json", &quiet, None),
        Err(PlanError::NotTriggered { plan: "rainstorm-waterlogging".into() })
    );
    let activation = activate("rainstorm-waterlogging.json", &quiet, Some(ResponseLevel::Level3)).unwrap();
    assert_eq!((activation.triggered_level, activation.response_level), (None, ResponseLevel::Level3));
    assert!(activation.tasks.iter().any(|task| task.action.as_str() == "evacuate-low-lying"));

    let leak = situation("gas_leak", None, Figures::new(), &[GRID_1_1]);
    assert_eq!(
        activate("rainstorm-waterlogging.json", &leak, None),
        Err(PlanError::NotApplicable { plan: "rainstorm-waterlogging".into() })
    );
    let mut nowhere = quiet.clone();
    nowhere.home = JurisdictionId(999);
    assert_eq!(activate("rainstorm-waterlogging.json", &nowhere, None), Err(PlanError::UnknownJurisdiction(JurisdictionId(999))));
    let mut unknown_grid = quiet.clone();
    unknown_grid.affected = vec![JurisdictionId(998)];
    assert_eq!(
        activate("rainstorm-waterlogging.json", &unknown_grid, Some(ResponseLevel::Level4)),
        Err(PlanError::UnknownJurisdiction(JurisdictionId(998)))
    );
    for error in [
        PlanError::NotTriggered { plan: "x".into() },
        PlanError::NotApplicable { plan: "x".into() },
        PlanError::UnknownJurisdiction(JurisdictionId(1)),
    ] {
        assert!(!error.message(domain::Locale::ZhCn).contains('{') && !error.message(domain::Locale::En).contains('{'));
    }
}

#[test]
fn plans_are_selected_most_specific_first() {
    let plans: Vec<plan::Plan> = plan::shipped().iter().map(|(_, text)| plan::parse(text).unwrap()).collect();
    let waterlogging = situation("urban_waterlogging", None, Figures::new().with(Measure::PondingDepthCm, 20), &[GRID_1_1]);
    let selected = plan::select(&plans, &table(), &registry(), &waterlogging).unwrap();
    let codes: Vec<&str> = selected.iter().map(|(index, _)| plans[*index].code.as_str()).collect();
    assert_eq!(codes, vec!["rainstorm-waterlogging"]);

    // A general flood plan applies too, but the waterlogging plan is more specific.
    let (_, text) = plan::shipped().iter().find(|(file, _)| *file == "rainstorm-waterlogging.json").unwrap();
    let mut general: serde_json::Value = serde_json::from_str(text).unwrap();
    general["code"] = serde_json::json!("flood-general");
    general["scope"]["subtypes"] = serde_json::json!(["flood_drought"]);
    let mut with_general = plans.clone();
    with_general.push(plan::parse(&general.to_string()).unwrap());
    let selected = plan::select(&with_general, &table(), &registry(), &waterlogging).unwrap();
    let codes: Vec<&str> = selected.iter().map(|(index, _)| with_general[*index].code.as_str()).collect();
    assert_eq!(codes, vec!["rainstorm-waterlogging", "flood-general"]);

    let fire = situation("building_fire", None, Figures::new().with(Measure::Trapped, 3), &[GRID_2_2]);
    let selected = plan::select(&plans, &table(), &registry(), &fire).unwrap();
    assert_eq!(selected.len(), 1);
    assert_eq!(plans[selected[0].0].code.as_str(), "building-fire");
    assert_eq!(selected[0].1.level, Some(ResponseLevel::Level3));
}

#[test]
fn overdue_tasks_escalate_by_the_plans_rule() {
    // Gas leak: to the function's lead, or to the owner's superior when the owner is the lead.
    let leak = situation("gas_leak", None, Figures::new(), &[GRID_2_1]);
    let activation = activate("gas-leak.json", &leak, None).unwrap();
    let cordon = task(&activation, "gas-leak/cordon");
    assert_eq!(cordon.owner.as_ref().unwrap().organization, Some(POLICE_STATION));
    match &cordon.escalation.to {
        EscalationTarget::Owner(owner) => {
            assert_eq!(owner.organization, Some(OrganizationId(4)), "the station's parent, the district police")
        }
        other => panic!("{other:?}"),
    }
    let valve = task(&activation, "gas-leak/shut-valve");
    assert_eq!(valve.owner.as_ref().unwrap().organization, Some(CITY_GAS), "the gas company is found at city level");
    assert_eq!(task(&activation, "gas-leak/ventilate-and-retest").after, vec!["gas-leak/shut-valve".to_string()]);
    assert_eq!(activation.statutory_reporting.len(), 4, "accidents carry the production-safety clock");
    assert_eq!(activation.statutory_reporting[0].due, at("2026-07-20T08:55:00Z"));

    // Crowd crush: to the command lead, and to the next level when the owner is the command lead.
    let crush = situation("crowd_crush", None, Figures::new().with(Measure::CrowdDensityPerM2, 5), &[GRID_1_1]);
    let activation = activate("crowd-crush.json", &crush, None).unwrap();
    assert_eq!(task(&activation, "crowd-crush/limit-inflow").escalation.to, EscalationTarget::NextLevel(DISTRICT));
    let broadcast = task(&activation, "crowd-crush/broadcast");
    assert_eq!(broadcast.owner.as_ref().unwrap().organization, Some(SUB_DISTRICT_OFFICE));
    assert_eq!(members(&broadcast.escalation.to), vec![MemberId(5)], "the police station's liaison commands");
    assert!(activation.tasks.iter().all(|task| task.action.as_str() != "rescue-fallen"), "nobody is trapped or injured");

    // Infectious cluster: the health centre's report escalates to the district health commission above it.
    let cluster = situation("infectious_cluster", None, Figures::new().with(Measure::ConfirmedCases, 4), &[COMMUNITY_2]);
    let activation = activate("infectious-cluster.json", &cluster, None).unwrap();
    let report = task(&activation, "infectious-cluster/first-report");
    assert_eq!(report.owner.as_ref().unwrap().organization, Some(HEALTH_CENTRE));
    match &report.escalation.to {
        EscalationTarget::Owner(owner) => assert_eq!(owner.organization, Some(DISTRICT_HEALTH)),
        other => panic!("{other:?}"),
    }
    let contacts = activation.tasks.iter().find(|task| task.action.as_str() == "trace-contacts").unwrap();
    assert!(contacts.support.iter().any(|owner| owner.organization == Some(OrganizationId(7))), "the CDC, named by code, supports");
    assert_eq!(activation.statutory_reporting[0].due, at("2026-07-20T09:55:00Z"), "public health: 2 hours from the first knowledge");
}

#[test]
fn owners_nobody_fills_and_areas_outside_the_jurisdiction_are_reported() {
    let mut registry = registry();
    // Community 2's micro fire station member moves away.
    registry.members.retain(|member| member.id != MemberId(53));
    let district = registry.jurisdictions.iter().find(|entry| entry.id == DISTRICT).unwrap().clone();
    registry.jurisdictions.push(plan::JurisdictionEntry {
        id: JurisdictionId(100),
        code: domain::text::Code::parse("code", "310104012").unwrap(),
        level: domain::registry::JurisdictionLevel::SubDistrict,
        path: district.path.child(JurisdictionId(100)),
        name_zh: "天平路街道".into(),
        name_en: None,
    });
    let fire = situation("building_fire", None, Figures::new(), &[GRID_2_2, JurisdictionId(100)]);
    let activation = plan::activate(&shipped("building-fire.json"), &table(), &registry, &fire, at("2026-07-20T08:00:00Z"), None).unwrap();
    let micro = task(&activation, "building-fire/micro-station-response/310104011002");
    assert_eq!(micro.owner, None);
    assert_eq!(micro.due, at("2026-07-20T08:05:00Z"));
    let codes: Vec<(LintCode, String)> = activation.findings.iter().map(|finding| (finding.code, finding.path.clone())).collect();
    assert!(codes.contains(&(LintCode::OwnerUnresolved, "actions[0]".into())), "{codes:?}");
    assert!(codes.contains(&(LintCode::RoleNotHeld, "actions[0].owner".into())), "{codes:?}");
    assert!(codes.contains(&(LintCode::AffectedOutsideHome, String::new())), "{codes:?}");
    assert!(activation.modes.iter().all(|change| change.jurisdiction != JurisdictionId(100)));
    let message =
        activation.findings.iter().find(|finding| finding.code == LintCode::AffectedOutsideHome).unwrap().message(domain::Locale::En);
    assert_eq!(message, "Jurisdiction 310104012 is affected but lies outside 310104011: ask the common superior to lead (ERL Art. 18)");
}

#[test]
fn stand_down_closes_what_the_plan_does_not_keep_and_returns_the_modes() {
    let figures = Figures::new().with(Measure::PondingDepthCm, 40).with(Measure::Trapped, 2);
    let situation = situation("urban_waterlogging", Some(WarningLevel::Yellow), figures, &[COMMUNITY_1, GRID_2_1]);
    let plan = shipped("rainstorm-waterlogging.json");
    let activation = activate("rainstorm-waterlogging.json", &situation, None).unwrap();
    let open: Vec<OpenTask> = activation.tasks.iter().map(|task| OpenTask { key: task.key.clone(), function: task.function }).collect();
    let input = StandDownInput {
        scope: &activation.scope,
        level: activation.response_level,
        open_tasks: &open,
        // Another incident keeps grid 2-1 in emergency; a warning still covers community 1.
        other_emergencies: &[GRID_2_1],
        warnings_in_force: &[COMMUNITY_1],
    };
    let stand_down = plan::stand_down(&plan, &table(), &registry(), &situation, &input, at("2026-07-20T14:00:00Z")).unwrap();
    let modes: Vec<(JurisdictionId, JurisdictionMode)> = stand_down.modes.iter().map(|change| (change.jurisdiction, change.mode)).collect();
    assert_eq!(
        modes,
        vec![
            (SUB_DISTRICT, JurisdictionMode::Peacetime),
            (COMMUNITY_1, JurisdictionMode::Heightened),
            (COMMUNITY_2, JurisdictionMode::Peacetime),
            (GRID_1_1, JurisdictionMode::Heightened),
            (GRID_1_2, JurisdictionMode::Heightened),
            (GRID_2_1, JurisdictionMode::Emergency),
        ]
    );
    assert_eq!(
        stand_down.keep,
        vec!["rainstorm-waterlogging/first-report".to_string(), "rainstorm-waterlogging/progress-report".to_string()]
    );
    assert_eq!(stand_down.close.len() + stand_down.keep.len(), open.len());
    assert!(stand_down.close.contains(&"rainstorm-waterlogging/deploy-pumps".to_string()));
    let new: Vec<(&str, Timestamp)> = stand_down.tasks.iter().map(|task| (task.key.as_str(), task.due)).collect();
    assert_eq!(
        new,
        vec![
            ("rainstorm-waterlogging/damage-assessment", at("2026-07-21T02:00:00Z")),
            ("rainstorm-waterlogging/final-report", at("2026-07-21T14:00:00Z")),
        ]
    );
    assert!(stand_down.findings.is_empty(), "{:#?}", stand_down.findings);
}

#[test]
fn every_shipped_plan_activates_cleanly_for_its_own_hazard() {
    let cases = [
        ("rainstorm-waterlogging.json", "rainstorm", Figures::new().with(Measure::HourlyRainfallMm, 45)),
        ("typhoon.json", "typhoon", Figures::new().with(Measure::AffectedHouseholds, 12)),
        ("building-fire.json", "building_fire", Figures::new().with(Measure::Trapped, 1)),
        ("gas-leak.json", "gas_leak", Figures::new().with(Measure::Evacuated, 80)),
        ("infectious-cluster.json", "infectious_cluster", Figures::new().with(Measure::ConfirmedCases, 12)),
        ("crowd-crush.json", "crowd_crush", Figures::new().with(Measure::CrowdDensityPerM2, 7).with(Measure::Injured, 4)),
    ];
    for (file, subtype, figures) in cases {
        let situation = situation(subtype, Some(WarningLevel::Yellow), figures, &[GRID_1_2, GRID_2_2]);
        let activation = activate(file, &situation, None).unwrap_or_else(|error| panic!("{file}: {error}"));
        assert!(activation.findings.is_empty(), "{file}: {:#?}", activation.findings);
        assert!(activation.tasks.len() >= 6, "{file}: only {} tasks", activation.tasks.len());
        for task in &activation.tasks {
            let owner = task.owner.as_ref().unwrap_or_else(|| panic!("{file}: {} has no owner", task.key));
            assert!(!owner.members.is_empty() || owner.organization.is_some(), "{file}: {} reaches nobody", task.key);
            assert!(task.due > at("2026-07-20T08:00:00Z") && task.escalation.at >= task.due, "{file}: {}", task.key);
            assert!(!matches!(task.escalation.to, EscalationTarget::Unresolved), "{file}: {} escalates nowhere", task.key);
            assert!(task.key.starts_with(&format!("{}/", activation.plan)));
        }
        let plan = shipped(file);
        let open: Vec<OpenTask> = activation.tasks.iter().map(|task| OpenTask { key: task.key.clone(), function: task.function }).collect();
        let input = StandDownInput {
            scope: &activation.scope,
            level: activation.response_level,
            open_tasks: &open,
            other_emergencies: &[],
            warnings_in_force: &[],
        };
        let stand_down = plan::stand_down(&plan, &table(), &registry(), &situation, &input, at("2026-07-20T20:00:00Z")).unwrap();
        assert!(stand_down.modes.iter().all(|change| change.mode == JurisdictionMode::Peacetime), "{file}");
        assert!(!stand_down.tasks.is_empty(), "{file}: no stand-down tasks");
        assert!(stand_down.findings.is_empty(), "{file}: {:#?}", stand_down.findings);
    }
}
