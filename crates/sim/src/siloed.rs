//! The siloed baseline: the same scenario, the same people and spots, handled the way it works without an
//! integrated system (model.yaml, `siloed`). It is a model, computed, not run against Gridline:
//!
//! - the warning is relayed down the phone tree and broadcast; nobody tracks who was reached;
//! - each community's cadre phones the vulnerable households on the list, one after another; the unanswered ones
//!   are visited on foot after the list is done;
//! - every report is verified by a call back, one at a time (no de-duplication: the same flooding reported three
//!   times is three calls), then the lead department assigns its own team from its base, by phone, after a delay.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{Rng, Spot, travel_ms};
use crate::metrics::{Metrics, quantile};
use crate::scenario::{Model, Scenario};
use crate::world::World;

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The siloed run's metrics. `tasks_per_incident` is how many tasks the plan gives one incident (as Gridline applied
/// it), and `targeted` the vulnerable households Gridline's warning reached with a text: the same work and the same
/// people at stake in both columns.
pub fn run(
    world: &World,
    scenario: &Scenario,
    model: &Model,
    seed: u64,
    spots: &[Spot],
    tasks_per_incident: usize,
    targeted: &BTreeSet<i64>,
) -> Metrics {
    let crossing = scenario.sensor.crossing().unwrap_or(0.0);
    let end = scenario.duration_minutes - crossing;
    let silo = &model.siloed;
    let mut rng = Rng::new(seed, 8);
    let mut by_hand = 0usize;
    let mut router = spatial::route::Router::new(&world.data.graph);
    let minutes = |ms: i64| ms as f64 / 60_000.0;

    // The warning, relayed.
    let warning_at =
        scenario.warning.as_ref().map(|w| w.after_threshold_minutes + rng.delay(model.duty_officer.react) + rng.delay(silo.relay_delay));
    let mut reached: Vec<f64> = Vec::new();
    let mut total = 0;
    if let Some(relayed) = warning_at {
        by_hand += 3; // meteorology → district → sub-district → communities: calls along the tree
        let mut lists: BTreeMap<i64, Vec<(i64, [f64; 2])>> = BTreeMap::new();
        for id in targeted {
            if let Some(household) = world.households.get(id) {
                lists.entry(household.community).or_default().push((*id, household.at));
            }
        }
        for list in lists.values_mut() {
            list.sort_by_key(|(id, _)| *id);
            total += list.len();
            let mut clock = relayed;
            let mut unanswered = Vec::new();
            for (id, at) in list.iter() {
                clock += silo.call_minutes;
                by_hand += 1;
                let mut person = Rng::new(seed, 9_000_000 + *id as u64);
                if person.unit() < silo.call_answer_probability {
                    reached.push(clock);
                } else {
                    unanswered.push(*at);
                }
            }
            // Then the cadre walks to each unanswered door, from the first one on the list.
            let mut here = list.first().map(|(_, at)| *at);
            for at in unanswered {
                let walk = here
                    .and_then(|from| travel_ms(&mut router, from, at, 1.0, Some(model.grid_members.walk_speed_kmh)))
                    .map_or(15.0, minutes);
                clock += walk + model.grid_members.visit_minutes;
                reached.push(clock);
                here = Some(at);
            }
        }
    }
    reached.retain(|t| *t <= end);
    reached.sort_by(f64::total_cmp);

    // Reports: every one verified by a call back, one at a time; then the lead department's own team.
    let lead = world.sectors.get(&scenario.lead_sector).copied();
    let base = world
        .members
        .iter()
        .filter(|(_, m)| m.organization_id.is_some() && m.organization_id == lead)
        .min_by_key(|(id, _)| **id)
        .map(|(_, m)| m.base);
    let mut reports: Vec<(f64, usize)> = Vec::new();
    for (i, spot) in spots.iter().enumerate() {
        let mut spread = Rng::new(seed, 5_000_000 + i as u64);
        for number in 0..model.residents.reporters_per_spot {
            let delay = if number == 0 { 0.0 } else { spread.delay(model.residents.report_spread) };
            reports.push((spot.minute + delay - crossing, i));
        }
    }
    reports.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut officer_free = 0.0f64;
    let mut acks = Vec::new();
    let mut overdue = 0;
    let mut first_arrival: BTreeMap<usize, f64> = BTreeMap::new();
    for (at, spot) in &reports {
        let verified = officer_free.max(*at) + rng.delay(silo.report_verify);
        officer_free = verified;
        by_hand += 1;
        let assigned = verified + rng.delay(silo.hand_assign_delay);
        if assigned > end {
            continue;
        }
        for _ in 0..tasks_per_incident {
            by_hand += 1;
            let acknowledged = assigned + rng.delay(silo.acknowledge);
            acks.push(acknowledged);
            let travel = base
                .and_then(|from| travel_ms(&mut router, from, spots[*spot].at, model.responders.drive_speed_factor, None))
                .map_or(30.0, minutes);
            let done = acknowledged + travel + model.responders.work_minutes;
            let due = verified + silo.task_due_minutes;
            if done > due && due <= end {
                overdue += 1;
            }
            let entry = first_arrival.entry(*spot).or_insert(travel);
            *entry = entry.min(travel);
        }
    }
    acks.sort_by(f64::total_cmp);
    let mut travel: Vec<f64> = first_arrival.values().copied().collect();
    travel.sort_by(f64::total_cmp);
    let in_time: Vec<f64> = acks.iter().copied().filter(|t| *t <= end).collect();
    let needed90 = (0.9 * total as f64).ceil() as usize;
    Metrics {
        warning_drafted_by_rule_min: None,
        warning_issued_min: warning_at.map(round),
        vulnerable_households: total,
        vulnerable_90pct_reached_min: if needed90 == 0 { None } else { reached.get(needed90 - 1).copied().map(round) },
        vulnerable_all_reached_min: (reached.len() == total).then(|| reached.last().copied()).flatten().map(round),
        vulnerable_never_reached: total - reached.len(),
        first_task_acknowledged_min: in_time.first().copied().map(round),
        all_tasks_acknowledged_min: (in_time.len() == acks.len() && !acks.is_empty()).then(|| acks.last().copied()).flatten().map(round),
        tasks: acks.len(),
        overdue_tasks: overdue,
        reports: reports.len() + scenario.noise_reports,
        duplicate_reports_merged: 0,
        proposals_declined: 0,
        incidents_responded: reports.iter().filter(|(at, _)| *at <= end).count(),
        first_responder_travel_p50_min: quantile(&travel, 0.5).map(round),
        first_responder_travel_p90_min: quantile(&travel, 0.9).map(round),
        actions_by_hand: by_hand,
        actions_automatic: 0,
        texts_delivered: 0,
        deliveries_failed: 0,
        residents_acknowledged: 0,
        door_knocks: 0,
        reached_curve: reached.iter().enumerate().map(|(i, t)| (round(*t), (i + 1) as f64 / total.max(1) as f64)).collect(),
    }
}
