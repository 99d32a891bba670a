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
        let mut options = MqttOptions::new(format!("gridline-test-publisher-{}", std::process::id()), host, port);
        options.set_keep_alive(Duration::from_secs(10));
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
    let (_guard, dir) = data_dir();
    let token = admin_token(&dir, &[]);
    let (host, port) = broker();
    let url = format!("mqtt://{host}:{port}");
    let client_id = format!("gridline-test-{}", std::process::id());
    let env = [("GRIDLINE_MQTT_URL", url.as_str()), ("GRIDLINE_MQTT_CLIENT_ID", client_id.as_str())];
    let server = Server::start(&dir, &env);
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
        Some(r#"{"code": "rain-mqtt", "kind": "rain_gauge", "quantity": "rainfall_1h", "unit": "mm/h", "lon": -8.61, "lat": 41.15, "interval_seconds": 60, "min_value": 0, "max_value": 500}"#),
    )
    .unwrap();
    assert_eq!(sensor.status, 201, "{}", sensor.body);
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
