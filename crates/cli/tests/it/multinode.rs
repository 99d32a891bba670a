//! Two `gridline serve` processes on one PostgreSQL database deliver one warning together; one is killed with
//! SIGKILL in the middle of the fan-out. The other takes its deliveries over when their lease runs out, and every
//! household gets its text; the only messages handed over twice are those the killed node had in flight.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::delivery::{post, post_csv, start_gateway_taking};
use crate::{Server, admin_token, data_dir, second_admin_token};

/// The delivery concurrency of each node (`[delivery] concurrency`).
const CONCURRENCY: usize = 16;
/// The delivery lease (`[delivery] lease_seconds`, the default).
const LEASE_SECONDS: u64 = 15;

#[test]
fn postgres_two_nodes_a_node_killed_mid_fan_out_loses_nothing_and_repeats_only_what_was_in_flight() {
    const HOUSEHOLDS: usize = 12_000;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(store::testing::TestDatabase::postgres());
    let store::Location::Postgres(url) = database.location.clone() else { unreachable!() };
    let (gateway_address, gateway) = start_gateway_taking(Duration::from_millis(2));
    let (guard_a, dir_a) = data_dir();
    let (_guard_b, dir_b) = data_dir();
    let config = guard_a.path().join("gridline.toml");
    std::fs::write(
        &config,
        format!(
            "public_url = \"http://gridline.test\"\n[delivery]\nsms_gateway_url = \"http://{gateway_address}/sms\"\nconcurrency = {CONCURRENCY}\nlease_seconds = {LEASE_SECONDS}\n"
        ),
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let env = [("GRIDLINE_CONFIG", config.as_str()), ("GRIDLINE_DATABASE_URL", url.as_str())];
    let token = admin_token(&dir_a, &env);
    let approver = second_admin_token(&dir_a, &env);
    let node_a = Server::start(&dir_a, &env);
    let node_b = Server::start(&dir_b, &env);
    let boundary = r#"{"type":"MultiPolygon","coordinates":[[[[121.3,31.1],[121.6,31.1],[121.6,31.4],[121.3,31.4],[121.3,31.1]]]]}"#;
    let city = post(
        &node_a.address,
        "/api/v1/jurisdictions",
        &token,
        &format!(r#"{{"level":"city","code":"310000","name_zh":"上海市","boundary":{boundary}}}"#),
    );
    let mut csv = String::from("code,grid_code,lon,lat,phone\n");
    for index in 0..HOUSEHOLDS {
        let (x, y) = (index % 200, index / 200);
        csv.push_str(&format!("h{index},310000,{:.6},{:.6},1{index:010}\n", 121.35 + x as f64 * 0.001, 31.15 + y as f64 * 0.001));
    }
    assert_eq!(post_csv(&node_a.address, "/api/v1/households/import", &token, &csv)["imported"], HOUSEHOLDS as i64);
    let expires = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(6)).unwrap().to_string();
    let draft = post(
        &node_a.address,
        "/api/v1/warnings/drafts",
        &token,
        &format!(
            r#"{{"jurisdiction_id":{},"level":"red","hazard":"rainstorm","headline_zh":"暴雨红色预警","description_zh":"特大暴雨。","instruction_zh":"立即转移。","area":{boundary},"expires_at":"{expires}"}}"#,
            city["id"]
        ),
    );
    let id = draft["id"].as_i64().unwrap();
    post(&node_b.address, &format!("/api/v1/warnings/{id}/approve"), &approver, r#"{"version":1}"#);
    post(&node_a.address, &format!("/api/v1/warnings/{id}/issue"), &token, r#"{"version":2,"confirm":true}"#);

    // Two seconds into the fan-out, node A dies without a word.
    let started = Instant::now();
    while gateway.requests.load(Ordering::Relaxed) == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "delivery did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs(2));
    node_a.kill_hard();
    let killed_at = Instant::now();
    let at_kill = gateway.requests.load(Ordering::Relaxed);
    // What A held when it died: its claimed rows not yet finished.
    let orphaned: i64 = runtime.block_on(async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
        let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deliveries WHERE status = 'delivering' AND leased_by NOT LIKE $1")
            .bind(format!("%-{}", node_b.child.id()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        row.0
    });
    assert!(at_kill < HOUSEHOLDS, "A was killed before the fan-out finished ({at_kill} sent)");
    eprintln!("node A killed after {at_kill} hand-overs, holding {orphaned} unfinished deliveries");

    // B finishes: every household gets its text, A's rows taken over within the lease.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let distinct = gateway.by_key.lock().unwrap().len();
        if distinct >= HOUSEHOLDS {
            break;
        }
        assert!(Instant::now() < deadline, "only {distinct} of {HOUSEHOLDS} delivered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let done_after = killed_at.elapsed();
    let by_key = gateway.by_key.lock().unwrap();
    let mut per_recipient: BTreeMap<&str, usize> = BTreeMap::new();
    let mut repeated = 0;
    for (to, count) in by_key.values() {
        *per_recipient.entry(to.as_str()).or_default() += 1;
        repeated += count - 1;
    }
    assert_eq!(per_recipient.len(), HOUSEHOLDS, "every household got its text");
    assert!(per_recipient.values().all(|keys| *keys == 1), "no household got two different deliveries");
    eprintln!("all delivered {done_after:?} after the kill; {repeated} hand-overs repeated with the same idempotency key");
    assert!(repeated <= CONCURRENCY, "only what A had in flight may be handed over twice: {repeated} repeats, concurrency {CONCURRENCY}");
    // A's rows came back within the lease (plus B's own pace): B did not sit out a minute.
    assert!(done_after < Duration::from_secs(LEASE_SECONDS + 45), "{done_after:?}");
    drop(by_key);
    drop(node_b);
}
