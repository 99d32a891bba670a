//! Monitoring end to end: gauges report over HTTP, a sustained rule fires once per episode (not on every reading,
//! not on flapping), drafts a warning and opens an incident linked to its evidence; a silent sensor is flagged;
//! bad readings are refused one by one, with reasons, and the good ones of the same batch are kept.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{Auth, START_MS, TestApp, World};

const MINUTE: i64 = 60_000;

fn at(ms: i64) -> String {
    app::time::rfc3339(ms)
}

async fn sensor(t: &TestApp, world: &World, code: &str, lon: f64, lat: f64) -> Value {
    let created = t
        .post(
            "/api/v1/sensors",
            &world.officer,
            json!({"code": code, "kind": "rain_gauge", "quantity": "rainfall_1h", "unit": "mm/h", "lon": lon, "lat": lat,
                   "organization_id": world.water, "interval_seconds": 60, "min_value": 0, "max_value": 500}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    created.body
}

async fn post_yaml(t: &TestApp, world: &World, uri: &str, text: &str) -> crate::TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/yaml")
        .header(header::ACCEPT_LANGUAGE, "en");
    let Auth::Token(token) = &world.officer else { unreachable!() };
    t.send(request.header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::from(text.to_string())).unwrap()).await
}

async fn rule(t: &TestApp, world: &World, text: &str) {
    let saved = post_yaml(t, world, "/api/v1/rules", text).await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
}

/// The dry run of a rule over the last day must find exactly the episodes the live engine recorded: same scopes,
/// same starts, fired at the same reading, cleared at the same reading.
async fn dry_run_agrees_with_live(t: &TestApp, world: &World, code: &str, text: &str) -> usize {
    let dry = post_yaml(t, world, "/api/v1/rules/dry-run?hours=24", text).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    let live = t.get(&format!("/api/v1/rules/{code}/episodes"), &world.officer).await;
    let key = |e: &Value| (e["scope"].to_string(), e["started_at"].to_string(), e["fired_at"].to_string(), e["cleared_at"].to_string());
    let mut live: Vec<_> = live.body.as_array().unwrap().iter().filter(|e| e["fired_at"].is_string()).map(key).collect();
    let mut dry: Vec<_> = dry.body["episodes"].as_array().unwrap().iter().map(key).collect();
    live.sort();
    dry.sort();
    assert_eq!(dry, live, "the dry run replays what happened");
    live.len()
}

/// Posts one reading per sensor at the clock's time, then moves the clock on a minute.
async fn minute(t: &TestApp, world: &World, values: &[(&str, f64)]) -> Value {
    let now = app::Clock::now_ms(t.clock.as_ref());
    let readings: Vec<Value> =
        values.iter().map(|(code, value)| json!({"sensor": code, "at": at(now), "value": value, "unit": "mm/h"})).collect();
    let answer = t.post("/api/v1/observations", &world.liaison, json!({"readings": readings})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    t.clock.advance_ms(MINUTE);
    answer.body
}

const SUSTAINED: &str = "code: rain-sustained
title_zh: 雨量持续超限
title_en: Sustained heavy rain
sensors: { kind: rain_gauge }
condition: { above: 30, for_minutes: 10, hysteresis: 5 }
actions:
  draft_warning: { level: orange, hazard: rainstorm }
  open_incident: { category: natural_disaster, subtype: urban_waterlogging }
";

#[tokio::test]
async fn a_sustained_rule_fires_once_per_episode_and_leaves_its_evidence() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    sensor(&t, &world, "rain-1", 121.412, 31.162).await;
    rule(&t, &world, SUSTAINED).await;
    let mut fired = Vec::new();
    // Rising rain, then flapping within the hysteresis band (27–29 keeps it), for 25 minutes: one firing.
    let series = [
        20.0, 25.0, 31.0, 33.0, 35.0, 29.0, 36.0, 40.0, 27.0, 38.0, 41.0, 44.0, 39.0, 28.0, 42.0, 45.0, 46.0, 44.0, 43.0, 41.0, 40.0, 39.0,
        37.0, 36.0, 35.0,
    ];
    for (i, value) in series.iter().enumerate() {
        let answer = minute(&t, &world, &[("rain-1", *value)]).await;
        for firing in answer["fired"].as_array().unwrap() {
            fired.push((i, firing.clone()));
        }
    }
    assert_eq!(fired.len(), 1, "one firing for one episode, whatever the flapping: {fired:?}");
    assert_eq!(fired[0].0, 12, "it held from minute 2 and fired once it had held for 10 minutes");
    let episodes = t.get("/api/v1/rules/rain-sustained/episodes", &world.officer).await;
    let episode = &episodes.body[0];
    assert_eq!(episode["started_at"], at(START_MS + 2 * MINUTE), "{}", episodes.text);
    assert!(episode["cleared_at"].is_null());
    let evidence = episode["evidence"]["sensors"][0]["readings"].as_array().unwrap();
    assert_eq!(evidence.len(), 11, "the readings that made it fire: {evidence:?}");
    // What it created: a draft warning (a person issues it) and an incident, both linked.
    let warning = t.get(&format!("/api/v1/warnings/{}", episode["warning_id"]), &world.officer).await;
    assert_eq!((warning.status, warning.body["state"].as_str()), (StatusCode::OK, Some("draft")), "{}", warning.text);
    let incident = t.get(&format!("/api/v1/incidents/{}", episode["incident_id"]), &world.officer).await;
    assert_eq!(incident.status, StatusCode::OK, "{}", incident.text);
    assert_eq!(incident.body["subtype"], "urban_waterlogging");
    let reports = t.get(&format!("/api/v1/incidents/{}/reports", episode["incident_id"]), &world.officer).await;
    assert_eq!(reports.body[0]["channel"], "sensor", "{}", reports.text);

    // The rain drops below 25: the episode clears. It rises again: a new episode, which fires again 10 minutes on.
    minute(&t, &world, &[("rain-1", 12.0)]).await;
    let episodes = t.get("/api/v1/rules/rain-sustained/episodes", &world.officer).await;
    assert!(episodes.body[0]["cleared_at"].is_string(), "{}", episodes.text);
    let mut again = 0;
    for _ in 0..12 {
        again += minute(&t, &world, &[("rain-1", 50.0)]).await["fired"].as_array().unwrap().len();
    }
    assert_eq!(again, 1, "a new episode fires once");
    // Readings sent again (a redelivery) are stored once and fire nothing.
    let now = app::Clock::now_ms(t.clock.as_ref());
    let replay: Vec<Value> = (1..=3).map(|m| json!({"sensor": "rain-1", "at": at(now - m * MINUTE), "value": 50.0})).collect();
    let answer = t.post("/api/v1/observations", &world.liaison, json!(replay)).await;
    assert_eq!((answer.body["accepted"].as_u64(), answer.body["duplicates"].as_u64()), (Some(0), Some(3)), "{}", answer.text);
    assert_eq!(answer.body["fired"], json!([]));
    assert_eq!(dry_run_agrees_with_live(&t, &world, "rain-sustained", SUSTAINED).await, 2);
    // A dry run of a stricter variant finds fewer, and saves nothing.
    let strict = SUSTAINED.replace("above: 30", "above: 48");
    let dry = post_yaml(&t, &world, "/api/v1/rules/dry-run", &strict).await;
    assert_eq!(dry.body["episodes"].as_array().unwrap().len(), 1, "{}", dry.text);
    assert_eq!(dry.body["readings"], 38);
    let bad = post_yaml(&t, &world, "/api/v1/rules/dry-run", &SUSTAINED.replace("above: 30,", "")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(t.get("/api/v1/rules", &world.officer).await.body.as_array().unwrap().len(), 1, "a dry run saves nothing");

    // The chart's series: buckets of five minutes over the last hour hold every reading, with their extremes.
    let series = t.get("/api/v1/sensors/rain-1/series?hours=1&points=12", &world.officer).await;
    assert_eq!(series.status, StatusCode::OK, "{}", series.text);
    assert_eq!(series.body["bucket_seconds"], 300);
    let points = series.body["points"].as_array().unwrap();
    let count: i64 = points.iter().map(|p| p[4].as_i64().unwrap()).sum();
    assert_eq!(count, 38, "the readings of the last hour (the latest and the 37 before it): {points:?}");
    let high = points.iter().map(|p| p[3].as_f64().unwrap()).fold(f64::MIN, f64::max);
    let low = points.iter().map(|p| p[1].as_f64().unwrap()).fold(f64::MAX, f64::min);
    assert_eq!((low, high), (12.0, 50.0));
    let nowhere = t.get("/api/v1/sensors/nowhere/series", &world.officer).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
}

/// A water-level rule that joins a shared layer: "the level rose 0.5 m within 30 minutes at a gauge within 500 m of
/// a low-lying underpass". Only the gauge near the underpass fires; the firing gives the gauge's owner a task.
#[tokio::test]
async fn a_rise_near_an_underpass_fires_and_tasks_the_owner() {
    let t = TestApp::postgres().await;
    let world = World::build(&t).await;
    // The underpass: a short road segment 300 m east of the first gauge, 2 km from the second.
    let underpasses = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "up-1",
        "properties": {"name": "Underpass 1"},
        "geometry": {"type": "LineString", "coordinates": [[121.4152, 31.1615], [121.4152, 31.1625]]}}]});
    let imported = t
        .post(
            "/api/v1/layers?name=underpasses&title_zh=%E4%B8%8B%E7%A9%BF%E9%80%9A%E9%81%93&classification=internal",
            &world.admin,
            underpasses,
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.text);
    for (code, lon) in [("level-near", 121.412), ("level-far", 121.435)] {
        let created = t
            .post(
                "/api/v1/sensors",
                &world.officer,
                json!({"code": code, "kind": "water_level_gauge", "quantity": "water_level", "unit": "m", "lon": lon, "lat": 31.162,
                       "organization_id": world.water, "interval_seconds": 300, "min_value": -5, "max_value": 30}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let text = "code: level-rise-underpass
title_zh: 下穿通道附近水位快速上涨
title_en: Fast rise near an underpass
sensors: { kind: water_level_gauge, near: { layer: underpasses, within_m: 500 } }
condition: { rises_by: 0.5, within_minutes: 30, hysteresis: 0.1 }
actions:
  create_task: { title_zh: 检查下穿通道积水并封闭, title_en: Check the underpass for water and close it, due_minutes: 20 }
";
    rule(&t, &world, text).await;
    let mut fired = Vec::new();
    // Level at 2.0 m for an hour, then a rise of 0.2 m every 5 minutes to 2.8 m, then level again.
    let levels = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.2, 2.4, 2.6, 2.8, 2.8, 2.8, 2.8, 2.8, 2.8, 2.8, 2.8, 2.8];
    for (i, level) in levels.iter().enumerate() {
        let now = app::Clock::now_ms(t.clock.as_ref());
        let readings: Vec<Value> =
            ["level-near", "level-far"].iter().map(|code| json!({"sensor": code, "at": at(now), "value": level, "unit": "m"})).collect();
        let answer = t.post("/api/v1/observations", &world.liaison, json!({"readings": readings})).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        for firing in answer.body["fired"].as_array().unwrap() {
            fired.push((i, firing.clone()));
        }
        t.clock.advance_ms(5 * MINUTE);
    }
    assert_eq!(fired.len(), 1, "the gauge near the underpass, once: {fired:?}");
    assert_eq!(fired[0].0, 9, "2.6 m is 0.6 m above the 2.0 m of 15 minutes before");
    let episodes = t.get("/api/v1/rules/level-rise-underpass/episodes", &world.officer).await;
    let episode = &episodes.body[0];
    assert_eq!(episode["scope"], "sensor:level-near", "{}", episodes.text);
    assert!(episode["cleared_at"].is_string(), "the level stopped rising: the episode is over");
    let near = &episode["evidence"]["sensors"][0]["near"];
    assert_eq!((near["feature"].as_str(), near["layer"].as_str()), (Some("up-1"), Some("underpasses")), "{}", episodes.text);
    let metres = near["distance_m"].as_f64().unwrap();
    assert!((280.0..340.0).contains(&metres), "{metres}");
    // The task: the water utility owns it, and it is due 20 minutes after the firing.
    let task = t.get(&format!("/api/v1/tasks/{}", episode["task_id"]), &world.officer).await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.text);
    assert_eq!(task.body["owner_organization_id"], world.water, "{}", task.text);
    assert_eq!(task.body["kind"], "sensor_check");
    assert_eq!(dry_run_agrees_with_live(&t, &world, "level-rise-underpass", text).await, 1);
    // Without the join, both gauges would have fired: the dry run says so before anyone saves it.
    let unjoined = text.replace(", near: { layer: underpasses, within_m: 500 }", "");
    let dry = post_yaml(&t, &world, "/api/v1/rules/dry-run", &unjoined).await;
    assert_eq!(dry.body["sensors"], json!(["level-far", "level-near"]), "{}", dry.text);
    assert_eq!(dry.body["episodes"].as_array().unwrap().len(), 2, "{}", dry.text);
    // The chart's series on PostgreSQL: 19 readings in buckets of 10 minutes, the means between the extremes.
    let series = t.get("/api/v1/sensors/level-near/series?hours=2&points=12", &world.officer).await;
    assert_eq!((series.status, series.body["bucket_seconds"].as_i64()), (StatusCode::OK, Some(600)), "{}", series.text);
    let points = series.body["points"].as_array().unwrap();
    assert_eq!(points.iter().map(|p| p[4].as_i64().unwrap()).sum::<i64>(), 19, "{points:?}");
    assert!(points.iter().all(|p| p[1].as_f64() <= p[2].as_f64() && p[2].as_f64() <= p[3].as_f64()), "{points:?}");
}

#[tokio::test]
async fn two_gauges_of_one_area_together_and_a_silent_sensor_is_flagged() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    sensor(&t, &world, "rain-a", 121.412, 31.162).await;
    sensor(&t, &world, "rain-b", 121.415, 31.165).await;
    sensor(&t, &world, "rain-far", 121.425, 31.165).await;
    let two = SUSTAINED.replace("code: rain-sustained", "code: rain-two").replace("actions:", "together: { min_sensors: 2 }\nactions:");
    rule(&t, &world, &two).await;
    let mut fired = 0;
    // One gauge alone is not enough, however long; nor one here and one in the next community.
    for _ in 0..15 {
        fired += minute(&t, &world, &[("rain-a", 45.0), ("rain-b", 10.0), ("rain-far", 45.0)]).await["fired"].as_array().unwrap().len();
    }
    assert_eq!(fired, 0);
    for _ in 0..15 {
        fired += minute(&t, &world, &[("rain-a", 45.0), ("rain-b", 44.0), ("rain-far", 45.0)]).await["fired"].as_array().unwrap().len();
    }
    assert_eq!(fired, 1, "both gauges of community A held it: one firing");
    let episodes = t.get("/api/v1/rules/rain-two/episodes", &world.officer).await;
    assert_eq!(episodes.body[0]["evidence"]["sensors"].as_array().unwrap().len(), 2, "{}", episodes.text);
    assert_eq!(dry_run_agrees_with_live(&t, &world, "rain-two", &two).await, 1);

    // rain-far goes silent: three intervals on, it is flagged, once.
    for _ in 0..4 {
        minute(&t, &world, &[("rain-a", 45.0), ("rain-b", 44.0)]).await;
    }
    assert_eq!(t.app.monitoring().flag_stale_sensors().await.unwrap(), 1);
    assert_eq!(t.app.monitoring().flag_stale_sensors().await.unwrap(), 0, "flagged once");
    let sensors = t.get("/api/v1/sensors", &world.officer).await;
    let stale: Vec<&str> =
        sensors.body.as_array().unwrap().iter().filter(|s| s["stale_since"].is_string()).map(|s| s["code"].as_str().unwrap()).collect();
    assert_eq!(stale, vec!["rain-far"]);
    // A reading makes it fresh again.
    minute(&t, &world, &[("rain-far", 3.0)]).await;
    let sensors = t.get("/api/v1/sensors", &world.officer).await;
    assert!(sensors.body.as_array().unwrap().iter().all(|s| s["stale_since"].is_null()), "{}", sensors.text);
}

#[tokio::test]
async fn bad_readings_are_refused_one_by_one_and_the_good_ones_kept() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    sensor(&t, &world, "rain-1", 121.412, 31.162).await;
    let now = app::Clock::now_ms(t.clock.as_ref());
    let good = |m: i64| json!({"sensor": "rain-1", "at": at(now - m * MINUTE), "value": 5.0});
    let batch = json!({"readings": [
        good(9),
        "not an object",
        {"sensor": "no-such-gauge", "at": at(now), "value": 1.0},
        {"sensor": "rain-1", "at": at(now - 8 * MINUTE), "value": "NaN"},
        {"sensor": "rain-1", "at": at(now - 7 * MINUTE), "value": 9000.0},
        {"sensor": "rain-1", "at": at(now - 6 * MINUTE), "value": 4.0, "unit": "inch/h"},
        {"sensor": "rain-1", "at": "yesterday", "value": 4.0},
        {"sensor": "rain-1", "at": at(now + 3_600_000), "value": 4.0},
        {"at": at(now), "value": 4.0},
        good(5),
    ]});
    let answer = t.post("/api/v1/observations", &world.liaison, batch).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["accepted"], 2, "the two good readings are kept: {}", answer.text);
    let refused: Vec<(u64, &str, &str)> = answer.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["field"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        vec![
            (1, "reading", "malformed"),
            (2, "sensor", "unknown_sensor"),
            (3, "value", "not_a_number"),
            (4, "value", "impossible_value"),
            (5, "unit", "wrong_unit"),
            (6, "at", "malformed"),
            (7, "at", "in_the_future"),
            (8, "sensor", "unknown_sensor"),
        ]
    );
    // The owner sees what was refused, with the reason.
    let detail = t.get("/api/v1/sensors/rain-1", &world.liaison).await;
    assert_eq!(detail.body["sensor"]["rejected_count"], 5, "{}", detail.text);
    assert!(detail.body["refused"].as_array().unwrap().iter().any(|r| r["reason"] == "wrong_unit"));
    assert_eq!(detail.body["readings"].as_array().unwrap().len(), 2);
    // Much older than what is stored: out of order.
    let old =
        t.post("/api/v1/observations", &world.liaison, json!([{"sensor": "rain-1", "at": at(now - 60 * MINUTE), "value": 1.0}])).await;
    assert_eq!(old.body["rejected"][0]["reason"], "out_of_order", "{}", old.text);
    // A huge batch: the first 10,000 are read, the rest refused; the good ones stay.
    let huge: Vec<Value> =
        (0..10_050).map(|i| json!({"sensor": "rain-1", "at": at(now - 4 * MINUTE + i * 10), "value": 1.0 + (i % 7) as f64})).collect();
    let answer = t.post("/api/v1/observations", &world.liaison, json!(huge)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["accepted"], 10_000);
    let too_many = answer.body["rejected"].as_array().unwrap();
    assert_eq!(
        (too_many.len(), too_many[0]["index"].as_u64(), too_many[0]["reason"].as_str()),
        (50, Some(10_000), Some("batch_too_large"))
    );
    // Malformed JSON: refused whole, with the line and column; nothing stored.
    let Auth::Token(token) = &world.liaison else { unreachable!() };
    let broken = t
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/observations")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT_LANGUAGE, "en")
                .body(Body::from("{\"readings\": [{\"sensor\": \"rain-1\", \"value\": 1.0,,}]}"))
                .unwrap(),
        )
        .await;
    assert_eq!((broken.status, broken.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{}", broken.text);
    // Only the sensor's owner (or the officers) may feed it.
    let cadre = t.post("/api/v1/observations", &world.cadre_a, json!([good(2)])).await;
    assert_eq!(cadre.body["rejected"][0]["reason"], "not_permitted", "{}", cadre.text);
    // A rule that does not parse is refused with its line.
    let Auth::Token(officer) = &world.officer else { unreachable!() };
    let bad_rule = t
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/rules")
                .header(header::AUTHORIZATION, format!("Bearer {officer}"))
                .header(header::CONTENT_TYPE, "application/yaml")
                .header(header::ACCEPT_LANGUAGE, "en")
                .body(Body::from(SUSTAINED.replace("condition:", "conditon:")))
                .unwrap(),
        )
        .await;
    assert_eq!(bad_rule.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_rule.text);
    assert!(bad_rule.text.contains("line 5"), "{}", bad_rule.text);
}
