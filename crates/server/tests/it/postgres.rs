//! The same API on PostgreSQL: registry, access control, concurrency and the event stream.

use axum::http::StatusCode;
use serde_json::json;

use crate::{Auth, TestApp, World};

#[tokio::test]
async fn postgres_serves_the_same_api() {
    let t = TestApp::postgres().await;
    let w = World::build(&t).await;
    let listed = t.get("/api/v1/members", &w.cadre_a).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["total"], 2);
    let refused = t.get(&format!("/api/v1/members/{}", w.member_b), &w.cadre_a).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(t.audit(1).await[0].decision, "deny");
    let path = format!("/api/v1/members/{}", w.member_a);
    assert_eq!(t.patch(&path, &w.cadre_a, json!({"version": 1, "status": "deployed"})).await.status, StatusCode::OK);
    let stale = t.patch(&path, &w.cadre_a, json!({"version": 1, "status": "active"})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.body["current_version"], 2);
    let revealed = t.get(&format!("{path}?reveal=true&purpose=check"), &w.officer).await;
    assert_eq!(revealed.body["phone"], "+8613812345678");
    let search = t.get("/api/v1/jurisdictions?q=%E7%A4%BE%E5%8C%BA&sort=-code", &Auth::None).await;
    assert_eq!(search.body["total"], 2, "{}", search.text);
    assert_eq!(search.body["items"][0]["code"], "B");
    let verification = t.app.audit().verify_audit().await.unwrap();
    assert!(matches!(verification, store::audit::Verification::Intact { records, .. } if records > 10));
}

/// A TCP proxy in front of PostgreSQL that the test can cut — every connection dropped and the port closed, so new
/// connections are refused as by a stopped server — and restore on the same port: the database going away, as the
/// server sees it.
struct Proxy {
    address: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (up, mut watch) = tokio::sync::watch::channel(true);
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let list = connections.clone();
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                match &listener {
                    Some(open) => {
                        tokio::select! {
                            accepted = open.accept() => {
                                let Ok((mut client, _)) = accepted else { continue };
                                let upstream = upstream.clone();
                                let task = tokio::spawn(async move {
                                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                                    }
                                });
                                list.lock().unwrap().push(task.abort_handle());
                            }
                            changed = watch.changed() => {
                                if changed.is_err() { return; }
                                if !*watch.borrow() { listener = None; }
                            }
                        }
                    }
                    None => {
                        if watch.changed().await.is_err() {
                            return;
                        }
                        if *watch.borrow() {
                            listener = Some(tokio::net::TcpListener::bind(address).await.unwrap());
                        }
                    }
                }
            }
        });
        Proxy { address, up, connections }
    }

    fn cut(&self) {
        self.up.send_replace(false);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

#[tokio::test]
async fn with_postgres_gone_writes_fail_within_seconds_and_come_back_by_themselves() {
    let mut database = store::testing::TestDatabase::postgres().await;
    let store::Location::Postgres(url) = database.location.clone() else { unreachable!() };
    // host:port of the test server, and the same URL through the proxy.
    let after_at = url.split_once('@').map(|(_, rest)| rest).unwrap_or(&url);
    let upstream = after_at.split('/').next().unwrap().to_string();
    let proxy = Proxy::start(upstream.clone()).await;
    database.location = store::Location::Postgres(url.replacen(&upstream, &proxy.address.to_string(), 1));
    let t = TestApp::with_config(database, app::Config::for_tests()).await;
    let w = World::build(&t).await;
    let member = |name: &str| json!({"jurisdiction_id": w.community_a, "name": name, "roles": ["volunteer"]});
    assert_eq!(t.post("/api/v1/members", &w.officer, member("甲")).await.status, StatusCode::CREATED);
    assert_eq!(t.get("/readyz", &Auth::None).await.status, StatusCode::OK);

    proxy.cut();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // Within a probe or two, readiness says so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while t.get("/readyz", &Auth::None).await.status == StatusCode::OK {
        assert!(std::time::Instant::now() < deadline, "/readyz still says ready 5 s after the database went away");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Every write is answered 503 at once, not after half a minute (the review measured 30 s each).
    for attempt in 0..3 {
        let started = std::time::Instant::now();
        let refused = t.post("/api/v1/members", &w.officer, member("乙")).await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "attempt {attempt}: {}", refused.text);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "attempt {attempt} took {:?}", started.elapsed());
        assert_eq!(refused.body["code"], "unavailable");
    }

    // Back again: it recovers by itself, with nothing restarted.
    proxy.restore();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let response = t.post("/api/v1/members", &w.officer, member("丙")).await;
        if response.status == StatusCode::CREATED {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not recovered 15 s after the database came back: {}", response.text);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(t.get("/readyz", &Auth::None).await.status, StatusCode::OK);
    let names: Vec<String> = t.get("/api/v1/members?limit=100", &w.officer).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.contains(&"甲".to_string()) && names.contains(&"丙".to_string()) && !names.contains(&"乙".to_string()), "{names:?}");
}
