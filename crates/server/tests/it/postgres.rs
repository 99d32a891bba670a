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
    let verification = t.app.verify_audit().await.unwrap();
    assert!(matches!(verification, store::audit::Verification::Intact { records, .. } if records > 10));
}
