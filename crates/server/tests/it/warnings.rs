//! Early warning end to end: draft, the two-person rule, issue, geotargeted delivery to a real local SMS gateway,
//! webhook receiver and SMTP server, acknowledgement links, door-knock tasks at the deadline, the field view, live
//! reach, escalation of overdue tasks, cancellation, CAP ingest, and the public outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::web::Browser;
use crate::{Auth, START_MS, TestApp, World, square};

/// One message a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub idempotency_key: String,
    pub signature: Option<String>,
    pub body: String,
}

/// A local HTTP receiver standing in for an SMS gateway and organizations' systems: records every POST.
pub async fn http_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let store = received.clone();
    let router = axum::Router::new().fallback(move |request: Request<Body>| {
        let store = store.clone();
        async move {
            let (parts, body) = request.into_parts();
            let path = parts.uri.path().to_string();
            let header_of = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
            let idempotency_key = header_of("idempotency-key").unwrap_or_default();
            let signature = header_of("x-gridline-signature");
            let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            store.lock().unwrap().push(Received { path, idempotency_key, signature, body: String::from_utf8_lossy(&bytes).into_owned() });
            StatusCode::ACCEPTED
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{address}"), received)
}

/// A local SMTP server: records recipient and message of every mail.
pub async fn smtp_receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let mails: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let store = store.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let _ = stream.get_mut().write_all(b"220 test SMTP ready\r\n").await;
                let mut recipient = String::new();
                loop {
                    let mut line = String::new();
                    if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let command = line.trim_end().to_ascii_uppercase();
                    let reply: &[u8] = if command.starts_with("EHLO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if command.starts_with("RCPT TO:") {
                        recipient = line.trim_end()[8..].trim_matches(['<', '>']).to_string();
                        b"250 OK\r\n"
                    } else if command.starts_with("DATA") {
                        let _ = stream.get_mut().write_all(b"354 go ahead\r\n").await;
                        let mut message = String::new();
                        loop {
                            let mut data = String::new();
                            if stream.read_line(&mut data).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if data == ".\r\n" {
                                break;
                            }
                            message.push_str(&data);
                        }
                        store.lock().unwrap().push((recipient.clone(), message));
                        b"250 queued\r\n"
                    } else if command.starts_with("QUIT") {
                        let _ = stream.get_mut().write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    let _ = stream.get_mut().write_all(reply).await;
                }
            });
        }
    });
    (address, mails)
}

pub async fn app_with_receivers() -> (TestApp, Arc<Mutex<Vec<Received>>>, Arc<Mutex<Vec<(String, String)>>>) {
    let (http, received) = http_receiver().await;
    let (smtp, mails) = smtp_receiver().await;
    let mut config = app::Config::for_tests();
    config.delivery.sms_gateway_url = Some(format!("{http}/sms"));
    config.delivery.smtp_server = Some(smtp);
    config.delivery.timeout_seconds = 5;
    config.public_url = Some("http://gridline.test".into());
    let t = TestApp::with_config(store::testing::TestDatabase::from_env().await, config).await;
    (t, received, mails)
}

async fn deliver_everything(t: &TestApp) -> app::warnings::DeliveryReport {
    let transports = app::warnings::Transports::new();
    let mut total = app::warnings::DeliveryReport::default();
    loop {
        let report = t.app.warnings().deliver_round("test-worker", &transports).await.unwrap();
        if report.claimed == 0 {
            return total;
        }
        total.claimed += report.claimed;
        total.delivered += report.delivered;
        total.retried += report.retried;
        total.failed += report.failed;
    }
}

async fn post_raw(t: &TestApp, path: &str, auth: &Auth, content_type: &str, body: String) -> crate::TestResponse {
    let mut builder =
        Request::builder().method(Method::POST).uri(path).header(header::ACCEPT_LANGUAGE, "en").header(header::CONTENT_TYPE, content_type);
    if let Auth::Token(token) = auth {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    t.send(builder.body(Body::from(body)).unwrap()).await
}

/// A household line: inside community A (121.41–121.42, 31.16–31.17) or inside community B.
fn household_line(index: usize, inside: bool, vulnerable: bool) -> String {
    let (lon, grid) = if inside { (121.4105 + index as f64 * 0.0004, "A1") } else { (121.4205 + index as f64 * 0.0004, "B") };
    let phone = if index % 3 != 2 { format!("1380000{index:04}") } else { String::new() };
    let email = if index % 2 == 0 { format!("h{index}@example.org") } else { String::new() };
    let language = if index % 4 == 0 { "en" } else { "zh-CN" };
    let (needs, consent) = if vulnerable { ("独居老人，行动不便", "yes") } else { ("", "") };
    format!(
        "{}-{index},{grid},幸福路{index}号,{lon},31.165,2,{phone},{email},{language},{needs},{consent}",
        if inside { "in" } else { "out" }
    )
}

fn warning_input(jurisdiction_id: i64, status: &str) -> Value {
    json!({
        "jurisdiction_id": jurisdiction_id,
        "status": status,
        "level": "red",
        "hazard": "rainstorm",
        "headline_zh": "暴雨红色预警",
        "headline_en": "Red rainstorm warning",
        "description_zh": "预计未来3小时内降雨量将达100毫米以上。",
        "description_en": "More than 100 mm of rain is expected within three hours.",
        "instruction_zh": "停止户外活动，低洼地区居民立即转移。",
        "instruction_en": "Stop outdoor activities; people in low-lying areas move to higher ground now.",
        "area": square(121.41, 31.16, 0.01),
        "area_desc": "社区甲",
        "expires_at": app::time::rfc3339(START_MS + 6 * 3_600_000),
    })
}

#[tokio::test]
async fn a_warning_reaches_exactly_the_people_inside_and_closes_the_loop() {
    let (t, received, mails) = app_with_receivers().await;
    let world = World::build(&t).await;
    let ctx = t.system();
    // People on duty: a grid member for grid A1 and a cadre for community A, each with an account.
    let person = |jurisdiction: i64, name: &str, role: &str| {
        serde_json::from_value::<app::registry::NewMember>(json!({
            "jurisdiction_id": jurisdiction, "name": name, "roles": [role], "phone": "+8613900000000",
            "base": {"lon": 121.5, "lat": 31.3},
        }))
        .unwrap()
    };
    let grid_member = t.app.registry().create_member(&ctx, person(world.grid_a1, "网格员小陈", "grid_member")).await.unwrap().id;
    let cadre = t.app.registry().create_member(&ctx, person(world.community_a, "社区书记老周", "cadre")).await.unwrap().id;
    t.account("chen", vec![json!({"role": "grid_member", "jurisdiction_id": world.grid_a1})], Some(grid_member)).await;
    let cadre_token = t.account("zhou", vec![json!({"role": "community_cadre", "jurisdiction_id": world.community_a})], Some(cadre)).await;
    // The water department's system takes warnings by webhook.
    let water = world.water;
    let hook_url = format!("{}/hook", t.app.config().delivery.sms_gateway_url.clone().unwrap().trim_end_matches("/sms"));
    t.app
        .store()
        .write(move |c| {
            Box::pin(async move { store::warnings::set_organization_webhook(c, water, Some(&hook_url), Some("water-secret")).await })
        })
        .await
        .unwrap();

    // 20 households inside community A (6 vulnerable), 20 outside in community B (2 vulnerable).
    let mut csv = String::from("code,grid_code,address,lon,lat,residents,phone,email,language,vulnerable_needs,vulnerable_consent\n");
    for index in 0..20 {
        csv.push_str(&household_line(index, true, index < 6));
        csv.push('\n');
        csv.push_str(&household_line(index, false, index < 2));
        csv.push('\n');
    }
    csv.push_str("broken,A1,,not-a-number,31.165,,,,,,\n");
    let imported = post_raw(&t, "/api/v1/households/import", &world.officer, "text/csv", csv).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.text);
    assert_eq!(imported.body["imported"], 40);
    assert_eq!(imported.body["vulnerable"], 8);
    assert_eq!(imported.body["rejected"][0]["line"], 42);
    assert_eq!(imported.body["rejected"][0]["field"], "lon");

    // Draft, and the two-person rule.
    let draft = t.post("/api/v1/warnings/drafts", &world.officer, warning_input(world.sub_district, "Actual")).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.text);
    let id = draft.body["id"].as_i64().unwrap();
    let preview = t.get(&format!("/api/v1/warnings/{id}/preview"), &world.officer).await;
    assert_eq!((preview.body["households"].as_i64(), preview.body["vulnerable"].as_i64()), (Some(20), Some(6)), "{}", preview.text);
    assert_eq!(preview.body["residents"], 40);
    assert_eq!(preview.body["confirmation_required"], false);
    let own = t.post(&format!("/api/v1/warnings/{id}/approve"), &world.officer, json!({"version": 1})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert_eq!(own.body["code"], "second_person_required");
    let early = t.post(&format!("/api/v1/warnings/{id}/issue"), &world.officer, json!({"version": 1})).await;
    assert_eq!(early.body["code"], "second_person_required");
    assert_eq!(t.count("deliveries").await, 0, "nothing is sent before approval");
    let approved = t.post(&format!("/api/v1/warnings/{id}/approve"), &world.admin, json!({"version": 1})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.body["state"], "approved");
    let issued = t.post(&format!("/api/v1/warnings/{id}/issue"), &world.officer, json!({"version": 2})).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    assert_eq!(issued.body["state"], "issued");
    let identifier = issued.body["identifier"].as_str().unwrap().to_string();
    assert!(cap::gbt35965::GbtIdentifier::parse(&identifier).is_ok(), "{identifier}");

    // Delivery through the real channels.
    let report = deliver_everything(&t).await;
    assert_eq!((report.failed, report.retried), (0, 0), "{report:?}");
    let messages = received.lock().unwrap().clone();
    let sms: Vec<&super::warnings::Received> = messages.iter().filter(|m| m.path == "/sms").collect();
    let hooks: Vec<&super::warnings::Received> = messages.iter().filter(|m| m.path == "/hook").collect();
    let sms_to: BTreeMap<String, usize> = sms.iter().fold(BTreeMap::new(), |mut map, m| {
        let to = serde_json::from_str::<Value>(&m.body).unwrap()["to"].as_str().unwrap().to_string();
        *map.entry(to).or_default() += 1;
        map
    });
    let inside_phones: BTreeSet<String> = (0..20).filter(|i| i % 3 != 2).map(|i| format!("1380000{i:04}")).collect();
    let household_sms: BTreeSet<String> = sms_to.keys().filter(|to| to.starts_with("1380000")).cloned().collect();
    assert_eq!(household_sms, inside_phones, "exactly the households inside get a text");
    assert!(sms_to.values().all(|count| *count == 1) || sms_to.get("+8613812345678").is_some(), "{sms_to:?}");
    for (to, count) in &sms_to {
        if to.starts_with("1380000") {
            assert_eq!(*count, 1, "{to} got {count} texts");
        }
    }
    // Members whose home is inside (the four registered in the world live at 121.4157, 31.1654) get one text
    // each; the people on duty live elsewhere.
    assert_eq!(sms_to.get("+8613812345678").copied(), Some(4));
    assert!(!sms_to.contains_key("+8613900000000"));
    let keys: BTreeSet<&str> = messages.iter().map(|m| m.idempotency_key.as_str()).collect();
    assert_eq!(keys.len(), messages.len(), "every message has its own idempotency key");
    let inside_emails: BTreeSet<String> = (0..20).filter(|i| i % 2 == 0).map(|i| format!("h{i}@example.org")).collect();
    let mails_now = mails.lock().unwrap().clone();
    let household_mails: BTreeSet<String> = mails_now.iter().map(|(to, _)| to.clone()).filter(|to| to.starts_with('h')).collect();
    assert_eq!(household_mails, inside_emails);
    assert_eq!(mails_now.iter().filter(|(to, _)| to.starts_with('h')).count(), inside_emails.len());
    assert!(mails_now.iter().all(|(_, text)| text.contains("Message-ID: <gridline-delivery-")));
    // The department's webhook: signed with its secret, carrying the CAP document.
    assert_eq!(hooks.len(), 1);
    let hook = hooks[0];
    assert_eq!(hook.signature.as_deref(), Some(app::transport::signature("water-secret", hook.body.as_bytes()).as_str()));
    let hook_body: Value = serde_json::from_str(&hook.body).unwrap();
    assert!(hook_body["cap"].as_str().unwrap().contains(&identifier));
    // Texts speak the household's language.
    let english = sms.iter().find(|m| m.body.contains("13800000000")).unwrap();
    assert!(english.body.contains("Red rainstorm warning"), "{}", english.body);
    let chinese = sms.iter().find(|m| m.body.contains("13800000001")).unwrap();
    assert!(chinese.body.contains("暴雨红色预警"), "{}", chinese.body);

    // Half of the households acknowledge through their links (the web page); opening a link alone does not count.
    let link_of = |phone: &str| -> String {
        let message = sms.iter().find(|m| m.body.contains(phone)).unwrap();
        let text = serde_json::from_str::<Value>(&message.body).unwrap()["text"].as_str().unwrap().to_string();
        let url = text.split("http://gridline.test").nth(1).unwrap();
        url.split_whitespace().next().unwrap().to_string()
    };
    let acknowledging: Vec<usize> = (0..20).filter(|i| i % 3 != 2).step_by(2).collect();
    let browser = Browser::new("zh-CN");
    for index in &acknowledging {
        let path = link_of(&format!("1380000{index:04}"));
        let page = browser.get(&t, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.text.contains("我已收到此预警"));
        let done = browser.post(&t, &path, &[]).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text);
        assert!(done.text.contains("data-testid=\"ack-done\""));
    }
    let again = browser.post(&t, &link_of("13800000000"), &[]).await;
    assert_eq!(again.status, StatusCode::OK, "acknowledging twice is harmless");
    let forged = t.post(&format!("/api/v1/ack/{id}.h1.00000000000000000000000000000000"), &Auth::None, json!({})).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.count("acknowledgements").await, acknowledging.len() as i64);

    // At the red deadline (30 minutes), the vulnerable households that did not acknowledge become door-knocks
    // for the grid member; not a minute before.
    t.clock.advance_ms(29 * 60_000);
    assert_eq!(t.app.warnings().run_escalation().await.unwrap().door_knocks, 0);
    t.clock.advance_ms(60_000);
    let vulnerable_unacknowledged: Vec<usize> = (0..6).filter(|i| !acknowledging.contains(i)).collect();
    let pass = t.app.warnings().run_escalation().await.unwrap();
    assert_eq!(pass.door_knocks, vulnerable_unacknowledged.len(), "{pass:?}");
    assert_eq!(t.app.warnings().run_escalation().await.unwrap().door_knocks, 0, "a second pass creates nothing new");

    // The grid member works them in the field view: sees the address (audited), marks them done.
    let mut field = Browser::new("zh-CN");
    field.sign_in(&t, "chen", "chen-password-long").await;
    let list = field.get(&t, "/tasks").await;
    assert_eq!(list.status, StatusCode::OK);
    let task_ids: Vec<i64> = list.text.split("href=\"/tasks/").skip(1).filter_map(|rest| rest.split('"').next()?.parse().ok()).collect();
    let task_ids: Vec<i64> = task_ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    assert_eq!(task_ids.len(), vulnerable_unacknowledged.len(), "{}", list.text);
    let csrf = field.csrf(&t).await;
    let (last, rest) = task_ids.split_last().unwrap();
    for task_id in rest {
        let page = field.get(&t, &format!("/tasks/{task_id}")).await;
        assert!(page.text.contains("幸福路") && page.text.contains("独居老人"), "{}", page.text);
        let version = page.text.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let closed =
            field.post(&t, &format!("/tasks/{task_id}"), &[("csrf_token", &csrf), ("version", &version), ("status", "done")]).await;
        assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.text);
    }
    assert!(t.audit(50).await.iter().any(|a| a.action == "household.reveal" && a.purpose.starts_with("task ")));
    // The register's access log has each of those views, with the household, for the residents to see.
    let register_log = t.get("/api/v1/datasets/vulnerable-residents/access-log", &world.admin).await;
    let task_reads = register_log.body.as_array().unwrap().iter().filter(|e| e["purpose"] == "task").count();
    assert_eq!(task_reads, rest.len(), "{}", register_log.text);
    // The duty officer, cleared for the area but not responsible for the task, sees the address, never the needs.
    let officer_view = t.get(&format!("/api/v1/tasks/{last}"), &world.officer).await;
    assert_eq!(officer_view.status, StatusCode::OK, "{}", officer_view.text);
    assert!(officer_view.body["household"]["address"].is_string(), "{}", officer_view.text);
    assert!(officer_view.body["household"]["needs"].is_null(), "{}", officer_view.text);

    // Live reach: the API and the warning page agree.
    let reach = t.get(&format!("/api/v1/warnings/{id}/reach"), &world.officer).await;
    assert_eq!(reach.status, StatusCode::OK, "{}", reach.text);
    let total = &reach.body["total"];
    let households_reached = (0..20).filter(|i| i % 3 != 2 || i % 2 == 0).count() as i64;
    assert_eq!(total["targeted"], 20 + 4 + 1, "every household inside, the four members, the department");
    assert_eq!(total["delivered"], households_reached + 4 + 1, "all but the households with no phone or e-mail");
    assert_eq!(total["acknowledged"], acknowledging.len() as i64);
    assert_eq!(total["door_knock_tasks"], vulnerable_unacknowledged.len() as i64);
    assert_eq!(total["door_knocked"], vulnerable_unacknowledged.len() as i64 - 1);
    let mut officer_browser = Browser::new("en");
    officer_browser.sign_in(&t, "officer", "officer-password-long").await;
    let page = officer_browser.get(&t, &format!("/warnings/{id}")).await;
    assert!(page.text.contains(&format!("data-testid=\"reach-acknowledged\">{}<", acknowledging.len())), "{}", page.text);

    // The task left open is overdue 30 minutes later: it escalates to the community cadre.
    t.clock.advance_ms(31 * 60_000);
    let pass = t.app.warnings().run_escalation().await.unwrap();
    assert_eq!(pass.escalated, 1);
    let cadre_tasks = t.get("/api/v1/tasks/mine", &Auth::Token(cadre_token)).await;
    assert_eq!(cadre_tasks.body.as_array().unwrap().iter().map(|task| task["id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![*last]);

    // Public outputs: the page, the Atom index and the CAP document, without personal data.
    let public = Browser::new("zh-CN").get(&t, "/public/warnings").await;
    assert!(public.text.contains("暴雨红色预警") && !public.text.contains("幸福路"));
    let feed = t.get("/public/warnings.atom", &Auth::None).await;
    assert!(feed.text.contains(&identifier) && feed.text.contains(&format!("/public/warnings/{id}.xml")), "{}", feed.text);
    let xml = t.get(&format!("/public/warnings/{id}.xml"), &Auth::None).await;
    assert_eq!(xml.headers[header::CONTENT_TYPE], "application/cap+xml; charset=utf-8");
    let parsed = cap::parse_alert(xml.text.as_bytes());
    assert!(parsed.is_conforming(), "{:?}", parsed.findings);
    let alert = parsed.alert.unwrap();
    assert!(cap::gbt35965::check(&alert, &Default::default(), &parsed.lines).iter().all(|f| !f.is_error()));
    assert_eq!(alert.infos.len(), 2);

    // Cancelling stops what is pending, cancels open door-knocks, and tells everyone who was reached.
    let before = received.lock().unwrap().len();
    let cancelled = t.post(&format!("/api/v1/warnings/{id}/cancel"), &world.officer, json!({"note_zh": "降雨减弱，预警解除。"})).await;
    assert_eq!(cancelled.status, StatusCode::CREATED, "{}", cancelled.text);
    assert_eq!(cancelled.body["msg_type"], "Cancel");
    let original = t.get(&format!("/api/v1/warnings/{id}"), &world.officer).await;
    assert_eq!(original.body["state"], "cancelled");
    deliver_everything(&t).await;
    let after = received.lock().unwrap().len();
    assert_eq!(after - before, sms.len() + hooks.len(), "one cancellation per text and webhook delivered before");
    let open_tasks = t.get(&format!("/api/v1/tasks?warning_id={id}&status=open"), &world.officer).await;
    assert_eq!(open_tasks.body["total"], 0);
}

#[tokio::test]
async fn exercises_never_reach_the_public_and_big_areas_need_confirming() {
    let (t, received, _mails) = app_with_receivers().await;
    let world = World::build(&t).await;
    let mut csv = String::from("code,grid_code,lon,lat,phone\n");
    for index in 0..10 {
        csv.push_str(&format!("x{index},A1,{},31.165,1390000{index:04}\n", 121.411 + index as f64 * 0.0005));
    }
    assert_eq!(post_raw(&t, "/api/v1/households/import", &world.officer, "text/csv", csv).await.body["imported"], 10);
    // An exercise needs no second person, and reaches members only.
    let draft = t.post("/api/v1/warnings/drafts", &world.officer, warning_input(world.sub_district, "Exercise")).await;
    let id = draft.body["id"].as_i64().unwrap();
    let issued = t.post(&format!("/api/v1/warnings/{id}/issue"), &world.officer, json!({"version": 1})).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    deliver_everything(&t).await;
    let texts: Vec<String> = received.lock().unwrap().iter().filter(|m| m.path == "/sms").map(|m| m.body.clone()).collect();
    assert!(!texts.is_empty() && texts.iter().all(|text| !text.contains("1390000")), "{texts:?}");
    assert!(texts.iter().all(|text| text.contains("演练")), "exercise texts say so");
    assert_eq!(t.get("/public/warnings.atom", &Auth::None).await.text.matches("<entry>").count(), 0);
    assert_eq!(t.get(&format!("/public/warnings/{id}.xml"), &Auth::None).await.status, StatusCode::NOT_FOUND);
    assert!(t.get(&format!("/api/v1/warnings/{id}/cap"), &world.officer).await.text.contains("<restriction>"));

    // A warning over more people than usual for its hazard needs an explicit confirmation.
    let mut config_reach = warning_input(world.sub_district, "Actual");
    config_reach["hazard"] = json!("gas_leak");
    let draft = t.post("/api/v1/warnings/drafts", &world.officer, config_reach).await;
    let id = draft.body["id"].as_i64().unwrap();
    t.post(&format!("/api/v1/warnings/{id}/approve"), &world.admin, json!({"version": 1})).await;
    let preview = t.get(&format!("/api/v1/warnings/{id}/preview"), &world.officer).await;
    assert_eq!(preview.body["confirmation_required"], false, "10 residents is not a lot");
    // The usual reach of a gas leak is set low in this deployment's configuration: 5 people.
    // (Configuration is per deployment; here the check is driven through a second app with that setting.)
    let mut config = app::Config::for_tests();
    config.warnings.usual_reach_by_hazard.insert("gas_leak".into(), 5);
    let small = TestApp::with_config(store::testing::TestDatabase::from_env().await, config).await;
    let world2 = World::build(&small).await;
    let mut csv = String::from("code,grid_code,lon,lat,residents\n");
    csv.push_str("y1,A1,121.415,31.165,4\ny2,A1,121.416,31.165,4\n");
    post_raw(&small, "/api/v1/households/import", &world2.officer, "text/csv", csv).await;
    let mut input = warning_input(world2.sub_district, "Actual");
    input["hazard"] = json!("gas_leak");
    let id = small.post("/api/v1/warnings/drafts", &world2.officer, input).await.body["id"].as_i64().unwrap();
    small.post(&format!("/api/v1/warnings/{id}/approve"), &world2.admin, json!({"version": 1})).await;
    let refused = small.post(&format!("/api/v1/warnings/{id}/issue"), &world2.officer, json!({"version": 2})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.body["code"], "confirmation_required");
    assert!(refused.body["detail"].as_str().unwrap().contains('8'), "{}", refused.text);
    let confirmed = small.post(&format!("/api/v1/warnings/{id}/issue"), &world2.officer, json!({"version": 2, "confirm": true})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
}

#[tokio::test]
async fn bad_warnings_are_refused_with_the_field_at_fault() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let mut bowtie = warning_input(world.sub_district, "Actual");
    bowtie["area"] =
        json!({"type": "Polygon", "coordinates": [[[121.41, 31.16], [121.42, 31.17], [121.42, 31.16], [121.41, 31.17], [121.41, 31.16]]]});
    let response = t.post("/api/v1/warnings/drafts", &world.officer, bowtie).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.body["field"], "area");
    assert!(response.body["detail"].as_str().unwrap().contains("self-intersecting"), "{}", response.text);
    let mut past = warning_input(world.sub_district, "Actual");
    past["expires_at"] = json!("2020-01-01T00:00:00Z");
    assert_eq!(t.post("/api/v1/warnings/drafts", &world.officer, past).await.body["field"], "expires_at");
    let mut level = warning_input(world.sub_district, "Actual");
    level["level"] = json!("purple");
    assert_eq!(t.post("/api/v1/warnings/drafts", &world.officer, level).await.body["field"], "level");
    let mut half_english = warning_input(world.sub_district, "Actual");
    half_english["instruction_en"] = Value::Null;
    assert_eq!(t.post("/api/v1/warnings/drafts", &world.officer, half_english).await.body["field"], "instruction_en");
    // People without the right refuse, and nothing is stored.
    let denied = t.post("/api/v1/warnings/drafts", &world.cadre_b, warning_input(world.community_a, "Actual")).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(t.count("warnings").await, 0);
    // Drafts are not public.
    let draft = t.post("/api/v1/warnings/drafts", &world.officer, warning_input(world.sub_district, "Actual")).await;
    let id = draft.body["id"].as_i64().unwrap();
    assert_eq!(t.get(&format!("/api/v1/warnings/{id}"), &Auth::None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/api/v1/warnings", &Auth::None).await.body["total"], 0);
    assert_eq!(t.get("/api/v1/warnings", &world.officer).await.body["total"], 1);
}

#[tokio::test]
async fn external_cap_is_ingested_once_and_bad_cap_is_refused_with_its_line() {
    let (t, received, _) = app_with_receivers().await;
    let world = World::build(&t).await;
    let csv = "code,grid_code,lon,lat,phone\nz1,A1,121.415,31.165,13700000001\n".to_string();
    post_raw(&t, "/api/v1/households/import", &world.officer, "text/csv", csv).await;
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>31000041600000_20261128160000_0</identifier>
  <sender>shanghai-meteo@example.cn</sender>
  <sent>2026-11-28T16:00:00+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <effective>2026-11-28T16:00:00+08:00</effective>
    <expires>{}</expires>
    <senderName>上海市气象台</senderName>
    <headline>上海市气象台发布暴雨橙色预警</headline>
    <description>预计未来6小时内降雨量将达50毫米以上。</description>
    <instruction>注意防范，避免前往低洼地带。</instruction>
    <parameter><valueName>预警级别</valueName><value>orange</value></parameter>
    <area><areaDesc>徐汇区</areaDesc><polygon>31.16,121.41 31.17,121.41 31.17,121.42 31.16,121.42 31.16,121.41</polygon></area>
  </info>
</alert>"#,
        cap::CapDateTime::from_timestamp(jiff::Timestamp::from_millisecond(START_MS + 6 * 3_600_000).unwrap(), cap::UtcOffset::BEIJING)
            .unwrap()
    );
    let first = post_raw(&t, "/api/v1/warnings", &world.officer, "application/cap+xml", xml.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["warning"]["level"], "orange");
    assert_eq!(first.body["warning"]["source"], "api");
    // Posted by one of our own accounts, it is a draft like any other: nobody is reached before a second person.
    assert_eq!(first.body["warning"]["state"], "draft");
    assert_eq!(first.body["warning"]["public"], false);
    let again = post_raw(&t, "/api/v1/warnings", &world.officer, "application/cap+xml", xml).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["created"], false);
    assert_eq!(t.count("warnings").await, 1);
    assert_eq!(t.count("deliveries").await, 0);
    let id = first.body["warning"]["id"].as_i64().unwrap();
    let approved = t.post(&format!("/api/v1/warnings/{id}/approve"), &world.admin, json!({"version": 1})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let issued = t.post(&format!("/api/v1/warnings/{id}/issue"), &world.officer, json!({"version": 2})).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    assert_eq!(issued.body["sender"], "gridline@localhost", "issued here, it is sent as Gridline");
    deliver_everything(&t).await;
    let to_household = received.lock().unwrap().iter().filter(|m| m.body.contains("13700000001")).count();
    assert_eq!(to_household, 1, "once approved and issued, the warning reaches the household inside");
    let broken = "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n<identifier>x</identifier>\n<sender>a@b</sender>\n<sent>2026-11-28T16:00:00</sent>\n<status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>";
    let refused = post_raw(&t, "/api/v1/warnings", &world.officer, "application/cap+xml", broken.into()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert!(refused.body["field"].as_str().unwrap().contains("line 4"), "{}", refused.text);
    let wrong_type = post_raw(&t, "/api/v1/warnings", &world.officer, "text/plain", "hello".into()).await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let anonymous = post_raw(&t, "/api/v1/warnings", &Auth::None, "application/cap+xml", broken.into()).await;
    assert_ne!(anonymous.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_polled_feed_brings_each_warning_once() {
    let t = TestApp::new().await;
    let world = World::build(&t).await;
    let cap = |identifier: &str| {
        format!(
            r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier><sender>meteo@example.cn</sender>
<sent>2026-11-28T16:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><language>zh-CN</language><category>Met</category><event>大风</event><urgency>Expected</urgency><severity>Moderate</severity>
<certainty>Likely</certainty><expires>2026-11-29T16:00:00+08:00</expires><headline>大风黄色预警 {identifier}</headline>
<area><areaDesc>徐汇区</areaDesc><circle>31.165,121.415 2</circle></area></info></alert>"#
        )
    };
    let inline = cap("feed-inline-1");
    let linked = cap("feed-linked-1");
    let feed = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>meteo</id><title>气象预警</title><updated>2026-11-28T08:00:00Z</updated>
<entry><id>e1</id><title>a</title><updated>2026-11-28T08:00:00Z</updated><link rel="alternate" type="application/cap+xml" href="/cap/1.xml"/></entry>
<entry><id>e2</id><title>b</title><updated>2026-11-28T08:00:00Z</updated><content type="text/xml">{inline}</content></entry>
<entry><id>e3</id><title>c</title><updated>2026-11-28T08:00:00Z</updated><link type="application/cap+xml" href="/cap/missing.xml"/></entry>
</feed>"#
    );
    let router = axum::Router::new()
        .route("/feed.atom", axum::routing::get(move || async move { ([(header::CONTENT_TYPE, "application/atom+xml")], feed) }))
        .route("/cap/1.xml", axum::routing::get(move || async move { linked }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let config =
        app::warnings::FeedConfig { name: "meteo".into(), url: format!("http://{address}/feed.atom"), ca_file: None, interval_seconds: 60 };
    let client = app::transport::HttpClient::default();
    // An account posts a copy of the feed's next alert before the feed is polled: it becomes a draft of Gridline's
    // own, and cannot stand in for the feed's alert (which would then be dropped as already received).
    let squat = cap("feed-linked-1").replace("<instruction>", "").replace("</instruction>", "");
    let squat = squat.replace("</headline>", "</headline><description>抢先。</description><instruction>无。</instruction>");
    let posted = post_raw(&t, "/api/v1/warnings", &world.admin, "application/cap+xml", squat).await;
    assert_eq!((posted.status, posted.body["warning"]["state"].as_str()), (StatusCode::CREATED, Some("draft")), "{}", posted.text);
    assert_ne!(posted.body["warning"]["identifier"], "feed-linked-1");
    let mut seen = std::collections::HashSet::new();
    let first = t.app.warnings().poll_feed(&config, &client, &mut seen).await.unwrap();
    assert_eq!((first.entries, first.ingested, first.rejected.len()), (3, 2, 1), "{first:?}");
    assert!(first.rejected[0].1.contains("404"), "{first:?}");
    let list = t.get("/api/v1/warnings?state=issued", &world.officer).await;
    assert_eq!(list.body["total"], 2);
    assert!(list.body["items"].as_array().unwrap().iter().all(|w| w["source"] == "feed:meteo" && w["level"] == "yellow"));
    // Polled again (and by a fresh process that remembers nothing): nothing new.
    let again = t.app.warnings().poll_feed(&config, &client, &mut seen).await.unwrap();
    assert_eq!((again.ingested, again.known), (0, 2));
    let fresh = t.app.warnings().poll_feed(&config, &client, &mut std::collections::HashSet::new()).await.unwrap();
    assert_eq!((fresh.ingested, fresh.known), (0, 2));
    assert_eq!(t.count("warnings").await, 3, "two from the feed, and the account's draft");
}

/// A CAP document for the attack tests: an `Alert` over `polygon` (CAP's lat,lon text), or an `Update`/`Cancel`
/// naming `references`.
fn cap_message(identifier: &str, msg_type: &str, polygon: &str, references: Option<&str>) -> String {
    let references = references.map(|r| format!("<references>{r}</references>")).unwrap_or_default();
    format!(
        r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier><sender>cadre-tool@example.cn</sender>
<sent>2026-11-28T16:30:00+08:00</sent><status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{references}
<info><language>zh-CN</language><category>Met</category><event>暴雨</event><urgency>Immediate</urgency><severity>Extreme</severity>
<certainty>Likely</certainty><expires>2026-11-29T16:00:00+08:00</expires><headline>暴雨红色预警</headline><description>解除原因：误报。</description>
<instruction>停止户外活动。</instruction><parameter><valueName>预警级别</valueName><value>red</value></parameter>
<area><areaDesc>社区甲</areaDesc><polygon>{polygon}</polygon></area></info></alert>"#
    )
}

/// Inside community A, and inside community B (CAP polygons, lat,lon).
const AREA_A: &str = "31.161,121.411 31.169,121.411 31.169,121.419 31.161,121.419 31.161,121.411";

#[tokio::test]
async fn a_cap_posted_by_a_cadre_is_a_draft_that_needs_a_second_person() {
    let (t, received, _) = app_with_receivers().await;
    let world = World::build(&t).await;
    let households: String = (0..4).map(|i| household_line(i, true, false) + "\n").collect();
    let csv = format!("code,grid_code,address,lon,lat,residents,phone,email,language,vulnerable_needs,vulnerable_consent\n{households}");
    assert_eq!(post_raw(&t, "/api/v1/households/import", &world.officer, "text/csv", csv).await.status, StatusCode::OK);

    // A draft must say what to do, as a draft written on the console must.
    let without = cap_message("cadre-0", "Alert", AREA_A, None).replace("<instruction>停止户外活动。</instruction>", "");
    let without = post_raw(&t, "/api/v1/warnings", &world.cadre_a, "application/cap+xml", without).await;
    assert_eq!((without.status, without.body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("cap/alert/info/instruction")));
    // The attack as the review ran it: a community cadre alone posts an `Actual` alert for their community.
    let posted =
        post_raw(&t, "/api/v1/warnings", &world.cadre_a, "application/cap+xml", cap_message("cadre-1", "Alert", AREA_A, None)).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text);
    let warning = &posted.body["warning"];
    assert_eq!((warning["state"].as_str(), warning["public"].as_bool()), (Some("draft"), Some(false)), "{warning}");
    let id = warning["id"].as_i64().unwrap();
    assert_eq!(t.count("deliveries").await, 0, "a draft reaches nobody");
    let public = t.get("/public/warnings", &Auth::None).await;
    assert!(!public.text.contains("暴雨红色预警"), "a draft is not on the public page");

    // The cadre cannot issue it alone, nor approve their own draft.
    let alone = t.post(&format!("/api/v1/warnings/{id}/issue"), &world.cadre_a, json!({"version": 1})).await;
    assert_eq!((alone.status, alone.body["code"].as_str()), (StatusCode::FORBIDDEN, Some("second_person_required")), "{}", alone.text);
    let own = t.post(&format!("/api/v1/warnings/{id}/approve"), &world.cadre_a, json!({"version": 1})).await;
    assert_eq!(own.body["code"], "second_person_required", "{}", own.text);
    let refusal = t.audit(5).await.into_iter().find(|r| r.action == "warning.approve").expect("the refused approval is audited");
    assert_eq!((refusal.decision.as_str(), refusal.reason.as_str()), ("deny", "second_person_required"));
    assert_eq!(t.count("deliveries").await, 0);

    // A second person approves; then it goes out.
    let approved = t.post(&format!("/api/v1/warnings/{id}/approve"), &world.officer, json!({"version": 1})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let issued = t.post(&format!("/api/v1/warnings/{id}/issue"), &world.cadre_a, json!({"version": 2})).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    assert_eq!(issued.body["state"], "issued");
    deliver_everything(&t).await;
    assert!(!received.lock().unwrap().is_empty(), "issued after approval, it reaches the households");
}

#[tokio::test]
async fn a_cap_update_or_cancel_needs_authority_over_the_warning_it_references() {
    let (t, _, _) = app_with_receivers().await;
    let world = World::build(&t).await;
    // The officer issues a warning for community B (a second person approves it).
    let mut input = warning_input(world.community_b, "Actual");
    input["area"] = square(121.42, 31.16, 0.01);
    let draft = t.post("/api/v1/warnings/drafts", &world.officer, input).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.text);
    let id = draft.body["id"].as_i64().unwrap();
    t.post(&format!("/api/v1/warnings/{id}/approve"), &world.admin, json!({"version": 1})).await;
    let issued = t.post(&format!("/api/v1/warnings/{id}/issue"), &world.officer, json!({"version": 2})).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    // While it is in force it is on the public live map; who is inside is not public.
    let live = t.get("/public/data/live/warnings.geojson", &Auth::None).await;
    assert_eq!(live.body["features"].as_array().unwrap().len(), 1, "{}", live.text);
    let preview = t.get(&format!("/api/v1/warnings/{id}/preview"), &Auth::None).await;
    assert_eq!(preview.status, StatusCode::UNAUTHORIZED, "the public learns nothing of the vulnerable households inside: {}", preview.text);
    assert_eq!(t.get(&format!("/api/v1/warnings/{id}/preview"), &world.officer).await.status, StatusCode::OK);
    let reference = format!(
        "{},{},{}",
        issued.body["sender"].as_str().unwrap(),
        issued.body["identifier"].as_str().unwrap(),
        issued.body["sent_at"].as_str().unwrap().replace(".000Z", "+00:00")
    );
    // The review's attack: community A's cadre posts a Cancel whose own area is community A, naming B's warning.
    let cancel = cap_message("cadre-cancel-1", "Cancel", AREA_A, Some(&reference));
    let refused = post_raw(&t, "/api/v1/warnings", &world.cadre_a, "application/cap+xml", cancel.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(t.get(&format!("/api/v1/warnings/{id}"), &world.officer).await.body["state"], "issued", "B's warning stays in force");
    let audit = t.audit(5).await;
    assert!(
        audit.iter().any(|r| r.action == "warning.cancel" && r.decision == "deny" && r.object_id.as_deref() == Some(&id.to_string())),
        "the refusal names the referenced warning: {audit:?}"
    );
    // An Update naming it is refused the same way, and so is a Cancel naming a warning nobody knows.
    let update = cap_message("cadre-update-1", "Update", AREA_A, Some(&reference));
    assert_eq!(post_raw(&t, "/api/v1/warnings", &world.cadre_a, "application/cap+xml", update).await.status, StatusCode::FORBIDDEN);
    let unknown = cap_message("cadre-cancel-2", "Cancel", AREA_A, Some("someone@example.cn,nothing-1,2026-11-28T16:00:00+08:00"));
    let unknown = post_raw(&t, "/api/v1/warnings", &world.cadre_a, "application/cap+xml", unknown).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.text);
    assert_eq!(t.count("warnings").await, 1, "nothing was stored");

    // B's cadre has that authority: the same Cancel cancels it at once (no second person for a cancellation),
    // and posting it again changes nothing.
    let cancelled = post_raw(&t, "/api/v1/warnings", &world.cadre_b, "application/cap+xml", cancel.clone()).await;
    assert_eq!(cancelled.status, StatusCode::CREATED, "{}", cancelled.text);
    assert_eq!(cancelled.body["warning"]["msg_type"], "Cancel");
    assert_eq!(t.get(&format!("/api/v1/warnings/{id}"), &world.officer).await.body["state"], "cancelled");
    let again = post_raw(&t, "/api/v1/warnings", &world.cadre_b, "application/cap+xml", cancel).await;
    assert_eq!((again.status, again.body["created"].as_bool()), (StatusCode::OK, Some(false)), "{}", again.text);
    assert_eq!(again.body["warning"]["id"], cancelled.body["warning"]["id"]);
    // Neither the cancelled warning nor the Cancel message that withdrew it shows as in force on the live map.
    let live = t.get("/public/data/live/warnings.geojson", &Auth::None).await;
    assert_eq!(live.body["features"].as_array().unwrap().len(), 0, "{}", live.text);
}
