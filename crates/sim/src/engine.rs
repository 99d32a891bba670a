//! The integrated run: a discrete-event simulation whose every human action is an HTTP call to the real Gridline,
//! on a clock the simulation moves from event to event. Gridline's own work (delivering texts, escalating,
//! creating door-knocks and tasks) runs once a simulated minute, as its background workers would.
//!
//! Everything is decided by the seed: the same seed gives the same calls at the same simulated times, so the same
//! metrics. `speed` only paces the run against the wall clock.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use axum::http::Method;
use serde_json::{Value, json};

use crate::metrics::{Metrics, Timeline};
use crate::scenario::{Delay, Model, Near, Scenario, WarnedArea};
use crate::world::World;

const MINUTE: i64 = 60_000;

/// A small fixed generator (SplitMix64), so that draws never change with a dependency's version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Rng {
        // The stream goes through the generator's own mixing, so nearby streams are unrelated.
        let mut mixer = Rng(stream);
        let stream = mixer.next_u64();
        Rng(seed ^ stream)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A draw of `delay`, in minutes (Box–Muller on two uniforms).
    pub fn delay(&mut self, delay: Delay) -> f64 {
        if delay.spread <= 1.0 {
            return delay.median;
        }
        let (u1, u2) = (self.unit(), self.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (delay.median * (delay.spread.ln() * z).exp()).min(delay.median * delay.spread.powi(3))
    }
}

/// What happens at a simulated moment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// Gridline's background work, once a minute.
    Tick,
    /// The gauge reports its reading (every five minutes), as a device does.
    Reading,
    /// The duty officer opens the warning a rule drafted, sets its area and wording, and saves it.
    ReviewDraft {
        warning: i64,
    },
    DraftWarning,
    ApproveWarning,
    IssueWarning,
    Acknowledge {
        token: String,
    },
    TaskAcknowledge {
        task: i64,
    },
    TaskDone {
        task: i64,
    },
    Report {
        spot: usize,
        number: usize,
    },
    NoiseReport {
        number: usize,
    },
    Merge {
        target: i64,
        source: i64,
    },
    Verify {
        incident: i64,
    },
    Activate {
        incident: i64,
    },
    StandDown,
}

/// A place the hazard strikes.
#[derive(Debug, Clone)]
pub struct Spot {
    pub at: [f64; 2],
    pub minute: f64,
}

/// The spots of a scenario for a seed (the same in both runs).
pub fn spots(world: &World, scenario: &Scenario, seed: u64, band: Option<[f64; 4]>) -> Vec<Spot> {
    let mut rng = Rng::new(seed, 11);
    let crossing = scenario.sensor.crossing().unwrap_or(0.0);
    let graph = &world.data.graph;
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < scenario.spots.count && tries < 100_000 {
        tries += 1;
        let at = match scenario.spots.near {
            Near::Roads => {
                if graph.node_count() == 0 {
                    break;
                }
                graph.node_coord((rng.next_u64() % graph.node_count() as u64) as u32)
            }
            Near::Buildings => match world.data.buildings.get((rng.next_u64() % world.data.buildings.len().max(1) as u64) as usize) {
                Some(b) => b.centroid,
                None => break,
            },
        };
        if let Some([w, s, e, n]) = band
            && !(at[0] >= w && at[0] <= e && at[1] >= s && at[1] <= n)
        {
            continue;
        }
        let minute = crossing + scenario.spots.first_after_minutes + out.len() as f64 * scenario.spots.every_minutes;
        out.push(Spot { at, minute });
    }
    out
}

/// The band across the whole city along the largest water body: `margin_m` north and south of its middle line.
pub fn river_band(world: &World, margin_m: f64) -> Option<[f64; 4]> {
    let water = world
        .data
        .water
        .iter()
        .filter(|w| !w.polygons.is_empty())
        .max_by_key(|w| w.polygons.iter().flat_map(|p| p.first()).map(Vec::len).sum::<usize>())?;
    let (mut w, mut e) = (180.0f64, -180.0f64);
    for b in &world.data.buildings {
        w = w.min(b.centroid[0]);
        e = e.max(b.centroid[0]);
    }
    // The water's middle line where the city is: the median latitude of its outline within the city's longitudes.
    let mut lats: Vec<f64> = water
        .polygons
        .iter()
        .flat_map(|polygon| polygon.first().into_iter().flatten())
        .filter(|point| point[0] >= w && point[0] <= e)
        .map(|point| point[1])
        .collect();
    lats.sort_by(f64::total_cmp);
    let middle = *lats.get(lats.len() / 2)?;
    let margin = margin_m / 110_540.0;
    Some([w, middle - margin, e, middle + margin])
}

fn rectangle(b: [f64; 4]) -> Value {
    json!({"type": "Polygon", "coordinates": [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]]})
}

fn circle(at: [f64; 2], radius_m: f64) -> Value {
    let k = 111_320.0 * at[1].to_radians().cos();
    let ring: Vec<[f64; 2]> = (0..=32)
        .map(|i| {
            let a = f64::from(i % 32) / 32.0 * std::f64::consts::TAU;
            [at[0] + radius_m * a.cos() / k, at[1] + radius_m * a.sin() / 110_540.0]
        })
        .collect();
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// Travel by road between two points, in ms, at the roads' speeds times `factor`, or walking at `walk_kmh` over
/// the road distance when given.
pub fn travel_ms(router: &mut spatial::route::Router<'_>, from: [f64; 2], to: [f64; 2], factor: f64, walk_kmh: Option<f64>) -> Option<i64> {
    let a = router.snap(from[0], from[1], 2_000.0).ok()?;
    let b = router.snap(to[0], to[1], 2_000.0).ok()?;
    let route = router.route(&a, &b)?;
    let extra_m = a.distance_m + b.distance_m;
    let ms = match walk_kmh {
        Some(kmh) => (route.meters + extra_m) / (kmh / 3.6) * 1000.0,
        None => route.seconds / factor.max(0.05) * 1000.0 + extra_m / (4.5 / 3.6) * 1000.0,
    };
    Some(ms.round() as i64)
}

struct Run<'w> {
    world: &'w mut World,
    scenario: &'w Scenario,
    model: &'w Model,
    seed: u64,
    start_ms: i64,
    queue: BinaryHeap<Reverse<(i64, u64, Event)>>,
    order: u64,
    rng: Rng,
    spots: Vec<Spot>,
    warning: Option<(i64, i64)>,
    /// The gauge that reports the scenario's readings, when the world has one of the scenario's kind and a rule on it.
    gauge: Option<String>,
    texts_seen: usize,
    tasks_seen: BTreeSet<i64>,
    /// The spot each incident opened by a report stands for (what the duty officer can see on the map).
    spot_of_incident: BTreeMap<i64, usize>,
    /// Proposals the officer declined because the two were different places.
    declined: usize,
    /// Trips with no road route (a fixed 30 minutes was used).
    unrouted: usize,
    acknowledged: BTreeSet<i64>,
    incidents_responding: BTreeSet<i64>,
    timeline: Timeline,
    errors: Vec<String>,
}

impl Run<'_> {
    fn at(&mut self, ms: i64, event: Event) {
        self.order += 1;
        self.queue.push(Reverse((ms, self.order, event)));
    }

    fn minute_of(&self, ms: i64) -> f64 {
        (ms - self.start_ms) as f64 / MINUTE as f64
    }

    fn note_error(&mut self, what: &str, answer: &crate::world::Answer) {
        if self.errors.len() < 50 {
            self.errors.push(format!("{what}: {} {}", answer.status, answer.body));
        }
    }

    /// The first sensor of the scenario's kind (by code) watched by a rule that drafts a warning; the rule opens no
    /// incident in the drill (the residents' reports do), so the drill saves that revision of it first.
    async fn gauge_for_rule(&mut self) -> anyhow::Result<Option<String>> {
        let rules = self.world.call("admin", "view", Method::GET, "/api/v1/rules", None).await?;
        let kind = self.scenario.sensor.kind.clone();
        let Some(rule) = rules.body.as_array().into_iter().flatten().find(|r| {
            r["enabled"].as_bool() == Some(true)
                && r["definition"]["sensors"]["kind"].as_str() == Some(kind.as_str())
                && r["definition"]["actions"]["draft_warning"].is_object()
        }) else {
            return Ok(None);
        };
        let sensors = self.world.call("admin", "view", Method::GET, "/api/v1/sensors", None).await?;
        let Some(gauge) = sensors.body.as_array().into_iter().flatten().find(|s| s["kind"].as_str() == Some(kind.as_str())) else {
            return Ok(None);
        };
        let gauge = gauge["code"].as_str().unwrap_or_default().to_string();
        let mut definition = rule["definition"].clone();
        if let Some(actions) = definition["actions"].as_object_mut() {
            actions.remove("open_incident");
        }
        definition["sensors"] = json!({"codes": [gauge]});
        let saved = self.world.call("admin", "setup", Method::POST, "/api/v1/rules", Some(definition)).await?;
        if saved.status != 201 {
            self.note_error("the drill's rule", &saved);
            return Ok(None);
        }
        Ok(Some(gauge))
    }

    /// The scenario's warning as the duty officer writes it: its area (the river band, or around the first spot),
    /// level, wording and expiry.
    fn warning_input(&mut self, now: i64) -> Option<Value> {
        let warning = self.scenario.warning.as_ref()?;
        let area = match warning.area {
            WarnedArea::RiverBand { margin_m } => river_band(self.world, margin_m).map(rectangle),
            WarnedArea::AroundFirstSpot { radius_m } => self.spots.first().map(|s| circle(s.at, radius_m)),
        };
        let Some(area) = area else {
            self.errors.push("warning: the scenario's area could not be placed on this extract (no water, or no spot)".into());
            return None;
        };
        Some(json!({
            "jurisdiction_id": self.world.city_id, "status": "Actual", "level": warning.level, "hazard": warning.hazard,
            "headline_zh": warning.headline.zh, "headline_en": warning.headline.en,
            "description_zh": self.scenario.title.zh, "description_en": self.scenario.title.en,
            "instruction_zh": warning.instruction.zh, "instruction_en": warning.instruction.en,
            "area": area,
            "expires_at": app::time::rfc3339(now + (warning.expires_after_minutes * MINUTE as f64) as i64),
        }))
    }

    async fn tick(&mut self, now: i64) -> anyhow::Result<()> {
        let transports = app::warnings::Transports::new();
        loop {
            let round = self.world.app.warnings().deliver_round("simulate", &transports).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            self.timeline.delivered += round.delivered as usize;
            // E-mails fail: the drill has no mail server. They are counted, not hidden.
            self.timeline.delivery_failed += (round.failed + round.retried) as usize;
            if round.claimed == 0 {
                break;
            }
        }
        // Residents read their texts: some acknowledge, after a while.
        let mut texts = self.world.texts_since(self.texts_seen);
        self.texts_seen += texts.len();
        // Texts arrive in whatever order the delivery workers sent them; read them in a fixed order.
        texts.sort_by(|a, b| a.text.cmp(&b.text));
        for text in texts {
            let Some(start) = text.text.find("/ack/") else { continue };
            let token: String = text.text[start + 5..].chars().take_while(|c| !c.is_whitespace()).collect();
            let household = token.split('.').nth(1).and_then(|h| h.strip_prefix('h')).and_then(|h| h.parse::<i64>().ok());
            let Some(household) = household.and_then(|id| self.world.households.get(&id).map(|h| (id, h.clone()))) else { continue };
            let mut rng = Rng::new(self.seed, 1_000_000 + household.0 as u64);
            let p =
                if household.1.vulnerable { self.model.residents.vulnerable_ack_probability } else { self.model.residents.ack_probability };
            if household.1.vulnerable {
                self.timeline.vulnerable_targeted.insert(household.0);
            }
            if rng.unit() < p {
                let delay = rng.delay(self.model.residents.ack_delay);
                self.at(now + (delay * MINUTE as f64) as i64, Event::Acknowledge { token });
            }
        }
        let escalation = self.world.app.warnings().run_escalation().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if escalation.door_knocks > 0 || escalation.escalated > 0 {
            self.pick_up_tasks(now).await?;
        }
        Ok(())
    }

    /// New tasks (door-knocks and the plan's) are noticed by their owners.
    async fn pick_up_tasks(&mut self, now: i64) -> anyhow::Result<()> {
        let mut offset = 0;
        loop {
            let answer = self
                .world
                .call("officer", "system", Method::GET, &format!("/api/v1/tasks?status=open&limit=500&offset={offset}"), None)
                .await?;
            let items = answer.body["items"].as_array().cloned().unwrap_or_default();
            for task in &items {
                let id = task["id"].as_i64().unwrap_or_default();
                if task["status"] != "open" || !self.tasks_seen.insert(id) {
                    continue;
                }
                let mut rng = Rng::new(self.seed, 2_000_000 + id as u64);
                let delay = if task["kind"] == "door_knock" {
                    self.timeline.door_knocks += 1;
                    rng.delay(self.model.grid_members.notice)
                } else {
                    rng.delay(self.model.responders.acknowledge)
                };
                self.at(now + (delay * MINUTE as f64) as i64, Event::TaskAcknowledge { task: id });
            }
            if items.len() < 500 {
                break;
            }
            offset += 500;
        }
        Ok(())
    }

    async fn task_acknowledge(&mut self, now: i64, id: i64) -> anyhow::Result<()> {
        let answer = self.world.call("officer", "system", Method::GET, &format!("/api/v1/tasks/{id}"), None).await?;
        let task = answer.body;
        if task["status"] != "open" {
            return Ok(());
        }
        let (who, base) = match self.responsible(&task) {
            Some(found) => found,
            None => return Ok(()),
        };
        let token_owner = format!("sim-member-{who}");
        let version = task["version"].as_i64().unwrap_or(1);
        let acked = self
            .world
            .call(
                &token_owner,
                "member",
                Method::POST,
                &format!("/api/v1/tasks/{id}/progress"),
                Some(json!({"version": version, "status": "acknowledged"})),
            )
            .await?;
        if acked.status != 200 {
            self.note_error("acknowledge task", &acked);
            return Ok(());
        }
        let door_knock = task["kind"] == "door_knock";
        let target = if door_knock {
            task["household"]["lon"].as_f64().zip(task["household"]["lat"].as_f64()).map(|(lon, lat)| [lon, lat])
        } else {
            self.incident_location(task["subject_id"].as_i64().unwrap_or_default())
        };
        let target = target.unwrap_or(base);
        let mut router = spatial::route::Router::new(&self.world.data.graph);
        let travel = if door_knock {
            travel_ms(&mut router, base, target, 1.0, Some(self.model.grid_members.walk_speed_kmh))
        } else {
            travel_ms(&mut router, base, target, self.model.responders.drive_speed_factor, None)
        }
        .unwrap_or_else(|| {
            self.unrouted += 1;
            30 * MINUTE
        });
        let work = if door_knock { self.model.grid_members.visit_minutes } else { self.model.responders.work_minutes };
        self.timeline.task_acknowledged.push((id, self.minute_of(now), door_knock));
        if !door_knock {
            let incident = task["subject_id"].as_i64().unwrap_or_default();
            let arrival = self.minute_of(now + travel);
            let entry = self.timeline.first_arrival.entry(incident).or_insert((arrival, travel as f64 / MINUTE as f64));
            if arrival < entry.0 {
                *entry = (arrival, travel as f64 / MINUTE as f64);
            }
        }
        self.at(now + travel + (work * MINUTE as f64) as i64, Event::TaskDone { task: id });
        Ok(())
    }

    /// The duty officer's step on an incident: read its version (as the console shows it), then act on it.
    async fn incident_step(&mut self, incident: i64, step: &str, mut body: Value) -> anyhow::Result<crate::world::Answer> {
        let current = self.world.call("officer", "system", Method::GET, &format!("/api/v1/incidents/{incident}"), None).await?;
        body["version"] = current.body["version"].clone();
        self.world.call("officer", "officer", Method::POST, &format!("/api/v1/incidents/{incident}/{step}"), Some(body)).await
    }

    fn incident_location(&self, incident: i64) -> Option<[f64; 2]> {
        self.spot_of_incident.get(&incident).map(|spot| self.spots[*spot].at)
    }

    /// Who acts on a task, and where they start from: its owner, or the first member of its owning organization.
    fn responsible(&self, task: &Value) -> Option<(i64, [f64; 2])> {
        let owner =
            task["escalated_at"].is_string().then(|| task["escalate_to_member_id"].as_i64()).flatten().or(task["owner_member_id"].as_i64());
        if let Some(member) = owner {
            return self.world.members.get(&member).map(|m| (member, m.base));
        }
        let organization = task["owner_organization_id"].as_i64()?;
        let mut members: Vec<(&i64, &crate::world::Member)> =
            self.world.members.iter().filter(|(_, m)| m.organization_id == Some(organization)).collect();
        members.sort_by_key(|(id, _)| **id);
        members.first().map(|(id, m)| (**id, m.base))
    }

    async fn task_done(&mut self, now: i64, id: i64) -> anyhow::Result<()> {
        let answer = self.world.call("officer", "system", Method::GET, &format!("/api/v1/tasks/{id}"), None).await?;
        let task = answer.body;
        if !matches!(task["status"].as_str(), Some("acknowledged" | "in_progress")) {
            return Ok(());
        }
        let Some((who, _)) = self.responsible(&task) else { return Ok(()) };
        let done = self
            .world
            .call(
                &format!("sim-member-{who}"),
                "member",
                Method::POST,
                &format!("/api/v1/tasks/{id}/progress"),
                Some(json!({"version": task["version"], "status": "done", "note": "done (simulated)"})),
            )
            .await?;
        if done.status != 200 {
            self.note_error("finish task", &done);
            return Ok(());
        }
        let minute = self.minute_of(now);
        if task["kind"] == "door_knock" {
            if let Some(household) = task["household"]["id"].as_i64() {
                self.timeline.reached(household, minute);
            }
        } else {
            let due = task["due_at"].as_str().and_then(|d| d.parse::<jiff::Timestamp>().ok()).map(|t| t.as_millisecond());
            if due.is_some_and(|due| now > due) {
                self.timeline.overdue += 1;
            }
            self.timeline.tasks_done += 1;
        }
        Ok(())
    }

    async fn handle(&mut self, now: i64, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Tick => {
                self.tick(now).await?;
                if now + MINUTE <= self.start_ms + (self.scenario.duration_minutes * MINUTE as f64) as i64 {
                    self.at(now + MINUTE, Event::Tick);
                }
            }
            Event::Reading => {
                let Some(gauge) = self.gauge.clone() else { return Ok(()) };
                let minute = self.minute_of(now);
                let value = (self.scenario.sensor.value_at(minute) * 10.0).round() / 10.0;
                let reading = json!({"readings": [{"sensor": gauge, "at": app::time::rfc3339(now), "value": value, "unit": self.scenario.sensor.unit}]});
                let answer = self.world.call("admin", "gauge", Method::POST, "/api/v1/observations", Some(reading)).await?;
                if answer.status != 200 {
                    self.note_error("gauge reading", &answer);
                }
                // The rule fired: its draft warning waits for the duty officer.
                if let Some(rule) = answer.body["fired"][0][0].as_str()
                    && self.warning.is_none()
                {
                    let episodes = self.world.call("admin", "view", Method::GET, &format!("/api/v1/rules/{rule}/episodes"), None).await?;
                    match episodes.body[0]["warning_id"].as_i64() {
                        Some(warning) => {
                            self.timeline.rule_fired = Some(minute);
                            let react = self.rng.delay(self.model.duty_officer.react);
                            self.at(now + (react * MINUTE as f64) as i64, Event::ReviewDraft { warning });
                        }
                        None => self.note_error("the rule fired without a draft warning", &episodes),
                    }
                }
                if now + 5 * MINUTE <= self.start_ms + (self.scenario.duration_minutes * MINUTE as f64) as i64 {
                    self.at(now + 5 * MINUTE, Event::Reading);
                }
            }
            Event::ReviewDraft { warning: id } => {
                let Some(input) = self.warning_input(now) else { return Ok(()) };
                let draft = self.world.call("officer", "view", Method::GET, &format!("/api/v1/warnings/{id}"), None).await?;
                let version = draft.body["version"].as_i64().unwrap_or(1);
                let saved = self
                    .world
                    .call_with(
                        "officer",
                        "officer",
                        Method::PUT,
                        &format!("/api/v1/warnings/{id}"),
                        Some(input),
                        &[("if-match", format!("\"{version}\""))],
                    )
                    .await?;
                if saved.status != 200 {
                    self.note_error("review the rule's draft warning", &saved);
                    return Ok(());
                }
                self.warning = Some((id, saved.body["version"].as_i64().unwrap_or(version + 1)));
                let delay = self.rng.delay(self.model.approver.react);
                self.at(now + (delay * MINUTE as f64) as i64, Event::ApproveWarning);
            }
            Event::DraftWarning => {
                let Some(input) = self.warning_input(now) else { return Ok(()) };
                let draft = self.world.call("officer", "officer", Method::POST, "/api/v1/warnings/drafts", Some(input)).await?;
                if draft.status != 201 {
                    self.note_error("draft warning", &draft);
                    return Ok(());
                }
                self.warning = Some((draft.body["id"].as_i64().unwrap_or_default(), draft.body["version"].as_i64().unwrap_or(1)));
                let delay = self.rng.delay(self.model.approver.react);
                self.at(now + (delay * MINUTE as f64) as i64, Event::ApproveWarning);
            }
            Event::ApproveWarning => {
                let Some((id, version)) = self.warning else { return Ok(()) };
                let approved = self
                    .world
                    .call("admin", "officer", Method::POST, &format!("/api/v1/warnings/{id}/approve"), Some(json!({"version": version})))
                    .await?;
                if approved.status != 200 {
                    self.note_error("approve warning", &approved);
                    return Ok(());
                }
                self.warning = Some((id, approved.body["version"].as_i64().unwrap_or(version + 1)));
                self.at(now, Event::IssueWarning);
            }
            Event::IssueWarning => {
                let Some((id, version)) = self.warning else { return Ok(()) };
                let issued = self
                    .world
                    .call(
                        "officer",
                        "officer",
                        Method::POST,
                        &format!("/api/v1/warnings/{id}/issue"),
                        Some(json!({"version": version, "confirm": true})),
                    )
                    .await?;
                if issued.status != 200 {
                    self.note_error("issue warning", &issued);
                    return Ok(());
                }
                self.timeline.warning_issued = Some(self.minute_of(now));
            }
            Event::Acknowledge { token } => {
                let answer =
                    self.world.call("resident", "resident", Method::POST, &format!("/api/v1/ack/{token}"), Some(json!({}))).await?;
                if answer.status < 300 {
                    let household = token.split('.').nth(1).and_then(|h| h.strip_prefix('h')).and_then(|h| h.parse::<i64>().ok());
                    if let Some(household) = household
                        && self.acknowledged.insert(household)
                    {
                        self.timeline.acknowledged += 1;
                        let minute = self.minute_of(now);
                        self.timeline.reached(household, minute);
                    }
                }
            }
            Event::TaskAcknowledge { task } => self.task_acknowledge(now, task).await?,
            Event::TaskDone { task } => self.task_done(now, task).await?,
            Event::Report { spot, number } => {
                let mut rng = Rng::new(self.seed, 3_000_000 + (spot as u64) * 100 + number as u64);
                let at = self.spots[spot].at;
                let jitter = |r: &mut Rng| (r.unit() - 0.5) * 0.0006;
                let (lon, lat) = (at[0] + jitter(&mut rng), at[1] + jitter(&mut rng));
                let input = json!({
                    "category": self.scenario.incident.category, "subtype": self.scenario.incident.subtype,
                    "description": format!("{} (simulated report {} of spot {})", self.scenario.title.en, number + 1, spot + 1),
                    "lon": lon, "lat": lat, "figures": self.scenario.report_figures,
                });
                let answer = self.world.call("resident", "resident", Method::POST, "/api/v1/reports", Some(input)).await?;
                if answer.status != 201 {
                    self.note_error("report", &answer);
                    return Ok(());
                }
                self.timeline.reports += 1;
                let incident = answer.body["incident"]["id"].as_i64().unwrap_or_default();
                let proposed: Vec<i64> =
                    answer.body["proposals"].as_array().into_iter().flatten().filter_map(|p| p["incident_id"].as_i64()).collect();
                let react = self.rng.delay(self.model.duty_officer.react) + self.rng.delay(self.model.duty_officer.decide);
                let when = now + (react * MINUTE as f64) as i64;
                // The officer looks at the proposal (place, time, reports) and merges only what is the same spot; a
                // proposal for another place is declined and the report is handled as its own incident.
                self.spot_of_incident.insert(incident, spot);
                let same_place = proposed.iter().copied().find(|target| self.spot_of_incident.get(target) == Some(&spot));
                self.declined += proposed.iter().filter(|target| Some(**target) != same_place).count();
                match same_place {
                    Some(target) => self.at(when, Event::Merge { target, source: incident }),
                    None => self.at(when, Event::Verify { incident }),
                }
            }
            Event::NoiseReport { number } => {
                let mut rng = Rng::new(self.seed, 4_000_000 + number as u64);
                let Some(b) = self.world.data.buildings.get((rng.next_u64() % self.world.data.buildings.len().max(1) as u64) as usize)
                else {
                    return Ok(());
                };
                let input = json!({
                    "category": self.scenario.noise_kind.category, "subtype": self.scenario.noise_kind.subtype,
                    "description": "unrelated report (simulated)", "lon": b.centroid[0], "lat": b.centroid[1],
                });
                let answer = self.world.call("resident", "resident", Method::POST, "/api/v1/reports", Some(input)).await?;
                if answer.status == 201 {
                    self.timeline.reports += 1;
                    self.timeline.noise += 1;
                } else {
                    self.note_error("report", &answer);
                }
            }
            Event::Merge { target, source } => {
                // The proposed incident may itself have been merged meanwhile: the officer merges into the one it
                // went into.
                let mut target = target;
                for _ in 0..5 {
                    let current = self.world.call("officer", "system", Method::GET, &format!("/api/v1/incidents/{target}"), None).await?;
                    match current.body["merged_into"].as_i64() {
                        Some(into) => target = into,
                        None => break,
                    }
                }
                if target == source {
                    return Ok(());
                }
                let answer = self
                    .world
                    .call(
                        "officer",
                        "officer",
                        Method::POST,
                        &format!("/api/v1/incidents/{target}/merge"),
                        Some(json!({"source_id": source})),
                    )
                    .await?;
                if answer.status == 200 {
                    self.timeline.merged += 1;
                } else {
                    self.note_error("merge", &answer);
                }
            }
            Event::Verify { incident } => {
                let answer = self.incident_step(incident, "status", json!({"status": "verified"})).await?;
                if answer.status != 200 {
                    self.note_error("verify", &answer);
                    return Ok(());
                }
                let delay = self.rng.delay(self.model.duty_officer.decide);
                self.at(now + (delay * MINUTE as f64) as i64, Event::Activate { incident });
            }
            Event::Activate { incident } => {
                let answer = self
                    .incident_step(
                        incident,
                        "activate",
                        json!({"plan_code": self.scenario.plan, "response_level": self.scenario.response_level}),
                    )
                    .await?;
                if answer.status != 200 {
                    self.note_error("activate", &answer);
                    return Ok(());
                }
                self.incidents_responding.insert(incident);
                let created = answer.body["tasks"].as_array().map(Vec::len).unwrap_or_default();
                self.timeline.plan_tasks += created;
                self.timeline.activations.push(self.minute_of(now));
                self.pick_up_tasks(now).await?;
            }
            Event::StandDown => {
                for incident in self.incidents_responding.clone() {
                    // Tasks still open past their deadline when the drill ends are overdue too.
                    let tasks =
                        self.world.call("officer", "system", Method::GET, &format!("/api/v1/incidents/{incident}/tasks"), None).await?;
                    for task in tasks.body.as_array().into_iter().flatten() {
                        if task["overdue"] == true && !matches!(task["status"].as_str(), Some("done" | "cancelled")) {
                            self.timeline.overdue += 1;
                        }
                    }
                    let answer = self.incident_step(incident, "stand-down", json!({})).await?;
                    if answer.status != 200 {
                        self.note_error("stand down", &answer);
                    }
                }
            }
        }
        Ok(())
    }
}

/// What the siloed model takes from the integrated run: the same households at stake, and how many incidents the
/// plan was activated for.
#[derive(Debug, Clone)]
pub struct Observed {
    pub vulnerable_targeted: BTreeSet<i64>,
    pub activations: usize,
}

/// Runs the integrated scenario; returns the metrics, what the model needs, and what went wrong.
pub async fn run(
    world: &mut World,
    scenario: &Scenario,
    model: &Model,
    seed: u64,
    speed: f64,
    progress: &mut (dyn FnMut(f64) + Send),
) -> anyhow::Result<(Metrics, Observed, Vec<String>)> {
    let start_ms = app::Clock::now_ms(world.clock.as_ref());
    let crossing = scenario.sensor.crossing().unwrap_or(0.0);
    let band = match scenario.warning.as_ref().map(|w| &w.area) {
        Some(WarnedArea::RiverBand { margin_m }) => river_band(world, *margin_m),
        _ => None,
    };
    let spots = spots(world, scenario, seed, band);
    let mut run = Run {
        world,
        scenario,
        model,
        seed,
        start_ms,
        queue: BinaryHeap::new(),
        order: 0,
        rng: Rng::new(seed, 7),
        spots: spots.clone(),
        warning: None,
        gauge: None,
        texts_seen: 0,
        tasks_seen: BTreeSet::new(),
        spot_of_incident: BTreeMap::new(),
        declined: 0,
        unrouted: 0,
        acknowledged: BTreeSet::new(),
        incidents_responding: BTreeSet::new(),
        timeline: Timeline::default(),
        errors: Vec::new(),
    };
    let minute = |m: f64| start_ms + (m * MINUTE as f64) as i64;
    run.at(start_ms, Event::Tick);
    // A gauge of the scenario's kind that a rule watches reports the readings, and the rule drafts the warning;
    // without one, the duty officer drafts it after the meteorological warning, as before.
    run.gauge = run.gauge_for_rule().await?;
    if run.gauge.is_some() {
        run.at(start_ms, Event::Reading);
    } else if let Some(warning) = &scenario.warning {
        let react = run.rng.delay(model.duty_officer.react);
        run.at(minute(crossing + warning.after_threshold_minutes + react), Event::DraftWarning);
    }
    for (i, spot) in spots.iter().enumerate() {
        let mut rng = Rng::new(seed, 5_000_000 + i as u64);
        for number in 0..model.residents.reporters_per_spot {
            let delay = if number == 0 { 0.0 } else { rng.delay(model.residents.report_spread) };
            run.at(minute(spot.minute + delay), Event::Report { spot: i, number });
        }
    }
    for number in 0..scenario.noise_reports {
        let mut rng = Rng::new(seed, 6_000_000 + number as u64);
        run.at(minute(crossing + rng.unit() * (scenario.duration_minutes - crossing) * 0.6), Event::NoiseReport { number });
    }
    let end = minute(scenario.duration_minutes);
    // Stand-down is the very last thing at the end, after everything else due at that minute.
    run.queue.push(Reverse((end, u64::MAX, Event::StandDown)));
    let wall = std::time::Instant::now();
    while let Some(Reverse((at, _, event))) = run.queue.pop() {
        if at > end {
            break;
        }
        // Pace the run: simulated time runs at most `speed` times the wall clock.
        let due = std::time::Duration::from_secs_f64(((at - start_ms) as f64 / 1000.0 / speed.max(0.001)).max(0.0));
        if let Some(wait) = due.checked_sub(wall.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        run.world.clock.set_ms(at);
        run.handle(at, event).await?;
        progress(run.minute_of(at) / scenario.duration_minutes);
    }
    if spots.len() < scenario.spots.count {
        run.errors.push(format!("spots: only {} of {} could be placed on this extract", spots.len(), scenario.spots.count));
    }
    if run.unrouted > 0 {
        run.errors.push(format!("travel: {} trips had no road route and took a fixed 30 minutes", run.unrouted));
    }
    let calls = run.world.calls.clone();
    let mut metrics = Metrics::integrated(&run.timeline, crossing, &calls);
    metrics.proposals_declined = run.declined;
    let observed = Observed { vulnerable_targeted: run.timeline.vulnerable_targeted.clone(), activations: run.timeline.activations.len() };
    Ok((metrics, observed, run.errors))
}
