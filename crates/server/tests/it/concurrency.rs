//! Optimistic concurrency: a stale update is refused with 409 and changes nothing.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::{Auth, TestApp, World};

#[tokio::test]
async fn stale_updates_get_409_and_never_overwrite() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let path = format!("/api/v1/members/{}", w.member_a);
    let read = t.get(&path, &w.cadre_a).await;
    assert_eq!(read.headers[header::ETAG], "\"1\"");

    let first = t.patch(&path, &w.cadre_a, json!({"version": 1, "status": "deployed"})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["version"], 2);

    let second = t.patch(&path, &w.officer, json!({"version": 1, "status": "unavailable"})).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    assert_eq!(second.body["code"], "version_conflict");
    assert_eq!(second.body["current_version"], 2);
    assert_eq!(t.get(&path, &w.cadre_a).await.body["status"], "deployed", "the first writer's change stands");

    let no_version = t.patch(&path, &w.officer, json!({"status": "unavailable"})).await;
    assert_eq!(no_version.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(no_version.body["code"], "version_required");

    // If-Match carries the version too.
    let token = match &w.officer {
        Auth::Token(token) => token.clone(),
        _ => unreachable!(),
    };
    let request = Request::builder()
        .method(Method::PATCH)
        .uri(&path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::IF_MATCH, "\"2\"")
        .body(Body::from(json!({"status": "unavailable"}).to_string()))
        .unwrap();
    let with_if_match = t.send(request).await;
    assert_eq!(with_if_match.status, StatusCode::OK, "{}", with_if_match.text);
    assert_eq!(with_if_match.headers[header::ETAG], "\"3\"");

    // Deletes are versioned as well, and refused while something refers to the record.
    let team = t.post("/api/v1/teams", &w.cadre_a, json!({"kind": "grassroots", "tier": "community", "name_zh": "应急队", "jurisdiction_id": w.community_a, "member_ids": [w.member_a]})).await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.text);
    let blocked = t.request(Method::DELETE, &format!("{path}?version=3"), &w.cadre_a, None).await;
    assert_eq!(blocked.status, StatusCode::CONFLICT, "{}", blocked.text);
    assert_eq!(blocked.body["code"], "has_dependents");
    let team_path = format!("/api/v1/teams/{}", team.body["id"]);
    assert_eq!(t.request(Method::DELETE, &format!("{team_path}?version=9"), &w.cadre_a, None).await.status, StatusCode::CONFLICT);
    assert_eq!(t.request(Method::DELETE, &format!("{team_path}?version=1"), &w.cadre_a, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.request(Method::DELETE, &format!("{path}?version=3"), &w.cadre_a, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&path, &w.cadre_a).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn concurrent_updates_of_one_record_let_exactly_one_win() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let path = format!("/api/v1/organizations/{}", w.water);
    let mut handles = Vec::new();
    for index in 0..20 {
        let router = t.router.clone();
        let auth = w.admin.clone();
        let path = path.clone();
        handles.push(tokio::spawn(async move {
            let token = match auth {
                Auth::Token(token) => token,
                _ => unreachable!(),
            };
            let request = Request::builder()
                .method(Method::PATCH)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(json!({"version": 1, "address": format!("地址 {index}")}).to_string()))
                .unwrap();
            tower::ServiceExt::oneshot(router, request).await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 19);
    assert_eq!(t.get(&path, &w.admin).await.body["version"], 2);
}
