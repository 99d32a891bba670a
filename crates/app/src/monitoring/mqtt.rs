//! Readings over MQTT: Gridline subscribes to `gridline/sensors/{code}/readings` at QoS 1 with a persistent
//! session, so readings published while it is down are delivered when it is back. A message is acknowledged to
//! the broker only after its readings are committed; a message redelivered after a crash is stored once (a
//! reading's sensor and instant are its key).
//!
//! Payloads are JSON: one reading `{"at": "2026-07-15T06:00:00Z", "value": 12.5, "unit": "mm/h"}`, a batch
//! `{"readings": [...]}`, or an array. The sensor is the topic's; a reading may not name another. Messages are taken
//! in batches (up to 5,000 messages, 20,000 readings or 200 ms) and stored in one transaction.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde_json::Value;

use crate::Context;
use crate::monitoring::Monitoring;
use crate::monitoring::MonitoringConfig;

/// The topic filter Gridline subscribes to.
pub const TOPIC_FILTER: &str = "gridline/sensors/+/readings";

/// The sensor code a topic names.
pub fn sensor_of_topic(topic: &str) -> Option<&str> {
    let rest = topic.strip_prefix("gridline/sensors/")?;
    let code = rest.strip_suffix("/readings")?;
    (!code.is_empty() && !code.contains('/')).then_some(code)
}

/// The largest MQTT message Gridline takes; the broker should refuse larger ones (`max_packet_size`).
pub const MAX_MESSAGE_BYTES: usize = 32 << 20;

/// The readings of one message, each with its sensor set to the topic's.
fn items_of(publish: &Publish) -> Vec<Value> {
    let sensor = sensor_of_topic(&publish.topic).map(str::to_string);
    let parsed: Value = match serde_json::from_slice(&publish.payload) {
        Ok(value) => value,
        // Not JSON: one refused item, with an excerpt, under the topic's sensor.
        Err(_) => {
            let excerpt: String = String::from_utf8_lossy(&publish.payload).chars().take(120).collect();
            return vec![serde_json::json!({"sensor": sensor, "payload": excerpt})];
        }
    };
    let mut items = match parsed {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("readings") {
            Some(Value::Array(items)) => items,
            Some(_) => vec![Value::Null],
            None => vec![Value::Object(object)],
        },
        other => vec![other],
    };
    for item in &mut items {
        if let Value::Object(object) = item {
            // The topic decides the sensor: a payload may not speak for another sensor.
            match (object.get("sensor").and_then(Value::as_str), &sensor) {
                (Some(named), Some(topic)) if named != topic => {
                    object.insert("sensor".into(), Value::String(format!("{topic} (payload names {named})")));
                }
                _ => {
                    object.insert("sensor".into(), sensor.clone().map(Value::String).unwrap_or(Value::Null));
                }
            }
        }
    }
    items
}

/// `mqtt://host:port` → (host, port).
fn host_port(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("mqtt://").or_else(|| url.strip_prefix("tcp://"))?;
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None => Some((rest.to_string(), 1883)),
    }
}

impl Monitoring {
    /// Runs MQTT ingest until `stop` turns true; reconnects on its own after the broker goes away.
    ///
    /// The event loop is polled in its own task and never cancelled (its `poll` is not cancel-safe); messages reach
    /// the ingest loop through a channel, tagged with the connection they came on, so that a message of a lost
    /// connection is never acknowledged on the next one (the broker redelivers it instead).
    pub async fn run_mqtt_ingest(&self, config: MonitoringConfig, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(url) = config.mqtt_url.clone() else { return };
        let Some((host, port)) = host_port(&url) else {
            tracing::error!(%url, "[monitoring] mqtt_url must look like mqtt://host:port; MQTT ingest is off");
            return;
        };
        let mut options = MqttOptions::new(config.mqtt_client_id.clone(), host, port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_session(false)
            .set_manual_acks(true)
            // Up to 32 MiB a message (far beyond the 10,000 readings a batch may hold: the rest are refused one by
            // one). A larger message would never be acknowledged and the broker would hand it over again at every
            // reconnection, so the broker must refuse it first: set Mosquitto's `max_packet_size 33554432`.
            .set_max_packet_size(MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
        let (client, mut eventloop) = AsyncClient::new(options, 10_000);
        let connection = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        // Unbounded, so that the poller never waits on the ingest loop while the ingest loop waits for the poller to
        // send its acknowledgements (that wait would stop the keep-alive, and the broker would drop the session).
        // The broker's in-flight window bounds what it holds.
        let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<(u64, Publish)>();
        let poller = tokio::spawn({
            let (client, connection, url) = (client.clone(), connection.clone(), url.clone());
            async move {
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            connection.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            tracing::info!(%url, "MQTT connected");
                            if let Err(error) = client.subscribe(TOPIC_FILTER, QoS::AtLeastOnce).await {
                                tracing::warn!(%error, "MQTT subscribe failed");
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(publish))) => {
                            let tag = connection.load(std::sync::atomic::Ordering::SeqCst);
                            if sender.send((tag, publish)).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(%error, "MQTT connection lost; reconnecting");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
        });
        let ctx = Context::system("mqtt", domain::Locale::En);
        let mut pending: Vec<(u64, Publish)> = Vec::new();
        // The readings of the pending messages, each marked when beyond its own message's limit.
        let mut items: Vec<(Value, bool, Option<String>)> = Vec::new();
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                message = received.recv() => match message {
                    Some(message) => {
                        let topic = sensor_of_topic(&message.1.topic).map(str::to_string);
                        items.extend(
                            items_of(&message.1)
                                .into_iter()
                                .enumerate()
                                .map(|(i, item)| (item, i >= crate::monitoring::MAX_BATCH, topic.clone())),
                        );
                        pending.push(message);
                        // A write every 5,000 messages or 20,000 readings (or 200 ms), whichever comes first.
                        if pending.len() < 5_000 && items.len() < 20_000 {
                            continue;
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep(Duration::from_millis(200)), if !pending.is_empty() => {}
                _ = stop.changed() => break,
            }
            if pending.is_empty() {
                continue;
            }
            let marked: Vec<(&Value, bool, Option<&str>)> =
                items.iter().map(|(item, beyond, topic)| (item, *beyond, topic.as_deref())).collect();
            let outcome = self.ingest_marked(&ctx, "mqtt", &marked, None).await;
            drop(marked);
            items.clear();
            match outcome {
                Ok(report) => {
                    if !report.rejected.is_empty() {
                        tracing::info!(refused = report.rejected.len(), "MQTT readings refused (kept for their owners)");
                    }
                    let current = connection.load(std::sync::atomic::Ordering::SeqCst);
                    for (tag, publish) in pending.drain(..) {
                        // A message of a lost connection is redelivered by the broker; acknowledging it here could
                        // acknowledge another message that reuses its packet id.
                        if tag == current
                            && let Err(error) = client.ack(&publish).await
                        {
                            tracing::warn!(%error, "MQTT ack failed; the broker will redeliver");
                        }
                    }
                }
                // Not stored (the database is away): not acknowledged, so the broker delivers them again.
                Err(error) => {
                    tracing::warn!(%error, "MQTT readings not stored; they will be redelivered");
                    pending.clear();
                    let _ = client.disconnect().await;
                }
            }
        }
        let _ = client.disconnect().await;
        poller.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_their_sensor() {
        assert_eq!(sensor_of_topic("gridline/sensors/rain-1/readings"), Some("rain-1"));
        assert_eq!(sensor_of_topic("gridline/sensors//readings"), None);
        assert_eq!(sensor_of_topic("gridline/sensors/a/b/readings"), None);
        assert_eq!(sensor_of_topic("other/rain-1/readings"), None);
        assert_eq!(host_port("mqtt://127.0.0.1:1884"), Some(("127.0.0.1".into(), 1884)));
        assert_eq!(host_port("mqtt://broker"), Some(("broker".into(), 1883)));
        assert_eq!(host_port("http://broker"), None);
    }

    #[test]
    fn payloads_become_items_of_the_topics_sensor() {
        let publish = |payload: &str| Publish::new("gridline/sensors/rain-1/readings", QoS::AtLeastOnce, payload.as_bytes().to_vec());
        let one = items_of(&publish(r#"{"at": "2026-07-15T06:00:00Z", "value": 3}"#));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["sensor"], "rain-1");
        let batch = items_of(&publish(r#"{"readings": [{"at": 1, "value": 1}, {"at": 2, "value": 2}]}"#));
        assert_eq!(batch.len(), 2);
        let other = items_of(&publish(r#"{"sensor": "gas-9", "at": 1, "value": 1}"#));
        assert_ne!(other[0]["sensor"], "gas-9", "a payload cannot write to another sensor");
        let garbage = items_of(&publish("not json"));
        assert_eq!(garbage.len(), 1);
    }
}
