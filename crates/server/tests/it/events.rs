//! The live event stream: what each caller sees, resumption with Last-Event-ID, and the JSON form.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{Auth, TestApp, World};

/// Opens the stream as `auth` (after `last_event_id`, if any) and returns a reader of its events.
async fn open(t: &TestApp, auth: &Auth, last_event_id: Option<i64>) -> axum::body::BodyDataStream {
    let token = match auth {
        Auth::Token(token) => token.clone(),
        _ => unreachable!(),
    };
    let mut builder = Request::builder().method(Method::GET).uri("/api/v1/events").header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(id) = last_event_id {
        builder = builder.header("last-event-id", id.to_string());
    }
    let response = t.router.clone().oneshot(builder.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    response.into_body().into_data_stream()
}

/// Reads events until `count` have arrived (or fails after a few seconds).
async fn next_events(stream: &mut axum::body::BodyDataStream, count: usize) -> Vec<(i64, Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < count {
        let chunk = tokio::time::timeout_at(deadline, stream.next()).await.expect("events in time").expect("stream open").unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let id = block.lines().find_map(|line| line.strip_prefix("id: ")).map(|id| id.parse::<i64>().unwrap());
            let data = block.lines().find_map(|line| line.strip_prefix("data: "));
            if let (Some(id), Some(data)) = (id, data) {
                events.push((id, serde_json::from_str(data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn the_stream_shows_each_caller_what_they_may_see() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let mut cadre_a = open(&t, &w.cadre_a, None).await;
    let mut public = {
        let response = t.router.clone().oneshot(Request::builder().uri("/api/v1/events").body(Body::empty()).unwrap()).await.unwrap();
        response.into_body().into_data_stream()
    };

    let in_b = t.post("/api/v1/members", &w.admin, json!({"jurisdiction_id": w.community_b, "name": "乙的新人"})).await;
    let in_a = t.post("/api/v1/members", &w.admin, json!({"jurisdiction_id": w.grid_a1, "name": "甲的新人", "phone": "13800001111"})).await;
    let grid = t
        .post("/api/v1/jurisdictions", &w.admin, json!({"parent_id": w.community_b, "level": "grid", "code": "B1", "name_zh": "网格乙一"}))
        .await;

    let seen = next_events(&mut cadre_a, 2).await;
    assert_eq!(seen[0].1["kind"], "member.created");
    assert_eq!(seen[0].1["subject_id"], in_a.body["id"].to_string());
    assert_eq!(seen[1].1["kind"], "jurisdiction.created", "public events are seen everywhere");
    assert!(!seen.iter().any(|(_, event)| event["subject_id"] == in_b.body["id"].to_string()), "nothing from community B");
    assert!(!serde_json::to_string(&seen).unwrap().contains("13800001111"), "no personal data in events");

    let public_seen = next_events(&mut public, 1).await;
    assert_eq!(public_seen[0].1["subject_id"], grid.body["id"].to_string());

    // Resuming after the first event replays the rest, in order.
    let mut resumed = open(&t, &w.cadre_a, Some(seen[0].0)).await;
    let replay = next_events(&mut resumed, 1).await;
    assert_eq!(replay[0].0, seen[1].0);
}

#[tokio::test]
async fn a_revoked_token_stops_its_stream() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let created = t.post("/api/v1/tokens", &w.officer, json!({"name": "wall screen"})).await;
    let token = created.body["token"].as_str().unwrap().to_string();
    let mut stream = open(&t, &Auth::Token(token), None).await;
    t.post("/api/v1/members", &w.admin, json!({"jurisdiction_id": w.community_b, "name": "甲"})).await;
    assert_eq!(next_events(&mut stream, 1).await.len(), 1);
    t.request(Method::DELETE, &format!("/api/v1/tokens/{}", created.body["details"]["id"]), &w.officer, None).await;
    t.clock.advance_ms(20_000);
    t.post("/api/v1/members", &w.admin, json!({"jurisdiction_id": w.community_b, "name": "乙"})).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                None => return true,
                Some(Ok(chunk)) if String::from_utf8_lossy(&chunk).contains("data:") => return false,
                Some(_) => continue,
            }
        }
    })
    .await
    .expect("the stream ends in time");
    assert!(ended, "a revoked token received another event");
}

#[tokio::test]
async fn past_events_as_json() {
    let t = TestApp::new().await;
    let w = World::build(&t).await;
    let token = match &w.officer {
        Auth::Token(token) => token.clone(),
        _ => unreachable!(),
    };
    let request = |after: i64| {
        Request::builder()
            .uri(format!("/api/v1/events?after={after}&limit=3&subject_type=member"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap()
    };
    let page = t.send(request(0)).await;
    let events = page.body.as_array().unwrap();
    assert_eq!(events.len(), 3, "{}", page.text);
    assert!(events.iter().all(|e| e["subject_type"] == "member"));
    assert!(events.windows(2).all(|pair| pair[0]["seq"].as_i64() < pair[1]["seq"].as_i64()));
    let next = t.send(request(events[2]["seq"].as_i64().unwrap())).await;
    assert_eq!(next.body.as_array().unwrap().len(), 1, "four members in the world, one left");
}
