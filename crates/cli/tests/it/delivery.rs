//! The delivery outbox survives a crash: a warning to 100,000 households, the server killed with SIGKILL in the
//! middle of delivering, restarted — and afterwards every household got exactly one message.
//!
//! "Exactly one" is judged as a real SMS gateway judges it: by the delivery's idempotency key, which stays the same
//! on every retry. A message the server handed over just before it died, but whose acceptance it never recorded,
//! is handed over again after the restart with the same key, and the gateway drops it. The test checks that no
//! household got two different keys (two deliveries), that every household got one, and reports how many
//! hand-overs were repeated.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Server, admin_token, data_dir, http};

/// What the gateway saw: for each idempotency key, the recipient and how often it was handed over.
#[derive(Debug, Default)]
pub(crate) struct Gateway {
    pub(crate) by_key: Mutex<HashMap<String, (String, usize)>>,
    pub(crate) requests: AtomicUsize,
}

/// A minimal SMS gateway over HTTP/1.1 with keep-alive, one thread per connection.
fn start_gateway() -> (String, Arc<Gateway>) {
    start_gateway_taking(Duration::ZERO)
}

/// The same gateway, taking `delay` over each message (as a real carrier's API does).
pub(crate) fn start_gateway_taking(delay: Duration) -> (String, Arc<Gateway>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let gateway = Arc::new(Gateway::default());
    let shared = gateway.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let gateway = shared.clone();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut key = String::new();
                    let mut line = String::new();
                    // The request line, then headers up to the blank line.
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = line.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            match name.trim().to_ascii_lowercase().as_str() {
                                "content-length" => length = value.trim().parse().unwrap_or(0),
                                "idempotency-key" => key = value.trim().to_string(),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    if !delay.is_zero() {
                        std::thread::sleep(delay);
                    }
                    let message: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let to = message["to"].as_str().unwrap_or_default().to_string();
                    gateway.requests.fetch_add(1, Ordering::Relaxed);
                    gateway.by_key.lock().unwrap().entry(key).or_insert((to, 0)).1 += 1;
                    if writer.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    (address, gateway)
}

pub(crate) fn post(address: &str, path: &str, token: &str, body: &str) -> serde_json::Value {
    let response = http::request(address, "POST", path, Some(token), Some(body)).unwrap();
    assert!((200..300).contains(&response.status), "{path}: {} {}", response.status, response.body);
    serde_json::from_str(&response.body).unwrap()
}

/// Posts a CSV body (the test client only speaks JSON, so this one is written out).
pub(crate) fn post_csv(address: &str, path: &str, token: &str, csv: &str) -> serde_json::Value {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        csv.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(csv.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    serde_json::from_str(body).unwrap()
}

#[test]
fn a_restart_in_the_middle_of_delivering_loses_and_duplicates_nothing() {
    const HOUSEHOLDS: usize = 100_000;
    let (guard, dir) = data_dir();
    let (gateway_address, gateway) = start_gateway();
    let config = guard.path().join("gridline.toml");
    std::fs::write(
        &config,
        format!(
            "[delivery]\nsms_gateway_url = \"http://{gateway_address}/sms\"\nbatch = 500\nconcurrency = 32\nlease_seconds = 10\n\n[warnings]\npublic_url = \"http://gridline.test\"\n"
        ),
    )
    .unwrap();
    let config_path = config.to_string_lossy().into_owned();
    let env = [("GRIDLINE_CONFIG", config_path.as_str())];
    let token = admin_token(&dir, &env);
    let approver = crate::second_admin_token(&dir, &env);
    let server = Server::start(&dir, &env);
    let boundary = r#"{"type":"MultiPolygon","coordinates":[[[[121.3,31.1],[121.6,31.1],[121.6,31.4],[121.3,31.4],[121.3,31.1]]]]}"#;
    let city = post(
        &server.address,
        "/api/v1/jurisdictions",
        &token,
        &format!(r#"{{"level":"city","code":"310000","name_zh":"上海市","boundary":{boundary}}}"#),
    );
    let city_id = city["id"].as_i64().unwrap();
    let mut csv = String::with_capacity(HOUSEHOLDS * 48);
    csv.push_str("code,grid_code,lon,lat,phone\n");
    for index in 0..HOUSEHOLDS {
        let (x, y) = (index % 400, index / 400);
        csv.push_str(&format!("h{index},310000,{:.6},{:.6},1{index:010}\n", 121.35 + x as f64 * 0.0005, 31.15 + y as f64 * 0.0005));
    }
    let imported = post_csv(&server.address, "/api/v1/households/import", &token, &csv);
    assert_eq!(imported["imported"], HOUSEHOLDS as i64, "{imported}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let expires = jiff::Timestamp::from_second(now + 86_400).unwrap().to_string();
    let draft = post(
        &server.address,
        "/api/v1/warnings/drafts",
        &token,
        &format!(
            r#"{{"jurisdiction_id":{city_id},"level":"orange","hazard":"typhoon","headline_zh":"台风橙色预警","description_zh":"台风将于今晚登陆。","instruction_zh":"关好门窗，留在室内。","area":{boundary},"expires_at":"{expires}"}}"#
        ),
    );
    let id = draft["id"].as_i64().unwrap();
    post(&server.address, &format!("/api/v1/warnings/{id}/approve"), &approver, r#"{"version":1}"#);
    post(&server.address, &format!("/api/v1/warnings/{id}/issue"), &token, r#"{"version":2,"confirm":true}"#);

    // Kill the server once a fifth of the households have their message, in the middle of a round of 500 (so
    // that some messages are handed over but their acceptance not yet recorded).
    let deadline = Instant::now() + Duration::from_secs(300);
    while gateway.requests.load(Ordering::Relaxed) < HOUSEHOLDS / 5 + 250 {
        assert!(Instant::now() < deadline, "delivery did not start: {} requests", gateway.requests.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill_hard();
    let at_kill = gateway.requests.load(Ordering::Relaxed);
    assert!(at_kill < HOUSEHOLDS, "the server was killed before it finished ({at_kill} sent)");

    // Restart: expired leases make the unrecorded deliveries due again, and delivery carries on.
    let server = Server::start(&dir, &env);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let distinct = gateway.by_key.lock().unwrap().len();
        if distinct >= HOUSEHOLDS {
            break;
        }
        assert!(Instant::now() < deadline, "only {distinct} of {HOUSEHOLDS} delivered after the restart");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The outbox agrees: every delivery recorded as delivered once the restarted worker is done (deliveries the
    // killed server handed over without recording its success are handed over again once their lease expires).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let reach = http::request(&server.address, "GET", &format!("/api/v1/warnings/{id}/reach"), Some(&token), None).unwrap();
        let reach: serde_json::Value = serde_json::from_str(&reach.body).unwrap();
        if reach["deliveries"]["delivered"] == HOUSEHOLDS as i64 {
            assert_eq!(reach["total"]["targeted"], HOUSEHOLDS as i64);
            break;
        }
        assert!(Instant::now() < deadline, "the outbox does not show every delivery delivered: {}", reach["deliveries"]);
        std::thread::sleep(Duration::from_millis(200));
    }
    let by_key = gateway.by_key.lock().unwrap();
    let mut per_recipient: BTreeMap<&str, usize> = BTreeMap::new();
    let mut repeated = 0;
    for (to, count) in by_key.values() {
        *per_recipient.entry(to.as_str()).or_default() += 1;
        repeated += count - 1;
    }
    assert_eq!(per_recipient.len(), HOUSEHOLDS, "every household got a message");
    let doubled: Vec<_> = per_recipient.iter().filter(|(_, keys)| **keys != 1).take(5).collect();
    assert!(doubled.is_empty(), "households with two different deliveries: {doubled:?}");
    eprintln!(
        "restart mid-delivery: {at_kill} hand-overs before the kill, {} in all, {repeated} repeated with the same idempotency key",
        gateway.requests.load(Ordering::Relaxed)
    );
}
