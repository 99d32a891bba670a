//! Incidents end to end: three reports of one waterlogging from three channels become one incident; the duty
//! officer merges and verifies it; the rainstorm plan activates; tasks appear for the right owners with the right
//! due times; an unacknowledged task escalates; command passes up; the upward report is generated from the merged
//! facts; stand-down restores the mode; the timeline shows all of it. And the bad inputs around it.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::web::Browser;
use crate::{Auth, START_MS, TestApp, TestResponse, World};

async fn post_raw(t: &TestApp, path: &str, auth: &Auth, content_type: &str, body: String, extra: &[(&str, &str)]) -> TestResponse {
    let mut builder =
        Request::builder().method(Method::POST).uri(path).header(header::ACCEPT_LANGUAGE, "en").header(header::CONTENT_TYPE, content_type);
    if let Auth::Token(token) = auth {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    t.send(builder.body(Body::from(body)).unwrap()).await
}

fn report(description: &str, lon: f64, lat: f64) -> Value {
    json!({
        "category": "natural_disaster", "subtype": "urban_waterlogging", "description": description, "lon": lon, "lat": lat,
        "address": "田林路 200 号下立交", "figures": {"ponding_depth_cm": 35},
    })
}

async fn organization(t: &TestApp, kind: &str, sector: Option<&str>, code: &str, jurisdiction: i64) -> i64 {
    t.app
        .registry()
        .create_organization(
            &t.system(),
            serde_json::from_value(json!({"kind": kind, "sector": sector, "code": code, "name_zh": code, "jurisdiction_id": jurisdiction}))
                .unwrap(),
        )
        .await
        .unwrap()
        .id
}

async fn member(t: &TestApp, jurisdiction: i64, name: &str, role: &str, organization: Option<i64>) -> i64 {
    t.app
        .registry()
        .create_member(
            &t.system(),
            serde_json::from_value(
                json!({"jurisdiction_id": jurisdiction, "name": name, "roles": [role], "organization_id": organization}),
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn three_reports_become_one_incident_and_the_plan_runs_it() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    assert_eq!(t.app.incidents().ensure_shipped_plans().await.unwrap(), 6);
    assert_eq!(t.app.incidents().ensure_shipped_plans().await.unwrap(), 0, "shipped plans are saved once");
    // The people and bodies the rainstorm plan names.
    let office = organization(&t, "government_office", None, "tianlin-office", world.sub_district).await;
    let committee = organization(&t, "residents_committee", None, "committee-a", world.community_a).await;
    organization(&t, "department", Some("public_security"), "police", world.sub_district).await;
    organization(&t, "department", Some("fire_rescue"), "fire", world.sub_district).await;
    organization(&t, "department", Some("meteorology"), "meteo", world.sub_district).await;
    let grid_member = member(&t, world.grid_a1, "网格员小陈", "grid_member", None).await;
    let cadre = member(&t, world.community_a, "社区书记老周", "cadre", Some(committee)).await;
    member(&t, world.sub_district, "值班员", "duty_officer", Some(office)).await;
    let water_engineer = member(&t, world.sub_district, "水务工程师", "liaison", Some(world.water)).await;
    let grid_token =
        Auth::Token(t.account("chen", vec![json!({"role": "grid_member", "jurisdiction_id": world.grid_a1})], Some(grid_member)).await);
    let water_token = Auth::Token(
        t.account(
            "water.liaison",
            vec![json!({"role": "department_liaison", "jurisdiction_id": world.sub_district, "organization_id": world.water})],
            Some(water_engineer),
        )
        .await,
    );

    // One waterlogging, three channels: the field view (the grid member's phone), the API, and a hotline ticket.
    let mut field = Browser::new("zh-CN");
    field.sign_in(&t, "chen", "chen-password-long").await;
    let csrf = field.csrf(&t).await;
    let page = field.get(&t, "/report").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let sent = field
        .post(
            &t,
            "/report",
            &[
                ("csrf_token", &csrf),
                ("subtype", "natural_disaster/urban_waterlogging"),
                ("description", "下立交积水，有车辆熄火"),
                ("lon", "121.4150"),
                ("lat", "31.1650"),
                ("ponding_depth_cm", "35"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text);
    let first = t.get("/api/v1/incidents", &world.officer).await.body["items"][0]["id"].as_i64().unwrap();

    t.clock.advance_ms(4 * 60_000);
    let api = post_raw(
        &t,
        "/api/v1/reports",
        &world.cadre_a,
        "application/json",
        report("Underpass flooded, water knee-deep", 121.4158, 31.1655).to_string(),
        &[("idempotency-key", "api-1")],
    )
    .await;
    assert_eq!(api.status, StatusCode::CREATED, "{}", api.text);
    let second = api.body["incident"]["id"].as_i64().unwrap();
    assert_eq!(api.body["proposals"][0]["incident_id"], first, "the API report is proposed as the field report's incident: {}", api.text);
    assert!(api.body["proposals"][0]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("m away")), "{}", api.text);
    let again = post_raw(
        &t,
        "/api/v1/reports",
        &world.cadre_a,
        "application/json",
        report("Underpass flooded, water knee-deep", 121.4158, 31.1655).to_string(),
        &[("idempotency-key", "api-1")],
    )
    .await;
    assert_eq!((again.status, again.body["created"].clone()), (StatusCode::OK, json!(false)), "the same message twice is one report");
    assert_eq!(again.body["incident"]["id"], second);
    // Another client's key is its own: the same key from another account is another report, and shows nothing of
    // the first one.
    let other = post_raw(
        &t,
        "/api/v1/reports",
        &world.cadre_b,
        "application/json",
        report("Someone else's report", 121.60, 31.30).to_string(),
        &[("idempotency-key", "api-1")],
    )
    .await;
    assert_eq!((other.status, other.body["created"].clone()), (StatusCode::CREATED, json!(true)), "{}", other.text);
    assert_ne!(other.body["incident"]["id"], second);

    t.clock.advance_ms(3 * 60_000);
    let csv = "ticket,category,subtype,description,lon,lat,address,observed_at,caller_phone\n\
        12345-0001,natural_disaster,urban_waterlogging,市民来电：田林路下立交积水,121.4153,31.1652,田林路,,13900001111\n\
        12345-0002,natural_disaster,no_such_subtype,bad,121.4,31.16,,,\n";
    let hotline = post_raw(&t, "/api/v1/reports/hotline", &world.officer, "text/csv", csv.into(), &[]).await;
    assert_eq!(hotline.status, StatusCode::OK, "{}", hotline.text);
    assert_eq!((hotline.body["created"].as_i64(), hotline.body["rejected"][0]["line"].as_i64()), (Some(1), Some(3)), "{}", hotline.text);
    let again = post_raw(&t, "/api/v1/reports/hotline", &world.officer, "text/csv", csv.into(), &[]).await;
    assert_eq!(again.body["known"], 1, "importing the tickets again changes nothing");
    let incidents = t.get("/api/v1/incidents?open=true", &world.officer).await;
    assert_eq!(incidents.body["total"], 3);
    let third = incidents.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).max().unwrap();
    let proposals = t.get(&format!("/api/v1/incidents/{first}/proposals"), &world.officer).await;
    let proposed: Vec<i64> = proposals.body.as_array().unwrap().iter().map(|p| p["incident_id"].as_i64().unwrap()).collect();
    assert!(proposed.contains(&second) && proposed.contains(&third), "{}", proposals.text);

    // The duty officer merges the two into the first, and verifies it.
    for source in [second, third] {
        let merged = t.post(&format!("/api/v1/incidents/{first}/merge"), &world.officer, json!({"source_id": source})).await;
        assert_eq!(merged.status, StatusCode::OK, "{}", merged.text);
    }
    let reports = t.get(&format!("/api/v1/incidents/{first}/reports"), &world.officer).await;
    assert_eq!(reports.body.as_array().unwrap().len(), 3);
    let channels: Vec<&str> = reports.body.as_array().unwrap().iter().map(|r| r["channel"].as_str().unwrap()).collect();
    assert_eq!(channels, vec!["field", "api", "hotline"]);
    assert!(
        reports.body.as_array().unwrap().iter().all(|r| r["reporter"].as_str().is_none_or(|who| who.contains('*'))),
        "reporters are masked"
    );
    assert_eq!(t.get(&format!("/api/v1/incidents/{second}"), &world.officer).await.body["status"], "merged");
    // Split and merge again: the split is exact, and recorded.
    let timeline = t.get(&format!("/api/v1/incidents/{first}/timeline"), &world.officer).await;
    let merge_id =
        timeline.body.as_array().unwrap().iter().find(|e| e["kind"] == "incident.merged").unwrap()["payload"]["merge_id"].as_i64().unwrap();
    let split = t.post(&format!("/api/v1/incidents/{first}/split"), &world.officer, json!({"merge_id": merge_id})).await;
    assert_eq!(split.status, StatusCode::OK, "{}", split.text);
    assert_eq!(split.body["status"], "reported");
    assert_eq!(t.get(&format!("/api/v1/incidents/{first}/reports"), &world.officer).await.body.as_array().unwrap().len(), 2);
    t.post(&format!("/api/v1/incidents/{first}/merge"), &world.officer, json!({"source_id": split.body["id"]})).await;

    // A move the state machine forbids is a 409 with the allowed ones.
    let incident = t.get(&format!("/api/v1/incidents/{first}"), &world.officer).await;
    let version = incident.body["version"].as_i64().unwrap();
    let wrong = t.post(&format!("/api/v1/incidents/{first}/status"), &world.officer, json!({"version": version, "status": "closed"})).await;
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    assert_eq!(wrong.body["code"], "invalid_transition");
    assert_eq!(wrong.body["allowed"], json!(["verified", "merged", "rejected"]));
    let verified =
        t.post(&format!("/api/v1/incidents/{first}/status"), &world.officer, json!({"version": version, "status": "verified"})).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    assert_eq!(verified.body["figures"]["ponding_depth_cm"], 35);

    // The rainstorm plan activates: level 3 (35 cm of water), the tasks of the matrix with owners and due times.
    let activated_at = t.app.now_ms();
    let activation =
        t.post(&format!("/api/v1/incidents/{first}/activate"), &world.officer, json!({"version": verified.body["version"]})).await;
    assert_eq!(activation.status, StatusCode::OK, "{}", activation.text);
    assert_eq!(activation.body["plan_code"], "rainstorm-waterlogging");
    assert_eq!(activation.body["response_level"], "level_3");
    assert_eq!(activation.body["incident"]["status"], "responding");
    let tasks = activation.body["tasks"].as_array().unwrap().clone();
    let task = |function: &str| {
        tasks.iter().find(|task| task["function"] == function).unwrap_or_else(|| panic!("no {function} task: {tasks:?}")).clone()
    };
    let due = |task: &Value| task["due_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let pumps = task("drainage");
    assert_eq!(pumps["owner_organization_id"], world.water, "the water department deploys the pumps");
    assert_eq!(due(&pumps), activated_at + 30 * 60_000);
    let vulnerable = task("vulnerable_persons");
    assert_eq!(vulnerable["owner_member_id"], grid_member, "the grid member checks the vulnerable residents");
    assert_eq!(due(&vulnerable), activated_at + 15 * 60_000);
    let relay = task("warning");
    assert_eq!(relay["owner_organization_id"], committee);
    assert_eq!(due(&relay), activated_at + 10 * 60_000);
    let sub_district = t.get(&format!("/api/v1/jurisdictions/{}", world.sub_district), &world.officer).await;
    assert_eq!(sub_district.body["mode"], "emergency");
    // The owners see their tasks: the grid member in the field view, the department in its inbox.
    let mine = t.get("/api/v1/tasks/mine", &grid_token).await;
    assert!(mine.body.as_array().unwrap().iter().any(|task| task["id"] == vulnerable["id"]), "{}", mine.text);
    let inbox = t.get(&format!("/api/v1/organizations/{}/tasks", world.water), &water_token).await;
    assert!(inbox.body.as_array().unwrap().iter().any(|task| task["id"] == pumps["id"]), "{}", inbox.text);

    // The department acknowledges and finishes its task with evidence; the grid member acknowledges nothing.
    let acked = t
        .post(
            &format!("/api/v1/tasks/{}/progress", pumps["id"]),
            &water_token,
            json!({"version": pumps["version"], "status": "acknowledged"}),
        )
        .await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
    let done = t
        .post(
            &format!("/api/v1/tasks/{}/progress", pumps["id"]),
            &water_token,
            json!({"version": acked.body["version"], "status": "done", "note": "两台泵车到场排水", "photo": "/media/pumps.jpg"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let declined = t
        .post(
            &format!("/api/v1/tasks/{}/progress", vulnerable["id"]),
            &grid_token,
            json!({"version": vulnerable["version"], "status": "declined"}),
        )
        .await;
    assert_eq!(declined.body["field"], "note", "declining needs a reason");

    // At the task's deadline plus the plan's grace (10 minutes), the unacknowledged check escalates.
    t.clock.set_ms(due(&vulnerable) + 9 * 60_000);
    let before = t.app.warnings().run_escalation().await.unwrap();
    assert!(before.escalated <= 1, "only the 10-minute warning relay may be late yet: {before:?}");
    t.clock.set_ms(due(&vulnerable) + 10 * 60_000);
    t.app.warnings().run_escalation().await.unwrap();
    let checked = t.get(&format!("/api/v1/incidents/{first}/tasks"), &world.officer).await;
    let escalated = checked.body.as_array().unwrap().iter().find(|task| task["id"] == vulnerable["id"]).unwrap().clone();
    assert!(escalated["escalated_at"].is_string(), "{escalated}");
    assert!(escalated["overdue"].as_bool().unwrap());
    let done_pumps = checked.body.as_array().unwrap().iter().find(|task| task["id"] == pumps["id"]).unwrap().clone();
    assert!(done_pumps["escalated_at"].is_null(), "a done task never escalates");

    // The grid member cannot do it after all and declines, with a reason; the officer gives it to the cadre, and it
    // is open again under its new owner.
    let declined = t
        .post(
            &format!("/api/v1/tasks/{}/progress", vulnerable["id"]),
            &grid_token,
            json!({"version": escalated["version"], "status": "declined", "note": "在另一处转移老人，无法前往"}),
        )
        .await;
    assert_eq!((declined.status, declined.body["status"].as_str()), (StatusCode::OK, Some("declined")), "{}", declined.text);
    let reassigned = t
        .post(
            &format!("/api/v1/tasks/{}/reassign", vulnerable["id"]),
            &world.officer,
            json!({"version": declined.body["version"], "member_id": cadre, "reason": "网格员另有任务"}),
        )
        .await;
    assert_eq!(reassigned.status, StatusCode::OK, "{}", reassigned.text);
    assert_eq!(
        (reassigned.body["status"].as_str(), reassigned.body["owner_member_id"].as_i64()),
        (Some("open"), Some(cadre)),
        "{}",
        reassigned.text
    );

    // Command passes up to the district; the upward report is generated from the merged facts.
    let incident = t.get(&format!("/api/v1/incidents/{first}"), &world.officer).await;
    let escalated = t
        .post(
            &format!("/api/v1/incidents/{first}/escalate"),
            &world.admin,
            json!({"version": incident.body["version"], "note": "积水扩大"}),
        )
        .await;
    assert_eq!(escalated.status, StatusCode::OK, "{}", escalated.text);
    assert!(escalated.body["command_jurisdiction_id"].is_i64());
    let upward = t.get(&format!("/api/v1/incidents/{first}/upward-report"), &world.officer).await;
    assert_eq!(upward.status, StatusCode::OK, "{}", upward.text);
    let text = upward.body["text_zh"].as_str().unwrap();
    assert!(text.contains("3") && text.contains("田林路"), "{text}");
    assert!(text.contains("两台泵车到场排水"), "actions taken appear: {text}");

    // A response is not ended by setting a status: that would leave the modes raised and the plan's tasks open.
    let incident = t.get(&format!("/api/v1/incidents/{first}"), &world.officer).await;
    for status in ["stabilized", "closed"] {
        let refused = t
            .post(
                &format!("/api/v1/incidents/{first}/status"),
                &world.officer,
                json!({"status": status, "version": incident.body["version"]}),
            )
            .await;
        assert_eq!((refused.status, refused.body["code"].as_str()), (StatusCode::CONFLICT, Some("wrong_state")), "{}", refused.text);
    }

    // Stand-down: the mode returns, open tasks close except those the plan keeps, the incident stabilizes.
    let stood =
        t.post(&format!("/api/v1/incidents/{first}/stand-down"), &world.officer, json!({"version": incident.body["version"]})).await;
    assert_eq!(stood.status, StatusCode::OK, "{}", stood.text);
    assert_eq!(stood.body["status"], "stabilized");
    let sub_district = t.get(&format!("/api/v1/jurisdictions/{}", world.sub_district), &world.officer).await;
    assert_eq!(sub_district.body["mode"], "peacetime");
    let after = t.get(&format!("/api/v1/incidents/{first}/tasks"), &world.officer).await;
    let status_of = |id: &Value| after.body.as_array().unwrap().iter().find(|task| task["id"] == *id).unwrap()["status"].clone();
    assert_eq!(status_of(&vulnerable["id"]), "cancelled");
    assert_eq!(status_of(&pumps["id"]), "done");
    assert!(after.body.as_array().unwrap().iter().any(|task| task["function"] == "aftermath"), "the plan's stand-down tasks are created");

    // The timeline shows all of it.
    let timeline = t.get(&format!("/api/v1/incidents/{first}/timeline"), &world.officer).await;
    let kinds: Vec<&str> = timeline.body.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for expected in [
        "incident.reported",
        "incident.merged",
        "incident.split",
        "incident.transitioned",
        "incident.activated",
        "task.created",
        "task.acknowledged",
        "task.closed",
        "task.escalated",
        "incident.escalated",
        "incident.stood_down",
    ] {
        assert!(kinds.contains(&expected), "{expected} missing from the timeline: {kinds:?}");
    }
    let _ = START_MS;
}

#[tokio::test]
async fn plans_are_linted_and_malformed_ones_refused_with_line_and_field() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let broken =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plan/tests/fixtures/broken.plan.json")).unwrap();
    let saved = post_raw(&t, "/api/v1/plans", &world.officer, "application/json", broken, &[]).await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text);
    assert!(saved.body["errors"].as_u64().unwrap() > 0);
    assert!(saved.body["findings"].as_array().unwrap().iter().any(|f| f["line"].is_u64()), "findings point at lines");
    let published = t.post(&format!("/api/v1/plans/{}/publish", saved.body["id"]), &world.officer, json!({})).await;
    assert_eq!(published.status, StatusCode::UNPROCESSABLE_ENTITY, "a plan with errors is not published: {}", published.text);
    let malformed = post_raw(
        &t,
        "/api/v1/plans",
        &world.officer,
        "application/json",
        "{\n  \"format\": \"gridline.plan/1\",\n  \"code\": 12\n}".into(),
        &[],
    )
    .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let field = malformed.body["field"].as_str().unwrap();
    assert!(field.contains("line 3") && field.contains("code"), "{field}");
    let cadre = post_raw(&t, "/api/v1/plans", &world.cadre_a, "application/json", plan::shipped()[0].1.into(), &[]).await;
    assert_eq!(cadre.status, StatusCode::FORBIDDEN, "only duty officers and administrators write plans");
    assert_eq!(t.get("/api/v1/plans/schema", &Auth::None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_reports_are_refused_with_the_field_and_change_nothing() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let cases = [
        (json!({"category": "natural_disaster", "subtype": "building_fire", "description": "x", "lon": 121.4, "lat": 31.16}), "subtype"),
        (
            json!({"category": "natural_disaster", "subtype": "urban_waterlogging", "description": "", "lon": 121.4, "lat": 31.16}),
            "description",
        ),
        (json!({"category": "natural_disaster", "subtype": "urban_waterlogging", "description": "x", "lon": 200.0, "lat": 31.16}), "lon"),
        (
            json!({"category": "natural_disaster", "subtype": "urban_waterlogging", "description": "x", "lon": 121.4, "lat": 31.16, "figures": {"goats": 3}}),
            "figures.goats",
        ),
        (
            json!({"category": "natural_disaster", "subtype": "urban_waterlogging", "description": "x", "lon": 121.4, "lat": 31.16, "reporter_email": "nope"}),
            "reporter_email",
        ),
    ];
    for (body, field) in cases {
        let response = t.post("/api/v1/reports", &world.cadre_a, body).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text);
        assert_eq!(response.body["field"], field, "{}", response.text);
    }
    let anonymous = t.post("/api/v1/reports", &Auth::None, report("x", 121.41, 31.16)).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.count("reports").await, 0);
    assert_eq!(t.count("incidents").await, 0);
}

/// Two nodes on one database, the second one's clock a second behind: a report on the first node is still proposed
/// as the same incident as one the second node opened after the first node last read its change feed.
#[tokio::test]
async fn incidents_opened_by_another_node_are_proposed_even_with_a_slower_clock() {
    use tower::ServiceExt;
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let clock_b = std::sync::Arc::new(app::ManualClock::new(START_MS - 1_000));
    let node_b = server::router(app::App::new(t._database.open().await.unwrap(), clock_b.clone(), app::Config::for_tests()));
    let post = |router: axum::Router, key: &'static str, lon: f64, lat: f64| {
        let Auth::Token(token) = world.cadre_a.clone() else { unreachable!() };
        async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/api/v1/reports")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", key)
                .body(Body::from(report(key, lon, lat).to_string()))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            serde_json::from_slice::<Value>(&bytes).unwrap()
        }
    };
    // Node A reads the feed (empty), then learns of its own incident; a second later it reads the feed again, up
    // to that incident.
    post(t.router.clone(), "a-1", 121.40, 31.16).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    post(t.router.clone(), "a-2", 121.50, 31.25).await;
    // Node B, whose clock is behind, opens an incident that sorts before node A's watermark.
    let b = post(node_b, "b-1", 121.45, 31.20).await;
    let opened_on_b = b["incident"]["id"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    t.clock.advance_ms(60_000);
    let a = post(t.router.clone(), "a-3", 121.4502, 31.2001).await;
    assert_eq!(a["proposals"][0]["incident_id"], opened_on_b, "node B's incident is a candidate on node A: {a}");
}

#[tokio::test]
async fn hotline_tickets_are_the_hotlines_own_and_nobody_else_can_take_their_numbers() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let centre = organization(&t, "department", Some("emergency_management"), "hotline-12345", world.sub_district).await;
    let operator = Auth::Token(
        t.account(
            "op.1",
            vec![json!({"role": "hotline_operator", "jurisdiction_id": world.sub_district, "organization_id": centre})],
            None,
        )
        .await,
    );
    let colleague = Auth::Token(
        t.account(
            "op.2",
            vec![json!({"role": "hotline_operator", "jurisdiction_id": world.sub_district, "organization_id": centre})],
            None,
        )
        .await,
    );
    let resident = Auth::Token(t.account("resident", vec![], None).await);
    let header = "ticket,category,subtype,description,lon,lat,address,observed_at,caller_phone\n";
    let squat = format!("{header}T-RES-1,natural_disaster,urban_waterlogging,假工单,121.4153,31.1652,,,\n");
    let real = format!("{header}T-RES-1,accident_disaster,gas_leak,市民来电：燃气泄漏,121.4163,31.1652,田林路,,13900001111\n");

    // The review's attack: a resident (and a community cadre, and a grid member) pre-posts the ticket number.
    for who in [&resident, &world.cadre_a, &world.grid_a1_member] {
        let refused = post_raw(&t, "/api/v1/reports/hotline", who, "text/csv", squat.clone(), &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    }
    assert_eq!(t.count("reports").await, 0, "a refused import stores nothing");
    let audit = t.audit(3).await;
    assert!(audit.iter().all(|r| r.action == "report.hotline_import" && r.decision == "deny"), "{audit:?}");

    // The hotline's own operator imports the real ticket; their colleague's re-import of it is the same ticket.
    let imported = post_raw(&t, "/api/v1/reports/hotline", &operator, "text/csv", real.clone(), &[]).await;
    assert_eq!((imported.status, imported.body["created"].as_i64()), (StatusCode::OK, Some(1)), "{}", imported.text);
    let again = post_raw(&t, "/api/v1/reports/hotline", &colleague, "text/csv", real.clone(), &[]).await;
    assert_eq!((again.body["created"].as_i64(), again.body["known"].as_i64()), (Some(0), Some(1)), "{}", again.text);
    // A duty officer importing a file of their own is another source: the same number does not collide with the
    // hotline's, so no ticket from anywhere can shadow another source's ticket.
    let officer = post_raw(&t, "/api/v1/reports/hotline", &world.officer, "text/csv", squat, &[]).await;
    assert_eq!((officer.status, officer.body["created"].as_i64()), (StatusCode::OK, Some(1)), "{}", officer.text);
    let incidents = t.get("/api/v1/incidents?open=true", &world.officer).await;
    let subtypes: Vec<&str> = incidents.body["items"].as_array().unwrap().iter().map(|i| i["subtype"].as_str().unwrap()).collect();
    assert!(subtypes.contains(&"gas_leak") && subtypes.contains(&"urban_waterlogging"), "{subtypes:?}");
    // The operator follows the incidents their callers reported.
    assert_eq!(t.get("/api/v1/incidents?open=true", &operator).await.body["total"], 2);
}
