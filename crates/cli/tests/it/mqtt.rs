//! Readings over MQTT through the real Mosquitto broker (started by `cargo xtask test`): readings published while
//! Gridline is stopped are received when it is back, and every QoS 1 reading is stored exactly once.

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::http::request;
use crate::{Server, admin_token, data_dir};

fn broker() -> (String, u16) {
    let url = std::env::var("GRIDLINE_TEST_MQTT_URL").expect(
        "GRIDLINE_TEST_MQTT_URL is not set: the MQTT tests need a broker. Run them with `cargo xtask test`, which starts Mosquitto",
    );
    let rest = url.trim_start_matches("mqtt://");
    let (host, port) = rest.rsplit_once(':').unwrap();
    (host.to_string(), port.parse().unwrap())
}

/// Publishes each payload at QoS 1 and waits until the broker has acknowledged every one.
fn publish(topic: &str, payloads: &[String]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (host, port) = broker();
        // One client id per publisher: two publishers of one id (tests run in parallel) would disconnect each other.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut options = MqttOptions::new(format!("gridline-test-publisher-{}-{n}", std::process::id()), host, port);
        options.set_keep_alive(Duration::from_secs(10)).set_max_packet_size(8 << 20, 8 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, payloads.len() + 10);
        for payload in payloads {
            client.publish(topic, QoS::AtLeastOnce, false, payload.clone().into_bytes()).await.unwrap();
        }
        let mut acked = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while acked < payloads.len() && Instant::now() < deadline {
            if let Ok(Event::Incoming(Packet::PubAck(_))) = tokio::time::timeout(Duration::from_secs(5), eventloop.poll()).await.unwrap() {
                acked += 1;
            }
        }
        assert_eq!(acked, payloads.len(), "the broker acknowledged every reading");
        client.disconnect().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(2), eventloop.poll()).await;
    });
}

/// A Gridline subscribed to the test broker under its own client id, with a community and one rain gauge `code`
/// (0 to 500 mm/h, every minute). Answers the data directory's guard, the directory, an admin token, the MQTT
/// environment (to start it again) and the running server.
struct Setup {
    _guard: tempfile::TempDir,
    dir: std::path::PathBuf,
    token: String,
    env: Vec<(String, String)>,
    server: Server,
}

fn gridline_with_gauge(code: &str, client: &str) -> Setup {
    let (guard, dir) = data_dir();
    let token = admin_token(&dir, &[]);
    let (host, port) = broker();
    let env = vec![
        ("GRIDLINE_MQTT_URL".to_string(), format!("mqtt://{host}:{port}")),
        ("GRIDLINE_MQTT_CLIENT_ID".to_string(), format!("gridline-test-{client}-{}", std::process::id())),
    ];
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start(&dir, &pairs);
    let square =
        r#"{"type": "Polygon", "coordinates": [[[-8.62, 41.14], [-8.60, 41.14], [-8.60, 41.16], [-8.62, 41.16], [-8.62, 41.14]]]}"#;
    let created = request(
        &server.address,
        "POST",
        "/api/v1/jurisdictions",
        Some(&token),
        Some(&format!(r#"{{"level": "community", "code": "c1", "name_zh": "社区", "boundary": {square}}}"#)),
    )
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let sensor = request(
        &server.address,
        "POST",
        "/api/v1/sensors",
        Some(&token),
        Some(&format!(
            r#"{{"code": "{code}", "kind": "rain_gauge", "quantity": "rainfall_1h", "unit": "mm/h", "lon": -8.61, "lat": 41.15, "interval_seconds": 60, "min_value": 0, "max_value": 500}}"#
        )),
    )
    .unwrap();
    assert_eq!(sensor.status, 201, "{}", sensor.body);
    Setup { _guard: guard, dir, token, env, server }
}

fn stored(server: &Server, token: &str) -> serde_json::Value {
    let answer = request(&server.address, "GET", "/api/v1/sensors/rain-mqtt?hours=48", Some(token), None).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

fn wait_for(server: &Server, token: &str, what: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = stored(server, token);
        if done(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "{what}: {state}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mqtt_readings_published_while_gridline_is_down_are_stored_exactly_once() {
    let Setup { _guard, dir, token, env, server } = gridline_with_gauge("rain-mqtt", "restart");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let topic = "gridline/sensors/rain-mqtt/readings";
    let base = 1_800_000_000_000_i64 - 3_600_000 * 24 * 200;
    let at = |i: i64| app::time::rfc3339(base + i * 60_000);
    // Gridline is subscribed once a reading comes through.
    publish(topic, &[format!(r#"{{"at": "{}", "value": 1.5, "unit": "mm/h"}}"#, at(0))]);
    wait_for(&server, &token, "the first reading arrives", |s| s["readings"].as_array().unwrap().len() == 1);

    // Gridline stops hard; 200 readings are published meanwhile (some twice, one batch message, one malformed).
    server.kill_hard();
    let mut payloads: Vec<String> = (1..=150).map(|i| format!(r#"{{"at": "{}", "value": {}}}"#, at(i), i % 60)).collect();
    payloads.extend((140..=150).map(|i| format!(r#"{{"at": "{}", "value": {}}}"#, at(i), i % 60)));
    let batch: Vec<String> = (151..=200).map(|i| format!(r#"{{"at": "{}", "value": 2.0}}"#, at(i))).collect();
    payloads.push(format!(r#"{{"readings": [{}]}}"#, batch.join(",")));
    payloads.push("this is not json".into());
    publish(topic, &payloads);

    // Back up: everything that was queued for its session arrives, each reading stored once.
    let server = Server::start(&dir, &env);
    wait_for(&server, &token, "every queued reading arrives", |s| s["readings"].as_array().unwrap().len() >= 201);
    std::thread::sleep(Duration::from_millis(500));
    let state = stored(&server, &token);
    let readings = state["readings"].as_array().unwrap();
    assert_eq!(readings.len(), 201, "1 + 150 + 50 distinct readings, each once: {}", readings.len());
    let mut instants: Vec<&str> = readings.iter().map(|r| r[0].as_str().unwrap()).collect();
    instants.dedup();
    assert_eq!(instants.len(), 201);
    assert_eq!(state["sensor"]["rejected_count"], 1, "the malformed message is refused and kept for the owner: {state}");
    assert!(state["refused"].as_array().unwrap().iter().any(|r| r["channel"] == "mqtt" && r["reason"] == "malformed"));
    drop(server);
}

/// Everything wrong a device can send over MQTT, through the real broker: malformed JSON, wrong units, NaN and
/// null, impossible values, unreadable times, a batch beyond 10,000 readings, an unknown sensor, a payload speaking
/// for another sensor. Each is refused with its reason, kept for the owner (or the operators), and the good readings
/// of the same messages are stored. Gridline keeps going.
#[test]
fn bad_mqtt_messages_are_refused_with_reasons_and_the_good_readings_of_a_batch_kept() {
    let setup = gridline_with_gauge("rain-fuzz", "fuzz");
    let (token, server) = (&setup.token, &setup.server);
    let topic = "gridline/sensors/rain-fuzz/readings";
    let base = 1_800_000_000_000_i64 - 3_600_000 * 24 * 200;
    let at = |i: i64| app::time::rfc3339(base + i * 60_000);
    let count = |server: &Server| -> usize {
        let answer = request(&server.address, "GET", "/api/v1/sensors/rain-fuzz?hours=744", Some(token), None).unwrap();
        let state: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        state["readings"].as_array().map_or(0, Vec::len)
    };
    publish(topic, &[format!(r#"{{"at": "{}", "value": 1.5}}"#, at(0))]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(server) < 1 {
        assert!(Instant::now() < deadline, "the first reading arrives");
        std::thread::sleep(Duration::from_millis(100));
    }

    let mixed = format!(
        r#"{{"readings": [
            {{"at": "{}", "value": 3.5}},
            {{"at": "{}", "value": 3.5, "unit": "in/h"}},
            {{"at": "{}", "value": "NaN"}},
            {{"at": "{}", "value": null}},
            {{"at": "{}", "value": 9999}},
            {{"at": "yesterday", "value": 1}},
            42,
            {{"at": "{}", "value": 4.0, "unit": "mm/h"}}
        ]}}"#,
        at(1),
        at(2),
        at(3),
        at(4),
        at(5),
        at(6)
    );
    let huge: Vec<String> = (0..10_050).map(|i| format!(r#"{{"at": "{}", "value": 1.0}}"#, at(100 + i))).collect();
    publish(topic, &["{\"at\": ".to_string(), mixed, format!(r#"{{"readings": [{}]}}"#, huge.join(","))]);
    publish("gridline/sensors/nope/readings", &[format!(r#"{{"at": "{}", "value": 1}}"#, at(7))]);
    publish(topic, &[format!(r#"{{"sensor": "other-gauge", "at": "{}", "value": 1}}"#, at(8))]);

    // The good ones: the first reading, two of the mixed batch, the first 10,000 of the huge one.
    let expected = 1 + 2 + 10_000;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(server) < expected {
        assert!(Instant::now() < deadline, "the good readings arrive: {} of {expected}", count(server));
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(server), expected, "nothing else is stored");
    let answer = request(&server.address, "GET", "/api/v1/sensors/rain-fuzz?hours=1", Some(token), None).unwrap();
    let state: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(state["sensor"]["rejected_count"], 1 + 6 + 50, "every refusal is kept for the owner: {}", state["sensor"]);
    let refused = request(&server.address, "GET", "/api/v1/observations/rejections?limit=1000", Some(token), None).unwrap();
    assert_eq!(refused.status, 200, "{}", refused.body);
    let refused: Vec<serde_json::Value> = serde_json::from_str(&refused.body).unwrap();
    let reasons = |sensor: &str| -> Vec<String> {
        let mut reasons: Vec<String> = refused
            .iter()
            .filter(|r| r["sensor"].as_str() == Some(sensor))
            .map(|r| format!("{}:{}", r["field"].as_str().unwrap(), r["reason"].as_str().unwrap()))
            .collect();
        reasons.sort();
        reasons.dedup();
        reasons
    };
    assert_eq!(
        reasons("rain-fuzz"),
        vec![
            "at:malformed",
            "reading:batch_too_large",
            "reading:malformed",
            "unit:wrong_unit",
            "value:impossible_value",
            "value:not_a_number"
        ],
        "{refused:?}"
    );
    assert_eq!(reasons("nope"), vec!["sensor:unknown_sensor"], "a sensor nobody registered: the operators see it");
    assert_eq!(
        reasons("rain-fuzz (payload names other-gauge)"),
        vec!["sensor:unknown_sensor"],
        "a payload may not speak for another sensor"
    );
    // Still ingesting.
    publish(topic, &[format!(r#"{{"at": "{}", "value": 2.5}}"#, at(20_000))]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(server) < expected + 1 {
        assert!(Instant::now() < deadline, "ingest goes on after all of it");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(setup);
}
