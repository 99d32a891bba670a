//! Access control by role, jurisdiction scope and classification, through the HTTP API.

use axum::http::StatusCode;
use serde_json::json;

use crate::{Auth, TestApp, World};

async fn last_audit(t: &TestApp) -> app::audit::AuditView {
    t.audit(1).await.remove(0)
}

#[tokio::test]
async fn a_cadre_cannot_read_or_change_another_communitys_members() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;

    // Community A's own member: readable, masked.
    let own = t.get(&format!("/api/v1/members/{}", w.member_a), &w.cadre_a).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert_eq!(own.body["personal_data"], "masked");
    assert_eq!(own.body["phone"], "+86138****5678");

    // Community B's member: refused, and the refusal is audited.
    let events_before = t.count("events").await;
    let read = t.get(&format!("/api/v1/members/{}", w.member_b), &w.cadre_a).await;
    assert_eq!(read.status, StatusCode::FORBIDDEN, "{}", read.text);
    assert_eq!(read.body["code"], "forbidden");
    assert_eq!(read.headers["content-type"], "application/problem+json");
    let record = last_audit(&t).await;
    assert_eq!((record.action.as_str(), record.decision.as_str(), record.reason.as_str()), ("member.read", "deny", "out_of_scope"));
    assert_eq!(record.object_id.as_deref(), Some(w.member_b.to_string().as_str()));
    assert!(record.actor.starts_with("token:") && record.actor.ends_with("/cadre.a"), "{}", record.actor);

    let change = t.patch(&format!("/api/v1/members/{}", w.member_b), &w.cadre_a, json!({"version": 1, "status": "inactive"})).await;
    assert_eq!(change.status, StatusCode::FORBIDDEN, "{}", change.text);
    let record = last_audit(&t).await;
    assert_eq!((record.action.as_str(), record.decision.as_str()), ("member.update", "deny"));

    let reveal = t.get(&format!("/api/v1/members/{}?reveal=true&purpose=welfare%20check", w.member_b), &w.cadre_a).await;
    assert_eq!(reveal.status, StatusCode::FORBIDDEN);
    assert_eq!(last_audit(&t).await.decision, "deny");

    let delete = t.request(axum::http::Method::DELETE, &format!("/api/v1/members/{}?version=1", w.member_b), &w.cadre_a, None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);

    let listed = t.get(&format!("/api/v1/members?jurisdiction_id={}", w.community_b), &w.cadre_a).await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN, "{}", listed.text);

    // Nothing changed: the member is as it was, and no event was written by the refusals.
    assert_eq!(t.count("events").await, events_before);
    let unchanged = t.get(&format!("/api/v1/members/{}", w.member_b), &w.cadre_b).await;
    assert_eq!(unchanged.body["status"], "active");
    assert_eq!(unchanged.body["version"], 1);
}

#[tokio::test]
async fn lists_show_only_what_is_in_scope() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let ids = |response: &crate::TestResponse| {
        let mut ids: Vec<i64> = response.body["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
        ids.sort();
        ids
    };
    let cadre_a = t.get("/api/v1/members", &w.cadre_a).await;
    assert_eq!(ids(&cadre_a), vec![w.member_a, w.member_grid]);
    assert!(cadre_a.body["items"].as_array().unwrap().iter().all(|m| m["personal_data"] == "masked"));
    let officer = t.get("/api/v1/members", &w.officer).await;
    assert_eq!(officer.body["total"], 4);
    let liaison = t.get("/api/v1/members", &w.liaison).await;
    assert_eq!(liaison.body["total"], 4, "a liaison sees restricted data in their area");
    let grid = t.get("/api/v1/members", &w.grid_a1_member).await;
    assert_eq!(ids(&grid), vec![w.member_grid]);
    let within_a = t.get(&format!("/api/v1/members?jurisdiction_id={}", w.sub_district), &w.cadre_a).await;
    assert_eq!(ids(&within_a), vec![w.member_a, w.member_grid], "asking for a wider area shows the part in scope");
}

#[tokio::test]
async fn personal_data_is_revealed_only_with_clearance_and_a_purpose() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let path = format!("/api/v1/members/{}", w.member_a);

    let no_purpose = t.get(&format!("{path}?reveal=true"), &w.cadre_a).await;
    assert_eq!(no_purpose.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_purpose.body["field"], "purpose");

    let revealed = t.get(&format!("{path}?reveal=true&purpose=door-to-door%20warning"), &w.cadre_a).await;
    assert_eq!(revealed.status, StatusCode::OK, "{}", revealed.text);
    assert_eq!(revealed.body["personal_data"], "revealed");
    assert_eq!(revealed.body["phone"], "+8613812345678");
    assert_eq!(revealed.body["home"]["lon"], 121.415678);
    assert_eq!(revealed.body["credentials"][0]["number"], "FA-001");
    assert_eq!(revealed.headers["cache-control"], "no-store");
    let record = t.audit(1).await.remove(0);
    assert_eq!(
        (record.action.as_str(), record.decision.as_str(), record.purpose.as_str()),
        ("member.reveal", "allow", "door-to-door warning")
    );

    // Masked by default, coarse location.
    let masked = t.get(&path, &w.cadre_a).await;
    assert_eq!(masked.body["home"]["lon"], 121.42);
    assert_eq!(masked.body["credentials"][0]["number"], "***");
    assert_eq!(masked.body["email"], "s***@example.org");

    // The auditor reads restricted data, not confidential.
    let auditor = t.get(&format!("{path}?reveal=true&purpose=audit"), &w.auditor).await;
    assert_eq!(auditor.status, StatusCode::FORBIDDEN);
    // A liaison reveals their own department's people, not others.
    assert_eq!(t.get(&format!("/api/v1/members/{}?reveal=true&purpose=call-out", w.water_member), &w.liaison).await.status, StatusCode::OK);
    assert_eq!(t.get(&format!("{path}?reveal=true&purpose=call-out"), &w.liaison).await.status, StatusCode::FORBIDDEN);
    // A grid member reveals their own record.
    assert_eq!(
        t.get(&format!("/api/v1/members/{}?reveal=true&purpose=check", w.member_grid), &w.grid_a1_member).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_public_sees_no_personal_data() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let member = t.get(&format!("/api/v1/members/{}", w.member_a), &Auth::None).await;
    assert_eq!(member.status, StatusCode::UNAUTHORIZED);
    assert_eq!(member.body["code"], "sign_in_required");
    assert!(!member.text.contains("138"));
    assert_eq!(t.get("/api/v1/members", &Auth::None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/api/v1/teams", &Auth::None).await.status, StatusCode::UNAUTHORIZED);
    // Public registry data stays public; organizations' contacts are hidden from the public.
    assert_eq!(t.get(&format!("/api/v1/jurisdictions/{}", w.community_a), &Auth::None).await.status, StatusCode::OK);
    let organization = t.get(&format!("/api/v1/organizations/{}", w.water), &Auth::None).await;
    assert_eq!(organization.status, StatusCode::OK);
    assert!(organization.body["contact_phone"].is_null());
    let organization = t.get(&format!("/api/v1/organizations/{}", w.water), &w.cadre_a).await;
    assert_eq!(organization.body["contact_phone"], "02164000000");
    // Writes need an account.
    let created =
        t.post("/api/v1/organizations", &Auth::None, json!({"kind": "ngo", "code": "x", "name_zh": "某", "jurisdiction_id": w.city})).await;
    assert_eq!(created.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scoped_roles_manage_below_their_scope() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    // A cadre adds a grid to their community, not to another one, and cannot redraw their own community.
    let grid = t
        .post(
            "/api/v1/jurisdictions",
            &w.cadre_a,
            json!({"parent_id": w.community_a, "level": "grid", "code": "A2", "name_zh": "网格甲二"}),
        )
        .await;
    assert_eq!(grid.status, StatusCode::CREATED, "{}", grid.text);
    let other = t
        .post(
            "/api/v1/jurisdictions",
            &w.cadre_a,
            json!({"parent_id": w.community_b, "level": "grid", "code": "B9", "name_zh": "网格乙九"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let own_community =
        t.patch(&format!("/api/v1/jurisdictions/{}", w.community_a), &w.cadre_a, json!({"version": 1, "name_zh": "改名"})).await;
    assert_eq!(own_community.status, StatusCode::FORBIDDEN);
    // The duty officer edits a community of their sub-district.
    let renamed =
        t.patch(&format!("/api/v1/jurisdictions/{}", w.community_a), &w.officer, json!({"version": 1, "name_en": "Community A"})).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["version"], 2);
    // A cadre registers a member in their community; a liaison in their department anywhere in their area.
    let member = json!({"jurisdiction_id": w.grid_a1, "name": "新人", "roles": ["volunteer"]});
    assert_eq!(t.post("/api/v1/members", &w.cadre_a, member.clone()).await.status, StatusCode::CREATED);
    assert_eq!(t.post("/api/v1/members", &w.cadre_b, member.clone()).await.status, StatusCode::FORBIDDEN);
    let water = json!({"jurisdiction_id": w.community_a, "organization_id": w.water, "name": "泵站值守"});
    assert_eq!(t.post("/api/v1/members", &w.liaison, water).await.status, StatusCode::CREATED);
    assert_eq!(t.post("/api/v1/members", &w.liaison, member).await.status, StatusCode::FORBIDDEN);
    // A grid member edits their own contact details, not their roles, nor anyone else.
    let own =
        t.patch(&format!("/api/v1/members/{}", w.member_grid), &w.grid_a1_member, json!({"version": 1, "phone": "13900000000"})).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let roles = t.patch(&format!("/api/v1/members/{}", w.member_grid), &w.grid_a1_member, json!({"version": 2, "roles": ["cadre"]})).await;
    assert_eq!(roles.status, StatusCode::FORBIDDEN);
    let other = t.patch(&format!("/api/v1/members/{}", w.member_a), &w.grid_a1_member, json!({"version": 1, "phone": "13900000000"})).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // Only administrators manage accounts; auditors read the audit log.
    assert_eq!(t.post("/api/v1/accounts", &w.officer, json!({"username": "someone"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/audit", &w.officer).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/api/v1/audit", &w.auditor).await.status, StatusCode::OK);
    let created = t
        .post("/api/v1/accounts", &w.admin, json!({"username": "someone", "grants": [{"role": "volunteer", "organization_id": w.water}]}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["generated_password"].as_str().unwrap().len(), 20);
}

#[tokio::test]
async fn anonymous_refusals_are_counted_not_each_written() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let before = t.count("audit_log").await;
    // The review's lever: refused anonymous requests, each of which wrote an audit row.
    for _ in 0..500 {
        let refused = t.get("/api/v1/members", &Auth::None).await;
        assert_eq!(refused.status, axum::http::StatusCode::UNAUTHORIZED);
    }
    let written = t.count("audit_log").await - before;
    assert_eq!(written, app::refusals::SAMPLED_PER_WINDOW as i64, "a few are written in full, the rest counted");
    // When the minute is over, the count is written as one record: nothing is lost, nothing floods.
    t.clock.advance_ms(app::refusals::WINDOW_MS);
    assert_eq!(t.app.flush_refusal_counts().await.unwrap(), 1);
    let summary = t.audit(1).await.remove(0);
    assert_eq!((summary.action.as_str(), summary.decision.as_str(), summary.actor.as_str()), ("member.list", "deny", "anonymous"));
    assert_eq!(summary.details["suppressed"], 500 - app::refusals::SAMPLED_PER_WINDOW as i64);
    // A signed-in caller's refusals are each written: they name someone.
    let before = t.count("audit_log").await;
    for _ in 0..20 {
        let refused = t.get(&format!("/api/v1/members/{}", w.member_b), &w.cadre_a).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(t.count("audit_log").await - before, 20);
}

#[tokio::test]
async fn anonymous_writes_are_refused_before_their_body_is_judged() {
    let t = TestApp::new().await;
    World::build(&t).await;
    for (path, body) in [
        ("/api/v1/members", json!({"jurisdiction_id": "not a number", "nonsense": true})),
        ("/api/v1/warnings/drafts", json!({"level": 5})),
        ("/api/v1/jurisdictions", json!({})),
    ] {
        let refused = t.post(path, &Auth::None, body).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{path}: {}", refused.text);
        assert_eq!(refused.body["code"], "sign_in_required");
        assert!(refused.body.get("field").is_none(), "{path}: nothing about the body is told: {}", refused.text);
    }
    // A made-up session cookie is no credential either.
    let forged = Auth::Session { cookie: "gridline_session=made-up".into(), csrf: Some("x".into()) };
    let refused = t.post("/api/v1/members", &forged, json!({"jurisdiction_id": "not a number"})).await;
    assert_eq!((refused.status, refused.body.get("field")), (StatusCode::UNAUTHORIZED, None), "{}", refused.text);
    // Signing in needs no credential, and it still judges its body; so does acknowledging a warning by its link.
    let login = t.post("/api/v1/sessions", &Auth::None, json!({"username": 5})).await;
    assert_eq!(login.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", login.text);
    let ack = t.post("/api/v1/ack/1.h2.00000000000000000000000000000000", &Auth::None, json!({})).await;
    assert_ne!(ack.body["code"], "sign_in_required", "{}", ack.text);
}
