//! Bad input: every endpoint class rejects malformed, mistyped, unknown and oversized input with a problem
//! document naming the field, and changes nothing.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{Auth, TestApp, World};

/// A snapshot of everything a refused request must leave alone.
async fn state(t: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["jurisdictions", "organizations", "members", "teams", "accounts", "account_grants", "api_tokens", "events"] {
        counts.push(t.count(table).await);
    }
    counts
}

async fn raw(t: &TestApp, method: Method, path: &str, auth: &Auth, content_type: &str, body: Vec<u8>) -> crate::TestResponse {
    let mut builder =
        Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, content_type).header(header::ACCEPT_LANGUAGE, "en");
    if let Auth::Token(token) = auth {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    t.send(builder.body(Body::from(body)).unwrap()).await
}

fn check(response: &crate::TestResponse, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.headers[header::CONTENT_TYPE], "application/problem+json", "{}", response.text);
    assert_eq!(response.body["code"], code, "{}", response.text);
    assert_eq!(response.body["status"], status.as_u16());
    assert!(response.body["type"].as_str().unwrap().ends_with(code));
    assert!(!response.body["detail"].as_str().unwrap().is_empty());
    if let Some(field) = field {
        assert_eq!(response.body["field"], field, "{}", response.text);
    }
}

#[tokio::test]
async fn every_write_endpoint_rejects_bad_bodies_and_changes_nothing() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let member = format!("/api/v1/members/{}", w.member_a);
    let organization = format!("/api/v1/organizations/{}", w.water);
    let jurisdiction = format!("/api/v1/jurisdictions/{}", w.community_a);
    // (method, path, a body with a field of the wrong type and its path, a body with an unknown enum value and its field)
    let cases: Vec<(Method, String, Value, &str, Value, &str)> = vec![
        (
            Method::POST,
            "/api/v1/jurisdictions".into(),
            json!({"level": 3, "code": "x", "name_zh": "x"}),
            "level",
            json!({"level": "planet", "code": "x", "name_zh": "x"}),
            "level",
        ),
        (
            Method::PATCH,
            jurisdiction.clone(),
            json!({"version": "one"}),
            "version",
            json!({"version": 1, "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0.5]]]}}),
            "boundary.coordinates[0]",
        ),
        (
            Method::POST,
            "/api/v1/organizations".into(),
            json!({"kind": "ngo", "code": "x", "name_zh": "x", "jurisdiction_id": "B"}),
            "jurisdiction_id",
            json!({"kind": "club", "code": "x", "name_zh": "x", "jurisdiction_id": w.city}),
            "kind",
        ),
        (
            Method::PATCH,
            organization.clone(),
            json!({"version": 1, "contact_phone": 12}),
            "contact_phone",
            json!({"version": 1, "sector": "magic"}),
            "sector",
        ),
        (
            Method::POST,
            "/api/v1/members".into(),
            json!({"jurisdiction_id": w.community_a, "name": "x", "roles": "volunteer"}),
            "roles",
            json!({"jurisdiction_id": w.community_a, "name": "x", "roles": ["volunteer", "wizard"]}),
            "roles[1]",
        ),
        (
            Method::PATCH,
            member.clone(),
            json!({"version": 1, "home": {"lon": "east", "lat": 31}}),
            "home.lon",
            json!({"version": 1, "status": "asleep"}),
            "status",
        ),
        (
            Method::POST,
            "/api/v1/teams".into(),
            json!({"kind": "grassroots", "tier": "community", "name_zh": "x", "jurisdiction_id": w.community_a, "member_ids": [true]}),
            "member_ids[0]",
            json!({"kind": "grassroots", "tier": "elite", "name_zh": "x", "jurisdiction_id": w.community_a}),
            "tier",
        ),
        (
            Method::POST,
            "/api/v1/accounts".into(),
            json!({"username": ["x"]}),
            "username",
            json!({"username": "newbie", "grants": [{"role": "emperor"}]}),
            "grants[0].role",
        ),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            json!({"name": "x", "expires_in_days": "soon"}),
            "expires_in_days",
            json!({"name": "x", "expires_in_days": 100000}),
            "expires_in_days",
        ),
        (
            Method::POST,
            "/api/v1/sessions".into(),
            json!({"username": 1, "password": "x"}),
            "username",
            json!({"username": "x", "password": "y", "remember": true}),
            "remember",
        ),
    ];
    let before = state(&t).await;
    for (method, path, wrong_type, wrong_type_field, bad_value, bad_value_field) in cases {
        let label = format!("{method} {path}");
        let malformed = raw(&t, method.clone(), &path, &w.admin, "application/json", b"{,\"name\": ".to_vec()).await;
        check(&malformed, StatusCode::BAD_REQUEST, "malformed_json", None);
        assert!(malformed.body["detail"].as_str().unwrap().contains("line 1"), "{label}: {}", malformed.text);
        let trailing = raw(&t, method.clone(), &path, &w.admin, "application/json", b"{} {}".to_vec()).await;
        check(&trailing, StatusCode::BAD_REQUEST, "malformed_json", None);
        let typed = raw(&t, method.clone(), &path, &w.admin, "application/json", wrong_type.to_string().into_bytes()).await;
        check(&typed, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some(wrong_type_field));
        let value = raw(&t, method.clone(), &path, &w.admin, "application/json", bad_value.to_string().into_bytes()).await;
        assert!(value.status == StatusCode::UNPROCESSABLE_ENTITY, "{label}: {}", value.text);
        check(&value, value.status, "invalid_field", Some(bad_value_field));
        let unknown = raw(&t, method.clone(), &path, &w.admin, "application/json", br#"{"surprise": 1}"#.to_vec()).await;
        check(&unknown, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("surprise"));
        let form = raw(&t, method.clone(), &path, &w.admin, "application/x-www-form-urlencoded", b"name=x".to_vec()).await;
        check(&form, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
        let huge = raw(
            &t,
            method.clone(),
            &path,
            &w.admin,
            "application/json",
            format!("{{\"name\": \"{}\"}}", "x".repeat(17 * 1024 * 1024)).into_bytes(),
        )
        .await;
        check(&huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);
    }
    assert_eq!(state(&t).await, before, "refused requests changed the database");
}

#[tokio::test]
async fn validation_names_the_field_in_the_callers_language() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let before = state(&t).await;
    let out_of_range = t
        .post("/api/v1/members", &w.admin, json!({"jurisdiction_id": w.community_a, "name": "x", "home": {"lon": 200.0, "lat": 31.0}}))
        .await;
    check(&out_of_range, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("home.lon"));
    assert!(out_of_range.body["detail"].as_str().unwrap().contains("-180"));
    let unknown_reference = t.post("/api/v1/members", &w.admin, json!({"jurisdiction_id": 999_999, "name": "x"})).await;
    check(&unknown_reference, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("jurisdiction_id"));
    let long_name = t.post("/api/v1/members", &w.admin, json!({"jurisdiction_id": w.community_a, "name": "名".repeat(201)})).await;
    check(&long_name, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("name"));
    let date = t
        .post(
            "/api/v1/members",
            &w.admin,
            json!({"jurisdiction_id": w.community_a, "name": "x", "credentials": [{"kind": "first_aid", "expires_on": "31/12/2026"}]}),
        )
        .await;
    check(&date, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("credentials[0].expires_on"));
    let level =
        t.post("/api/v1/jurisdictions", &w.admin, json!({"parent_id": w.grid_a1, "level": "community", "code": "z", "name_zh": "z"})).await;
    check(&level, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("parent_id"));
    let outside = t.post("/api/v1/jurisdictions", &w.admin, json!({"level": "city", "code": "z", "name_zh": "z", "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 95], [0, 0]]]}})).await;
    check(&outside, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("boundary.coordinates[0][2][1]"));
    let duplicate = t.post("/api/v1/jurisdictions", &w.admin, json!({"level": "city", "code": "310000", "name_zh": "重复"})).await;
    check(&duplicate, StatusCode::CONFLICT, "duplicate", Some("code"));

    // The same error in Chinese.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/members")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.5")
        .header(
            header::AUTHORIZATION,
            match &w.admin {
                Auth::Token(token) => format!("Bearer {token}"),
                _ => unreachable!(),
            },
        )
        .body(Body::from(json!({"jurisdiction_id": w.community_a, "name": "x", "status": "asleep"}).to_string()))
        .unwrap();
    let chinese = t.send(request).await;
    assert_eq!(chinese.body["field"], "status");
    assert!(chinese.body["detail"].as_str().unwrap().contains("必须是以下值之一"), "{}", chinese.text);
    assert_eq!(chinese.body["title"], "字段无效");
    assert_eq!(state(&t).await, before);
}

#[tokio::test]
async fn query_strings_and_routes_are_checked() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let limit = t.get("/api/v1/members?limit=lots", &w.admin).await;
    check(&limit, StatusCode::BAD_REQUEST, "bad_query", Some("limit"));
    let range = t.get("/api/v1/members?limit=100000", &w.admin).await;
    check(&range, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("limit"));
    let sort = t.get("/api/v1/members?sort=password", &w.admin).await;
    check(&sort, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("sort"));
    let missing = t.get("/api/v1/members/99999", &w.admin).await;
    check(&missing, StatusCode::NOT_FOUND, "not_found", None);
    let path = t.get("/api/v1/members/abc", &w.admin).await;
    check(&path, StatusCode::BAD_REQUEST, "bad_path", None);
    let route = t.get("/api/v1/nowhere", &w.admin).await;
    check(&route, StatusCode::NOT_FOUND, "route_not_found", None);
    let method = t.request(Method::PUT, "/api/v1/members", &w.admin, Some(json!({}))).await;
    check(&method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
    let bad_token = t.get("/api/v1/me", &Auth::Token("gl_not-a-token".into())).await;
    check(&bad_token, StatusCode::UNAUTHORIZED, "invalid_token", None);
}
