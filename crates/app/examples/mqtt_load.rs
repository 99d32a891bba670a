//! The MQTT load generator of the ingest benchmark (`bench/monitoring/run.sh`), so that the broker's own rate and
//! Gridline's are measured with the same publisher:
//!
//!   mqtt_load pub --port P --topics T1,T2,… --per N [--start-ms MS]   QoS 1 JSON readings, waits for every PUBACK
//!   mqtt_load sub --port P --topic FILTER --count N                   exits after N messages

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).ok_or("pub or sub")?;
    let port: u16 = argument("--port").ok_or("--port")?.parse()?;
    let mut options = MqttOptions::new(format!("mqtt-load-{mode}-{}", std::process::id()), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30)).set_inflight(500).set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let started = Instant::now();
    if mode == "sub" {
        let count: usize = argument("--count").ok_or("--count")?.parse()?;
        client.subscribe(argument("--topic").ok_or("--topic")?, QoS::AtLeastOnce).await?;
        let mut received = 0;
        while received < count {
            if let Event::Incoming(Packet::Publish(_)) = eventloop.poll().await? {
                received += 1;
            }
        }
        println!("{:.3}", started.elapsed().as_secs_f64());
        return Ok(());
    }
    let topics: Vec<String> = argument("--topics").ok_or("--topics")?.split(',').map(str::to_string).collect();
    let per: i64 = argument("--per").ok_or("--per")?.parse()?;
    let start_ms: i64 = argument("--start-ms").unwrap_or_else(|| "1700000000000".into()).parse()?;
    let total = topics.len() * per as usize;
    let publisher = tokio::spawn(async move {
        for i in 1..=per {
            for topic in &topics {
                let payload = format!(r#"{{"at": {}, "value": {}}}"#, start_ms + i * 1000, i % 900);
                if client.publish(topic.clone(), QoS::AtLeastOnce, false, payload.into_bytes()).await.is_err() {
                    return;
                }
            }
        }
    });
    let mut acked = 0;
    while acked < total {
        if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await? {
            acked += 1;
        }
    }
    publisher.await?;
    println!("{:.3}", started.elapsed().as_secs_f64());
    Ok(())
}
