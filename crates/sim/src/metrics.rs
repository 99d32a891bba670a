//! What a run observed, and the response-efficiency metrics computed from it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What happened, in simulated minutes from the start.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// When the gauge's rule fired (drafting the warning), if a rule drafted it.
    pub rule_fired: Option<f64>,
    pub warning_issued: Option<f64>,
    pub delivered: usize,
    pub delivery_failed: usize,
    pub acknowledged: usize,
    pub vulnerable_targeted: BTreeSet<i64>,
    /// Households reached (acknowledged, or door-knocked), first time.
    pub reached_at: BTreeMap<i64, f64>,
    pub door_knocks: usize,
    pub reports: usize,
    pub noise: usize,
    pub merged: usize,
    pub activations: Vec<f64>,
    pub plan_tasks: usize,
    /// (task, minute, is a door-knock).
    pub task_acknowledged: Vec<(i64, f64, bool)>,
    pub tasks_done: usize,
    pub overdue: usize,
    /// Per incident: (arrival minute, travel minutes) of its first responder.
    pub first_arrival: BTreeMap<i64, (f64, f64)>,
}

impl Timeline {
    pub fn reached(&mut self, household: i64, minute: f64) {
        let entry = self.reached_at.entry(household).or_insert(minute);
        if minute < *entry {
            *entry = minute;
        }
    }
}

/// The response-efficiency metrics of one run. Times are minutes after the sensor first crossed its threshold;
/// `None` when it never happened within the scenario.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Metrics {
    /// When the gauge's rule fired and drafted the warning (integrated, when a rule drafted it).
    pub warning_drafted_by_rule_min: Option<f64>,
    pub warning_issued_min: Option<f64>,
    pub vulnerable_households: usize,
    pub vulnerable_90pct_reached_min: Option<f64>,
    pub vulnerable_all_reached_min: Option<f64>,
    pub vulnerable_never_reached: usize,
    pub first_task_acknowledged_min: Option<f64>,
    pub all_tasks_acknowledged_min: Option<f64>,
    pub tasks: usize,
    pub overdue_tasks: usize,
    pub reports: usize,
    pub duplicate_reports_merged: usize,
    /// Merge proposals for reports that were in fact of different places, declined by the duty officer.
    pub proposals_declined: usize,
    /// Incidents the plan was activated for.
    pub incidents_responded: usize,
    pub first_responder_travel_p50_min: Option<f64>,
    pub first_responder_travel_p90_min: Option<f64>,
    pub actions_by_hand: usize,
    pub actions_automatic: usize,
    /// Warning texts delivered, acknowledged by their household, and door-knock tasks created.
    pub texts_delivered: usize,
    pub deliveries_failed: usize,
    pub residents_acknowledged: usize,
    pub door_knocks: usize,
    /// The curve of vulnerable households reached: (minute after the crossing, share reached).
    pub reached_curve: Vec<(f64, f64)>,
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The `q`-quantile (0–1) of sorted values, by the nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// When `share` of `total` were reached, given the sorted times they were reached.
pub(crate) fn share_reached(sorted: &[f64], total: usize, share: f64) -> Option<f64> {
    let needed = (share * total as f64).ceil() as usize;
    if needed == 0 {
        return None;
    }
    sorted.get(needed - 1).copied()
}

fn curve(sorted: &[f64], total: usize) -> Vec<(f64, f64)> {
    if total == 0 {
        return Vec::new();
    }
    sorted.iter().enumerate().map(|(i, t)| (round(*t), (i + 1) as f64 / total as f64)).collect()
}

impl Metrics {
    /// The metrics of the integrated run.
    pub fn integrated(timeline: &Timeline, crossing: f64, calls: &HashMap<String, usize>) -> Metrics {
        let since = |m: f64| round(m - crossing);
        let mut reached: Vec<f64> =
            timeline.vulnerable_targeted.iter().filter_map(|h| timeline.reached_at.get(h)).map(|m| m - crossing).collect();
        reached.sort_by(f64::total_cmp);
        let total = timeline.vulnerable_targeted.len();
        let mut acks: Vec<f64> = timeline.task_acknowledged.iter().filter(|(_, _, door)| !door).map(|(_, m, _)| m - crossing).collect();
        acks.sort_by(f64::total_cmp);
        let mut travel: Vec<f64> = timeline.first_arrival.values().map(|(_, t)| *t).collect();
        travel.sort_by(f64::total_cmp);
        // Coordination by hand: the duty officer's and the approver's console actions (the same kind of work the
        // siloed model counts as calls of the relay, cadres and dispatchers).
        let by_hand = calls.get("officer").copied().unwrap_or_default();
        Metrics {
            warning_drafted_by_rule_min: timeline.rule_fired.map(since),
            warning_issued_min: timeline.warning_issued.map(since),
            vulnerable_households: total,
            vulnerable_90pct_reached_min: share_reached(&reached, total, 0.9).map(round),
            vulnerable_all_reached_min: (reached.len() == total).then(|| reached.last().copied()).flatten().map(round),
            vulnerable_never_reached: total - reached.len(),
            first_task_acknowledged_min: acks.first().copied().map(round),
            all_tasks_acknowledged_min: (acks.len() >= timeline.plan_tasks && !acks.is_empty())
                .then(|| acks.last().copied())
                .flatten()
                .map(round),
            tasks: timeline.plan_tasks,
            overdue_tasks: timeline.overdue,
            texts_delivered: timeline.delivered,
            deliveries_failed: timeline.delivery_failed,
            residents_acknowledged: timeline.acknowledged,
            door_knocks: timeline.door_knocks,
            reports: timeline.reports,
            duplicate_reports_merged: timeline.merged,
            proposals_declined: 0,
            incidents_responded: timeline.activations.len(),
            first_responder_travel_p50_min: quantile(&travel, 0.5).map(round),
            first_responder_travel_p90_min: quantile(&travel, 0.9).map(round),
            actions_by_hand: by_hand,
            actions_automatic: timeline.delivered + timeline.door_knocks + timeline.plan_tasks,
            reached_curve: curve(&reached, total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(quantile(&values, 0.5), Some(5.0));
        assert_eq!(quantile(&values, 0.9), Some(9.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(share_reached(&values, 10, 0.9), Some(9.0));
        assert_eq!(share_reached(&values[..5], 10, 0.9), None, "only half were reached");
        assert_eq!(share_reached(&[], 0, 0.9), None, "nobody to reach is not 'reached at once'");
    }
}
