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
    let t = TestApp::sqlite().await;
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
    let t = TestApp::sqlite().await;
    World::build(&t).await;
    let session = session_of(&login(&t, "officer", "officer-password-long").await);
    assert_eq!(t.get("/api/v1/me", &session).await.status, StatusCode::OK);
    t.clock.advance_ms(t.app.config().session_ttl_seconds * 1000 + 1);
    assert_eq!(t.get("/api/v1/me", &session).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failures_lock_the_username() {
    let t = TestApp::sqlite().await;
    World::build(&t).await;
    for attempt in 0..5 {
        let failed = login(&t, "cadre.b", "wrong password").await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED, "attempt {attempt}: {}", failed.text);
        assert_eq!(failed.body["code"], "invalid_credentials");
    }
    let locked = login(&t, "cadre.b", "cadre.b-password-long").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.text);
    assert_eq!(locked.body["code"], "rate_limited");
    let retry_after: i64 = locked.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 900);
    // Unknown usernames fail the same way, and every attempt is audited.
    assert_eq!(login(&t, "nobody", "whatever-it-is").await.body["code"], "invalid_credentials");
    let denied = t
        .app
        .list_audit(
            &t.system(),
            &app::audit::AuditParams { action: Some("auth.login".into()), decision: Some("deny".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(denied.len(), 7);
    // After the lock expires the right password works again.
    t.clock.advance_ms(t.app.config().login_lock_seconds * 1000 + 1);
    assert_eq!(login(&t, "cadre.b", "cadre.b-password-long").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn api_tokens_are_hashed_and_revocable_at_once() {
    let t = TestApp::sqlite().await;
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
    let t = TestApp::sqlite().await;
    let w = World::build(&t).await;
    let session = session_of(&login(&t, "cadre.b", "cadre.b-password-long").await);
    let me = t.get("/api/v1/me", &session).await.body;
    let disabled = t.patch(&format!("/api/v1/accounts/{}", me["id"]), &w.admin, json!({"version": me["version"], "disabled": true})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_eq!(t.get("/api/v1/me", &session).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/me", &w.cadre_b).await.body["code"], "account_disabled");
    assert_eq!(login(&t, "cadre.b", "cadre.b-password-long").await.body["code"], "account_disabled");
}
