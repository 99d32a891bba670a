//! Sign-in sessions, CSRF, throttling, API tokens.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::{Auth, TestApp, World};

async fn login(t: &TestApp, username: &str, password: &str) -> crate::TestResponse {
    t.post("/api/v1/sessions", &Auth::None, json!({"username": username, "password": password})).await
}

fn session_of(response: &crate::TestResponse) -> Auth {
    let cookie = response.headers[header::SET_COOKIE].to_str().unwrap();
    let pair = cookie.split(';').next().unwrap().to_string();
    Auth::Session { cookie: pair, csrf: response.body["csrf_token"].as_str().map(str::to_string) }
}

#[tokio::test]
async fn sessions_need_csrf_for_writes_and_end_at_logout() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let response = login(&t, "cadre.a", "cadre.a-password-long").await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let set_cookie = response.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert_eq!(response.body["account"]["username"], "cadre.a");
    let session = session_of(&response);
    let token_in_cookie = match &session {
        Auth::Session { cookie, .. } => cookie.split('=').nth(1).unwrap().to_string(),
        _ => unreachable!(),
    };
    // Only the token's hash is stored.
    let mut reader = t.app.store().reader().await.unwrap();
    let stored: String = reader.conn().fetch_one("SELECT token_hash FROM sessions", &[]).await.unwrap().get("token_hash").unwrap();
    assert_ne!(stored, token_in_cookie);
    assert_eq!(stored.len(), 64);
    drop(reader);

    assert_eq!(t.get("/api/v1/me", &session).await.body["username"], "cadre.a");
    let path = format!("/api/v1/members/{}", w.member_a);
    let Auth::Session { cookie, .. } = session.clone() else { unreachable!() };
    let without_csrf =
        t.patch(&path, &Auth::Session { cookie: cookie.clone(), csrf: None }, json!({"version": 1, "status": "deployed"})).await;
    assert_eq!(without_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(without_csrf.body["code"], "csrf_failed");
    let wrong_csrf = t
        .patch(&path, &Auth::Session { cookie: cookie.clone(), csrf: Some("0".repeat(64)) }, json!({"version": 1, "status": "deployed"}))
        .await;
    assert_eq!(wrong_csrf.body["code"], "csrf_failed");
    let with_csrf = t.patch(&path, &session, json!({"version": 1, "status": "deployed"})).await;
    assert_eq!(with_csrf.status, StatusCode::OK, "{}", with_csrf.text);

    // A cross-site request is refused even with the token.
    let request = Request::builder()
        .method(Method::PATCH)
        .uri(&path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", response.body["csrf_token"].as_str().unwrap())
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(json!({"version": 2, "status": "active"}).to_string()))
        .unwrap();
    assert_eq!(t.send(request).await.status, StatusCode::FORBIDDEN);

    let out = t.request(Method::DELETE, "/api/v1/sessions/current", &session, None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(t.get("/api/v1/me", &session).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire() {
    let t = TestApp::new().await;
    World::build(&t).await;
    let session = session_of(&login(&t, "officer", "officer-password-long").await);
    assert_eq!(t.get("/api/v1/me", &session).await.status, StatusCode::OK);
    t.clock.advance_ms(t.app.config().session_ttl_seconds * 1000 + 1);
    assert_eq!(t.get("/api/v1/me", &session).await.status, StatusCode::UNAUTHORIZED);
}

/// A sign-in from a client at `address`, bringing the cookies `cookies` (a device cookie).
async fn login_from(t: &TestApp, address: &str, username: &str, password: &str, cookies: Option<&str>) -> crate::TestResponse {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sessions")
        .header(header::ACCEPT_LANGUAGE, "en")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "Mozilla/5.0 (Linux; Android 14) test");
    if let Some(cookies) = cookies {
        builder = builder.header(header::COOKIE, cookies);
    }
    let mut request = builder.body(Body::from(json!({"username": username, "password": password}).to_string())).unwrap();
    let socket: std::net::SocketAddr = format!("{address}:50000").parse().or_else(|_| format!("[{address}]:50000").parse()).unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(socket));
    t.send(request).await
}

/// The value of the cookie `name` a response sets.
fn set_cookie(response: &crate::TestResponse, name: &str) -> Option<String> {
    response.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|cookie| {
        let pair = cookie.split(';').next()?;
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

/// Fails to sign in as `username` from `address`, waiting out each delay first, so every attempt is a real failure.
async fn fail_from(t: &TestApp, address: &str, username: &str) {
    loop {
        let response = login_from(t, address, username, "a wrong password", None).await;
        match response.status {
            StatusCode::UNAUTHORIZED => return,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: i64 = response.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
                assert!((1..=900).contains(&wait), "{wait}");
                t.clock.advance_ms(wait * 1000);
            }
            other => panic!("{other}: {}", response.text),
        }
    }
}

#[tokio::test]
async fn failures_elsewhere_never_keep_the_right_person_out() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let attacker = "203.0.113.9";
    let officer_phone = "198.51.100.20";

    // The review's attack: wrong passwords for the duty officer from one address. After five, each further try
    // from that address waits, twice as long each time.
    for _ in 0..5 {
        assert_eq!(login_from(&t, attacker, "officer", "a wrong password", None).await.status, StatusCode::UNAUTHORIZED);
    }
    let slowed = login_from(&t, attacker, "officer", "officer-password-long", None).await;
    assert_eq!((slowed.status, slowed.body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{}", slowed.text);
    assert_eq!(slowed.headers[header::RETRY_AFTER], "1");
    // The owner is told, and so are the administrators; nobody else sees it.
    let told = |auth: &Auth| {
        let auth = auth.clone();
        let t = &t;
        async move {
            let Auth::Token(token) = auth else { unreachable!() };
            let request = Request::builder()
                .uri("/api/v1/events")
                .header(header::ACCEPT, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let events = t.send(request).await;
            assert_eq!(events.status, StatusCode::OK, "{}", events.text);
            events.body.as_array().unwrap().iter().filter(|e| e["kind"] == "account.sign_in_failures").count()
        }
    };
    assert_eq!(told(&w.officer).await, 1, "the officer is told");
    assert_eq!(told(&w.admin).await, 1, "the administrators are told");
    assert_eq!(told(&w.cadre_a).await, 0, "nobody else");

    // The officer's own phone, elsewhere, is never slowed by any of it: 45 more failures from the attacker.
    let first = login_from(&t, officer_phone, "officer", "officer-password-long", None).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["failed_sign_ins_since_last"], 5, "the owner sees what happened since their last sign-in");
    for _ in 0..45 {
        fail_from(&t, attacker, "officer").await;
        let right = login_from(&t, officer_phone, "officer", "officer-password-long", None).await;
        assert_eq!(right.status, StatusCode::CREATED, "{}", right.text);
    }
    // The waits grew, and never past the cap; the account was never locked.
    let waiting = login_from(&t, attacker, "officer", "a wrong password", None).await;
    let wait: i64 = waiting.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait > 60 && wait <= 900, "{wait}");
    let denied = t
        .app
        .audit()
        .list_audit(
            &t.system(),
            &app::audit::AuditParams {
                action: Some("auth.login".into()),
                decision: Some("deny".into()),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(denied.iter().filter(|r| r.reason == "invalid_credentials").count(), 50, "every failure is audited");

    // Password spraying: thirty failures across accounts from one address slow every account there …
    let sprayer = "192.0.2.66";
    let device = set_cookie(&login_from(&t, sprayer, "cadre.a", "cadre.a-password-long", None).await, "gridline_device").unwrap();
    for index in 0..30 {
        fail_from(&t, sprayer, &format!("nobody-{index}")).await;
    }
    let fresh = login_from(&t, sprayer, "cadre.b", "cadre.b-password-long", None).await;
    assert_eq!(fresh.status, StatusCode::TOO_MANY_REQUESTS, "{}", fresh.text);
    // … except on a device that signed in as that account before: its device cookie answers for it.
    let known = login_from(&t, sprayer, "cadre.a", "cadre.a-password-long", Some(&format!("gridline_device={device}"))).await;
    assert_eq!(known.status, StatusCode::CREATED, "{}", known.text);
    // A device cookie is the account's own: it does not vouch for another username.
    let borrowed = login_from(&t, sprayer, "cadre.b", "cadre.b-password-long", Some(&format!("gridline_device={device}"))).await;
    assert_eq!(borrowed.status, StatusCode::TOO_MANY_REQUESTS);

    // An IPv6 attacker counts by their /64, whichever address of it they use.
    for index in 0..5 {
        fail_from(&t, &format!("2001:db8:0:7::{index}"), "cadre.b").await;
    }
    let same_64 = login_from(&t, "2001:db8:0:7::ffff", "cadre.b", "a wrong password", None).await;
    assert_eq!(same_64.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login_from(&t, "2001:db8:0:8::1", "cadre.b", "cadre.b-password-long", None).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn people_see_and_end_their_other_sessions_and_expired_ones_are_purged() {
    let t = TestApp::new().await;
    World::build(&t).await;
    let desk = login_from(&t, "198.51.100.1", "officer", "officer-password-long", None).await;
    let phone = login_from(&t, "198.51.100.2", "officer", "officer-password-long", None).await;
    let desk = session_of(&desk);
    let phone = session_of(&phone);
    let sessions = t.get("/api/v1/me/sessions", &desk).await;
    assert_eq!(sessions.status, StatusCode::OK, "{}", sessions.text);
    let list = sessions.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(list.iter().all(|s| s["user_agent"].as_str().unwrap().contains("Android") && s["id"].as_str().unwrap().len() == 16));
    assert!(!sessions.text.contains("token"), "no token or hash is shown");
    // The phone is lost: end its session from the desk.
    let phone_id = list.iter().find(|s| s["client_address"] == "198.51.100.2").unwrap()["id"].as_str().unwrap().to_string();
    let ended = t.request(Method::DELETE, &format!("/api/v1/me/sessions/{phone_id}"), &desk, None).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text);
    assert_eq!(t.get("/api/v1/me", &phone).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/me", &desk).await.status, StatusCode::OK);
    // Nobody ends another person's session by its id.
    let other = session_of(&login_from(&t, "198.51.100.3", "cadre.a", "cadre.a-password-long", None).await);
    let other_id = t.get("/api/v1/me/sessions", &other).await.body[0]["id"].as_str().unwrap().to_string();
    let refused = t.request(Method::DELETE, &format!("/api/v1/me/sessions/{other_id}"), &desk, None).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/api/v1/me", &other).await.status, StatusCode::OK);
    // Expired sessions are removed on the worker's beat.
    assert_eq!(t.count("sessions").await, 2);
    t.clock.advance_ms(t.app.config().session_ttl_seconds * 1000 + 1);
    assert_eq!(t.app.access().purge_expired_sessions().await.unwrap(), 2);
    assert_eq!(t.count("sessions").await, 0);
}

#[tokio::test]
async fn api_tokens_are_hashed_and_revocable_at_once() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let created = t.post("/api/v1/tokens", &w.liaison, json!({"name": "pump station gateway", "expires_in_days": 30})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let token = created.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("gl_"));
    let id = created.body["details"]["id"].as_i64().unwrap();
    let machine = Auth::Token(token.clone());
    assert_eq!(t.get("/api/v1/me", &machine).await.body["username"], "liaison");
    let listed = t.get("/api/v1/tokens", &w.liaison).await;
    assert!(!listed.text.contains(&token), "tokens are never listed");
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    // Someone else cannot revoke it; its owner can, and it stops working on the next request.
    assert_eq!(t.request(Method::DELETE, &format!("/api/v1/tokens/{id}"), &w.cadre_a, None).await.status, StatusCode::FORBIDDEN);
    let revoked = t.request(Method::DELETE, &format!("/api/v1/tokens/{id}"), &w.liaison, None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.body["revoked_at"].is_string());
    assert_eq!(t.get("/api/v1/me", &machine).await.status, StatusCode::UNAUTHORIZED);
    // Passwords: one's own needs the current one, and a change ends sessions.
    let me = t.get("/api/v1/me", &w.cadre_a).await.body;
    let path = format!("/api/v1/accounts/{}/password", me["id"]);
    let wrong = t
        .request(Method::PUT, &path, &w.cadre_a, Some(json!({"current_password": "nope", "new_password": "a brand new passphrase"})))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let short = t
        .request(Method::PUT, &path, &w.cadre_a, Some(json!({"current_password": "cadre.a-password-long", "new_password": "short"})))
        .await;
    assert_eq!(short.body["field"], "new_password");
    let ok = t
        .request(
            Method::PUT,
            &path,
            &w.cadre_a,
            Some(json!({"current_password": "cadre.a-password-long", "new_password": "a brand new passphrase"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.text);
    assert_eq!(login(&t, "cadre.a", "a brand new passphrase").await.status, StatusCode::CREATED);
    // The stored hash is Argon2id.
    let mut reader = t.app.store().reader().await.unwrap();
    let hash: String = reader
        .conn()
        .fetch_one("SELECT password_hash FROM accounts WHERE username = 'cadre.a'", &[])
        .await
        .unwrap()
        .get("password_hash")
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn disabled_accounts_are_signed_out() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let session = session_of(&login(&t, "cadre.b", "cadre.b-password-long").await);
    let me = t.get("/api/v1/me", &session).await.body;
    let disabled = t.patch(&format!("/api/v1/accounts/{}", me["id"]), &w.admin, json!({"version": me["version"], "disabled": true})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(t.get("/api/v1/me", &session).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/me", &w.cadre_b).await.body["code"], "account_disabled");
    assert_eq!(login(&t, "cadre.b", "cadre.b-password-long").await.body["code"], "account_disabled");
}

#[tokio::test]
async fn attempts_sent_at_once_are_counted_one_after_another() {
    let t = TestApp::new().await;
    World::build(&t).await;
    // Twenty guesses sent together from one address: each is counted before its password is checked, so only the
    // free ones are checked at all and the rest wait (they slipped past the count when it was read, then written).
    let attempts = (0..20).map(|_| login_from(&t, "203.0.113.77", "officer", "a wrong password", None));
    let answers = futures_util::future::join_all(attempts).await;
    let checked = answers.iter().filter(|a| a.status == StatusCode::UNAUTHORIZED).count();
    let waiting = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, waiting), (5, 15), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    // Refusals for waiting are sampled, not each written: they cost an attacker nothing to send.
    let written = t
        .app
        .audit()
        .list_audit(&t.system(), &app::audit::AuditParams { action: Some("auth.login".into()), limit: Some(100), ..Default::default() })
        .await
        .unwrap()
        .iter()
        .filter(|r| r.reason == "rate_limited")
        .count();
    assert!(written <= app::refusals::SAMPLED_PER_WINDOW as usize, "{written} rate_limited records");
    // And the right person elsewhere is not slowed by any of it.
    assert_eq!(login_from(&t, "198.51.100.5", "officer", "officer-password-long", None).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_guessing_attack_from_many_addresses_slows_unknown_devices_but_never_the_owners_own() {
    let t = TestApp::new().await;
    World::build(&t).await;
    // The owner signs in once on their phone: it keeps the device cookie.
    let first = login_from(&t, "198.51.100.9", "cadre.a", "cadre.a-password-long", None).await;
    let device = format!("gridline_device={}", set_cookie(&first, "gridline_device").unwrap());
    // A botnet: one guess from each of a hundred addresses, each far below its own limit.
    let limit = t.app.config().login_failures_per_account;
    for index in 0..limit {
        let address = format!("10.{}.{}.1", index / 250, index % 250);
        assert_eq!(login_from(&t, &address, "cadre.a", "a wrong password", None).await.status, StatusCode::UNAUTHORIZED);
    }
    // Now any device the account does not know waits, wherever it is…
    let unknown = login_from(&t, "10.200.0.1", "cadre.a", "a wrong password", None).await;
    assert_eq!(unknown.status, StatusCode::TOO_MANY_REQUESTS, "{}", unknown.text);
    // …but the owner's own phone signs in at once.
    let owner = login_from(&t, "198.51.100.9", "cadre.a", "cadre.a-password-long", Some(&device)).await;
    assert_eq!(owner.status, StatusCode::CREATED, "{}", owner.text);
    assert_eq!(owner.body["failed_sign_ins_since_last"], limit, "and sees that it happened");
}
