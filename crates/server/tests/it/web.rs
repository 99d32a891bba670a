//! The web console through the real router: sign-in, language, forms with CSRF, masking, CSV, layers, and the
//! templates (snapshots, and no hard-coded visible text).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::{TestApp, TestResponse, World};

/// A browser: a session cookie and a language.
pub(crate) struct Browser {
    pub(crate) cookie: Option<String>,
    pub(crate) lang: &'static str,
}

impl Browser {
    pub(crate) fn new(lang: &'static str) -> Browser {
        Browser { cookie: None, lang }
    }

    pub(crate) async fn get(&self, t: &TestApp, path: &str) -> TestResponse {
        let mut builder = Request::builder().uri(path).header(header::ACCEPT_LANGUAGE, self.lang);
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        t.send(builder.body(Body::empty()).unwrap()).await
    }

    pub(crate) async fn post(&self, t: &TestApp, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::ACCEPT_LANGUAGE, self.lang)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        t.send(builder.body(Body::from(body)).unwrap()).await
    }

    pub(crate) async fn sign_in(&mut self, t: &TestApp, username: &str, password: &str) {
        let response = self.post(t, "/login", &[("username", username), ("password", password), ("next", "/members")]).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text);
        assert_eq!(response.headers[header::LOCATION], "/members");
        let cookie = response.headers[header::SET_COOKIE].to_str().unwrap();
        self.cookie = Some(cookie.split(';').next().unwrap().to_string());
    }

    pub(crate) async fn csrf(&self, t: &TestApp) -> String {
        let page = self.get(t, "/console").await.text;
        page.split("name=\"csrf-token\" content=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
    }
}

#[tokio::test]
async fn pages_speak_the_readers_language() {
    let t = TestApp::new().await;
    World::build(&t).await;
    let chinese = Browser::new("zh-CN,zh;q=0.9").get(&t, "/login").await;
    assert_eq!(chinese.status, StatusCode::OK);
    assert!(chinese.text.contains("<html lang=\"zh-CN\">") && chinese.text.contains("登录"), "{}", chinese.text);
    let english = Browser::new("en-GB").get(&t, "/login").await;
    assert!(english.text.contains("<html lang=\"en\">") && english.text.contains("Sign in"));
    // The switch sets a cookie that beats Accept-Language from then on.
    let switched = Browser::new("en").post(&t, "/language", &[("lang", "zh-CN"), ("back", "/jurisdictions")]).await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.headers[header::LOCATION], "/jurisdictions");
    let cookie = switched.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let browser = Browser { cookie: Some(cookie), lang: "en" };
    assert!(browser.get(&t, "/jurisdictions").await.text.contains("<html lang=\"zh-CN\">"));
    // A language switch may not send the reader to another site.
    let away = Browser::new("en").post(&t, "/language", &[("lang", "en"), ("back", "//evil.example/")]).await;
    assert_eq!(away.headers[header::LOCATION], "/console");
    // Every page carries the strict CSP.
    assert!(!english.headers["content-security-policy"].to_str().unwrap().contains("unsafe-inline"));
}

#[tokio::test]
async fn forms_need_the_session_csrf_token() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let mut browser = Browser::new("en");
    let wrong = browser.post(&t, "/login", &[("username", "cadre.a"), ("password", "nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains("Wrong username or password"));
    browser.sign_in(&t, "cadre.a", "cadre.a-password-long").await;
    let jurisdiction = w.community_a.to_string();
    let fields = |csrf: &str| {
        vec![
            ("csrf_token", csrf.to_string()),
            ("name", "赵大".to_string()),
            ("jurisdiction_id", jurisdiction.clone()),
            ("roles", "volunteer".to_string()),
            ("roles", "first_responder".to_string()),
            ("skills", "first_aid, boat_handling".to_string()),
            ("credential_kind", "first_aid_certificate".to_string()),
            ("credential_expires_on", "2026-12-01".to_string()),
            ("status", "active".to_string()),
            ("base", "31.165, 121.415".to_string()),
        ]
    };
    let members_before = t.count("members").await;
    let forged: Vec<(&str, String)> = fields("0".repeat(64).as_str());
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post(&t, "/members", &forged).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.count("members").await, members_before);

    let csrf = browser.csrf(&t).await;
    let good = fields(&csrf);
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = browser.post(&t, "/members", &good).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let location = created.headers[header::LOCATION].to_str().unwrap().to_string();
    let page = browser.get(&t, &location).await;
    assert!(page.text.contains("赵大") && page.text.contains("boat_handling"), "{}", page.text);
    assert!(page.text.contains("credential-expiring_soon"), "a certificate expiring within 30 days is highlighted");

    // Edit it through the edit form's own fields.
    let id = location.rsplit('/').next().unwrap().to_string();
    let edit_page = browser.get(&t, &format!("/members/{id}/edit")).await;
    assert_eq!(edit_page.status, StatusCode::OK);
    assert!(edit_page.text.contains("value=\"first_aid, boat_handling\""), "{}", edit_page.text);
    let mut edit = fields(&csrf);
    edit.push(("version", "1".to_string()));
    edit.retain(|(k, _)| *k != "skills" && *k != "status");
    edit.push(("skills", "boat_handling".to_string()));
    edit.push(("status", "deployed".to_string()));
    edit.push(("organization_id", String::new()));
    edit.push(("phone", String::new()));
    let edit: Vec<(&str, &str)> = edit.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = browser.post(&t, &format!("/members/{id}"), &edit).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let page = browser.get(&t, &format!("/members/{id}")).await;
    assert!(page.text.contains("status-deployed"), "{}", page.text);

    // A bad value re-renders the form with the error next to the entered values.
    let mut bad = fields(&csrf);
    bad[1].1 = String::new();
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let rejected = browser.post(&t, "/members", &bad).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(rejected.text.contains("href=\"#name\"") && rejected.text.contains("boat_handling"), "{}", rejected.text);
}

#[tokio::test]
async fn personal_data_is_masked_on_pages_and_in_csv() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let mut cadre = Browser::new("en");
    cadre.sign_in(&t, "cadre.a", "cadre.a-password-long").await;
    let page = cadre.get(&t, &format!("/members/{}", w.member_a)).await;
    assert!(page.text.contains("+86138****5678") && !page.text.contains("+8613812345678"));
    let csrf = cadre.csrf(&t).await;
    let revealed =
        cadre.post(&t, &format!("/members/{}/reveal", w.member_a), &[("csrf_token", &csrf), ("purpose", "door-to-door check")]).await;
    assert!(revealed.text.contains("+8613812345678"), "{}", revealed.text);
    // Another community's member: refused, with an explanation.
    let other = cadre.get(&t, &format!("/members/{}", w.member_b)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(!other.text.contains("13812345678"));
    // The CSV export follows the list: masked, in scope only, headers in the reader's language.
    let csv = cadre.get(&t, "/members.csv").await;
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(csv.text.contains("Name,Status") && csv.text.contains("+86138****5678"), "{}", csv.text);
    assert!(!csv.text.contains("李四"), "community B's member is not exported");
    assert_eq!(csv.text.lines().count(), 3, "header and the two members of community A");
    // Every list exports: organizations show their contact to the cadre (the station serves their area).
    let organizations = cadre.get(&t, "/organizations.csv").await;
    assert!(
        organizations.text.contains("Name (Chinese)")
            && organizations.text.contains("水务所")
            && organizations.text.contains("02164000000"),
        "{}",
        organizations.text
    );
    let teams = cadre.get(&t, "/teams.csv").await;
    assert_eq!(teams.status, StatusCode::OK);
    let jurisdictions = cadre.get(&t, "/jurisdictions.csv?level=community").await;
    assert_eq!(jurisdictions.text.lines().count(), 3, "header and communities A and B: {}", jurisdictions.text);
    // The public is sent to sign in.
    let public = Browser::new("en").get(&t, "/members").await;
    assert_eq!(public.status, StatusCode::SEE_OTHER);
    assert!(public.headers[header::LOCATION].to_str().unwrap().starts_with("/login?next="));
}

#[tokio::test]
async fn map_layers_are_simplified_aggregated_and_guarded() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let get = |path: String| {
        let request = Request::builder().uri(path).header(header::ACCEPT_LANGUAGE, "en").body(Body::empty()).unwrap();
        async { t.send(request).await }
    };
    let layers = get("/api/v1/layers".into()).await;
    let names: Vec<&str> = layers.body.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec!["jurisdictions", "warnings-in-force", "incidents-public"],
        "the public sees the public layers only: {}",
        layers.text
    );
    let view = "121.3,31.0,121.6,31.3";
    let detailed = get(format!("/api/v1/layers/jurisdictions/features?bbox={view}&zoom=16")).await;
    assert_eq!(detailed.headers[header::CONTENT_TYPE], "application/geo+json");
    let features = detailed.body["features"].as_array().unwrap();
    assert!(features.iter().any(|f| f["properties"]["code"] == "A"), "{}", detailed.text);
    let bad = get("/api/v1/layers/jurisdictions/features?bbox=1,2,3&zoom=9".into()).await;
    assert_eq!(bad.body["field"], "bbox");
    assert_eq!(get(format!("/api/v1/layers/members/features?bbox={view}")).await.status, StatusCode::UNAUTHORIZED);

    // A stored layer of 3,000 points: aggregated into cells when zoomed out, plain points when zoomed in.
    let points: Vec<serde_json::Value> = (0..3000)
        .map(|i| json!({"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": [121.40 + (i % 60) as f64 * 0.001, 31.15 + (i / 60) as f64 * 0.001]}, "properties": {"name": format!("H{i}")}}))
        .collect();
    let mut collection = json!({"type": "FeatureCollection", "features": points});
    collection["features"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "Feature", "id": "bad", "geometry": {"type": "Point", "coordinates": [500, 0]}}));
    let url = format!("/api/v1/layers?name=households&title_zh=%E4%BD%8F%E6%88%B7&classification=internal&jurisdiction_id={}", w.city);
    let import = t.post(&url, &w.admin, collection.clone()).await;
    assert_eq!(import.status, StatusCode::OK, "{}", import.text);
    assert_eq!((import.body["inserted"].as_u64(), import.body["rejected"].as_array().unwrap().len()), (Some(3000), 1));
    assert_eq!(import.body["rejected"][0]["field"], "features[3000].geometry.coordinates.lon");
    let again = t.post(&url, &w.admin, collection).await;
    assert_eq!((again.body["inserted"].as_u64(), again.body["unchanged"].as_u64()), (Some(0), Some(3000)), "re-importing changes nothing");
    let zoomed_out = t.get(&format!("/api/v1/layers/households/features?bbox={view}&zoom=11"), &w.cadre_a).await;
    assert_eq!(zoomed_out.body["properties"]["aggregated"], true, "{}", zoomed_out.text);
    let cells = zoomed_out.body["features"].as_array().unwrap();
    assert!(cells.len() < 100);
    assert_eq!(cells.iter().map(|c| c["properties"]["count"].as_i64().unwrap()).sum::<i64>(), 3000, "every point is counted once");
    // Box edges between grid points, so float rounding of the points cannot decide the count.
    let zoomed_in = t.get("/api/v1/layers/households/features?bbox=121.3995,31.1495,121.4095,31.1595&zoom=18", &w.cadre_a).await;
    assert_eq!(zoomed_in.body["properties"]["aggregated"], false);
    assert_eq!(zoomed_in.body["features"].as_array().unwrap().len(), 100);
    // An internal layer is not for the public.
    assert_eq!(get(format!("/api/v1/layers/households/features?bbox={view}")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get("/api/v1/layers/nothing/features?bbox=0,0,1,1".into()).await.status, StatusCode::NOT_FOUND);
}

/// Replaces what changes from run to run (CSRF tokens, times) so snapshots are stable.
fn redact(html: &str) -> String {
    let mut out = String::new();
    for line in html.lines() {
        let line = if let Some(start) = line.find("content=\"").filter(|_| line.contains("csrf-token")) {
            format!("{}content=\"[csrf]\">", &line[..start])
        } else if line.contains("name=\"csrf_token\" value=\"") {
            let (head, rest) = line.split_once("name=\"csrf_token\" value=\"").unwrap();
            let tail = rest.split_once('"').map(|(_, tail)| tail).unwrap_or("");
            format!("{head}name=\"csrf_token\" value=\"[csrf]\"{tail}")
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn rendered_pages_match_their_snapshots() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let mut officer = Browser::new("zh-CN");
    officer.sign_in(&t, "officer", "officer-password-long").await;
    let pages = [
        ("login_en", Browser::new("en").get(&t, "/login").await),
        ("console_zh", officer.get(&t, "/console").await),
        ("members_zh", officer.get(&t, "/members?sort=name").await),
        ("member_zh", officer.get(&t, &format!("/members/{}", w.member_a)).await),
        ("jurisdiction_zh", officer.get(&t, &format!("/jurisdictions/{}", w.community_a)).await),
        ("jurisdictions_zh", officer.get(&t, "/jurisdictions").await),
    ];
    for (name, page) in pages {
        assert_eq!(page.status, StatusCode::OK, "{name}: {}", page.text);
        insta::assert_snapshot!(name, redact(&page.text));
    }
}

/// Text outside tags and template expressions that contains letters is a hard-coded string that escaped the
/// catalogs; so is a letter-bearing value of an attribute people see or hear (title, alt, placeholder, aria-label).
#[test]
fn templates_have_no_hard_coded_visible_text() {
    fn strip_template_syntax(source: &str) -> String {
        let mut out = String::new();
        let mut rest = source;
        while let Some(start) = rest.find(['{']) {
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let close = if after.starts_with("{{") {
                "}}"
            } else if after.starts_with("{%") {
                "%}"
            } else if after.starts_with("{#") {
                "#}"
            } else {
                out.push('{');
                rest = &after[1..];
                continue;
            };
            match after.find(close) {
                Some(end) => rest = &after[end + 2..],
                None => break,
            }
        }
        out.push_str(rest);
        out
    }
    let has_letters = |text: &str| text.chars().any(|c| c.is_alphabetic());
    for (name, source) in server::web::template_sources() {
        // The page's CSS class, set through a block, is markup too.
        let source = match source.split_once("{% block body_class %}") {
            Some((head, tail)) => format!("{head}{}", tail.split_once("{% endblock %}").map(|(_, rest)| rest).unwrap_or("")),
            None => source.to_string(),
        };
        let plain = strip_template_syntax(&source);
        let mut text_nodes = Vec::new();
        let mut rest = plain.as_str();
        while let Some(open) = rest.find('<') {
            text_nodes.push(rest[..open].to_string());
            let Some(close) = rest[open..].find('>') else { break };
            let tag = &rest[open..open + close];
            for attribute in ["title=\"", "alt=\"", "placeholder=\"", "aria-label=\""] {
                if let Some(value) = tag.split(attribute).nth(1).and_then(|v| v.split('"').next()) {
                    assert!(!has_letters(value), "{name}: hard-coded {attribute}{value}\"");
                }
            }
            rest = &rest[open + close + 1..];
        }
        text_nodes.push(rest.to_string());
        for node in text_nodes {
            let trimmed = node.trim();
            // `<!doctype html>` is markup, not text.
            if !trimmed.is_empty() && !trimmed.starts_with("!doctype") {
                assert!(!has_letters(trimmed), "{name}: hard-coded text {trimmed:?}");
            }
        }
    }
}

#[tokio::test]
async fn the_owner_is_told_of_failed_sign_ins_once_and_can_end_other_sessions() {
    let t = TestApp::new().await;
    World::build(&t).await;
    for _ in 0..3 {
        let failed = Browser::new("en").post(&t, "/login", &[("username", "officer"), ("password", "not it"), ("next", "/console")]).await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    }
    // Another browser (a phone) already signed in: it will be ended from the desk.
    let mut phone = Browser::new("en");
    phone.sign_in(&t, "officer", "officer-password-long").await;
    let signed_in = Browser::new("en")
        .post(&t, "/login", &[("username", "officer"), ("password", "officer-password-long"), ("next", "/console")])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text);
    let cookies: Vec<String> =
        signed_in.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("gridline_device=")), "{cookies:?}");
    // The phone signed in after the failures, so the desk's sign-in has none to report.
    assert!(!cookies.iter().any(|c| c.starts_with("gridline_notice=")), "{cookies:?}");
    let desk = Browser { cookie: Some(cookies.join("; ")), lang: "en" };
    let account = desk.get(&t, "/account").await;
    assert!(account.text.contains("Where you are signed in") && account.text.contains("Sign out everywhere else"), "{}", account.text);
    let csrf = desk.csrf(&t).await;
    let ended = desk.post(&t, "/account/sessions/end-others", &[("csrf_token", &csrf)]).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    assert!(ended.text.contains("1 other sessions have ended"), "{}", ended.text);
    assert_eq!(phone.get(&t, "/account").await.status, StatusCode::SEE_OTHER, "the phone is signed out");

    // Failures after the last sign-in are shown once, in the reader's language, on the next page.
    for _ in 0..2 {
        Browser::new("en").post(&t, "/login", &[("username", "officer"), ("password", "not it"), ("next", "/console")]).await;
    }
    let again = Browser::new("zh-CN")
        .post(&t, "/login", &[("username", "officer"), ("password", "officer-password-long"), ("next", "/console")])
        .await;
    let cookies: Vec<String> =
        again.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string()).collect();
    let browser = Browser { cookie: Some(cookies.join("; ")), lang: "zh-CN" };
    let page = browser.get(&t, "/console").await;
    assert!(page.text.contains("有人用错误的密码尝试以您的身份登录 2 次"), "{}", page.text);
    assert!(page.headers.get_all(header::SET_COOKIE).iter().any(|v| v.to_str().unwrap().starts_with("gridline_notice=;")), "cleared");
}

#[tokio::test]
async fn sign_in_never_redirects_to_another_site() {
    let t = TestApp::new().await;
    World::build(&t).await;
    for next in
        ["/\\evil.example", "//evil.example", "https://evil.example/", "/\\/evil.example", "/ok\r\nLocation: x", "javascript:alert(1)"]
    {
        let response =
            Browser::new("en").post(&t, "/login", &[("username", "officer"), ("password", "officer-password-long"), ("next", next)]).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers[header::LOCATION], "/console", "{next:?} is not followed");
        let page = Browser::new("en")
            .get(&t, &format!("/login?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()))
            .await;
        assert!(page.text.contains(r#"name="next" value="&#x2f;console""#), "{next:?} is not even carried in the form: {}", page.text);
    }
    let local = Browser::new("en")
        .post(&t, "/login", &[("username", "officer"), ("password", "officer-password-long"), ("next", "/incidents?open=true")])
        .await;
    assert_eq!(local.headers[header::LOCATION], "/incidents?open=true");
}
