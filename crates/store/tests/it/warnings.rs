//! Households, warnings, the delivery outbox, acknowledgements, tasks and settings.

use domain::registry::JurisdictionPath;
use store::households::*;
use store::registry::Versioned;
use store::settings;
use store::tasks::*;
use store::warnings::*;

use crate::registry::{member, sample_tree};
use crate::{TestStore, conformance};
use store::registry::{OrganizationFields, insert_member, insert_organization};

conformance!(
    households_upsert_by_code_and_flag_vulnerable,
    warnings_are_versioned_and_unique_per_sender_identifier_and_time,
    enqueue_is_idempotent_and_claims_are_exclusive,
    expired_leases_are_claimed_again_and_stale_workers_cannot_record,
    acknowledgements_and_reach_by_grid,
    tasks_dedupe_escalate_and_close,
    settings_first_value_wins,
    bulk_enqueue_from_households_members_and_organizations,
);

fn household(jurisdiction_id: i64, code: &str, lon: f64) -> HouseholdFields {
    HouseholdFields {
        jurisdiction_id,
        code: code.into(),
        address: Some(format!("{code} 号")),
        lon,
        lat: 31.2,
        residents: 3,
        phone: Some(format!("1380000{code}")),
        email: None,
        language: "zh-CN".into(),
    }
}

fn warning(identifier: &str, sent_at: Option<i64>) -> WarningFields {
    WarningFields {
        identifier: identifier.into(),
        sender: "sender@example.org".into(),
        source: "console".into(),
        state: "draft".into(),
        cap_status: "Actual".into(),
        msg_type: "Alert".into(),
        level: "red".into(),
        category: "Met".into(),
        event: "暴雨".into(),
        headline_zh: "暴雨红色预警".into(),
        headline_en: Some("Red rainstorm warning".into()),
        description_zh: "三小时内降雨量将达100毫米以上".into(),
        description_en: None,
        instruction_zh: "停课停业".into(),
        instruction_en: None,
        area_desc: "徐汇区".into(),
        area: r#"{"type":"MultiPolygon","coordinates":[]}"#.into(),
        effective_at: 1_000,
        expires_at: 100_000,
        sent_at,
        references_text: None,
        replaces_id: None,
        cap_xml: None,
        recipients: 0,
        created_by: None,
        approved_by: None,
        issued_by: None,
    }
}

async fn insert_w(t: &TestStore, fields: WarningFields, path: JurisdictionPath) -> Result<WarningRow, store::StoreError> {
    t.store.write(move |c| Box::pin(async move { insert_warning(c, &fields, &path, 1_000).await })).await
}

fn delivery(id: i64, channel: &'static str, grid: i64, vulnerable: bool) -> NewDelivery {
    NewDelivery {
        recipient_kind: "household",
        recipient_id: id,
        channel,
        target: format!("target-{id}"),
        language: "zh-CN".into(),
        grid_id: Some(grid),
        vulnerable,
    }
}

async fn enqueue_all(t: &TestStore, warning_id: i64, deliveries: Vec<NewDelivery>) -> u64 {
    t.store.write(move |c| Box::pin(async move { enqueue(c, warning_id, &deliveries, 2_000).await })).await.unwrap()
}

async fn claim_as(t: &TestStore, worker: &'static str, now: i64, limit: i64) -> Vec<Delivery> {
    t.store.write(move |c| Box::pin(async move { claim(c, worker, now, now + 60_000, limit).await })).await.unwrap()
}

async fn households_upsert_by_code_and_flag_vulnerable(t: &TestStore) {
    let tree = sample_tree(t).await;
    let grid = tree.last().unwrap().clone();
    let rows: Vec<(HouseholdFields, JurisdictionPath)> =
        (0..1200).map(|i| (household(grid.id, &format!("h{i:04}"), 121.0 + i as f64 * 1e-4), grid.path.clone())).collect();
    let written = t.store.write(move |c| Box::pin(async move { upsert_households(c, &rows, 1_000).await })).await.unwrap();
    assert_eq!(written, 1200);
    // Importing again with a changed field updates in place: same ids, version 2.
    let mut again = household(grid.id, "h0007", 121.5);
    again.residents = 5;
    let path = grid.path.clone();
    t.store.write(move |c| Box::pin(async move { upsert_households(c, &[(again, path)], 2_000).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    let id = household_id_by_code(&mut r.conn(), "h0007").await.unwrap().unwrap();
    let row = get_household(&mut r.conn(), id).await.unwrap().unwrap();
    assert_eq!((row.fields.residents, row.fields.lon, row.version, row.vulnerable), (5, 121.5, 2, false));
    drop(r);
    t.store.write(move |c| Box::pin(async move { set_vulnerable(c, id, "轮椅 wheelchair", 500, 3_000).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    assert!(get_household(&mut r.conn(), id).await.unwrap().unwrap().vulnerable);
    let points = household_points(&mut r.conn(), 0, 10_000).await.unwrap();
    assert_eq!(points.len(), 1200);
    assert!(points.windows(2).all(|pair| pair[0].id < pair[1].id));
    let second_page = household_points(&mut r.conn(), points[499].id, 500).await.unwrap();
    assert_eq!(second_page[0].id, points[500].id);
    let ids: Vec<i64> = points.iter().map(|p| p.id).collect();
    let contacts = household_contacts(&mut r.conn(), &ids).await.unwrap();
    assert_eq!(contacts.len(), 1200);
    assert_eq!(contacts.iter().filter(|c| c.vulnerable).map(|c| c.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(headcount(&mut r.conn(), &ids).await.unwrap(), (1200, 1200 * 3 + 2, 1));
    assert_eq!(headcount(&mut r.conn(), &[]).await.unwrap(), (0, 0, 0));
    // The change feed for the targeting index: everything, in (updated_at, id) order, resumable.
    let all = households_changed_since(&mut r.conn(), -1, 0, 10_000).await.unwrap();
    assert_eq!(all.len(), 1200);
    assert_eq!(all.last().unwrap().id, id, "the household updated last comes last");
    let after = households_changed_since(&mut r.conn(), all[1198].updated_at, all[1198].id, 10).await.unwrap();
    assert_eq!(after.iter().map(|c| c.id).collect::<Vec<_>>(), vec![id]);
}

async fn warnings_are_versioned_and_unique_per_sender_identifier_and_time(t: &TestStore) {
    let tree = sample_tree(t).await;
    let path = tree[1].path.clone();
    let row = insert_w(t, warning("w1", None), path.clone()).await.unwrap();
    assert_eq!(row.version, 1);
    let mut fields = row.fields.clone();
    fields.state = "issued".into();
    fields.sent_at = Some(5_000);
    let (f, p) = (fields.clone(), path.clone());
    let outcome = t.store.write(move |c| Box::pin(async move { update_warning(c, row.id, 1, &f, &p, 5_000).await })).await.unwrap();
    assert_eq!(outcome, Versioned::Done(2));
    let (f, p) = (fields.clone(), path.clone());
    let stale = t.store.write(move |c| Box::pin(async move { update_warning(c, row.id, 1, &f, &p, 6_000).await })).await.unwrap();
    assert_eq!(stale, Versioned::Conflict(2));
    // The same sender, identifier and sent time is the same message: a second insert is refused.
    let duplicate = insert_w(t, warning("w1", Some(5_000)), path.clone()).await;
    assert!(matches!(duplicate, Err(store::StoreError::Unique { .. })), "{duplicate:?}");
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(find_sent(&mut r.conn(), "sender@example.org", "w1", 5_000).await.unwrap().unwrap().id, row.id);
    assert!(find_sent(&mut r.conn(), "sender@example.org", "w1", 5_001).await.unwrap().is_none());
    assert_eq!(warnings_in_force(&mut r.conn(), 50_000).await.unwrap().len(), 1);
    assert_eq!(expired_warnings(&mut r.conn(), 100_000).await.unwrap().len(), 1);
    assert!(expired_warnings(&mut r.conn(), 99_999).await.unwrap().is_empty());
}

async fn enqueue_is_idempotent_and_claims_are_exclusive(t: &TestStore) {
    let tree = sample_tree(t).await;
    let w = insert_w(t, warning("w2", Some(1)), tree[1].path.clone()).await.unwrap();
    let deliveries: Vec<NewDelivery> = (1..=9000).map(|i| delivery(i, "sms", 1 + i % 3, i % 10 == 0)).collect();
    assert_eq!(enqueue_all(t, w.id, deliveries.clone()).await, 9000);
    // Enqueuing the same rows again (a retried issue) adds nothing.
    assert_eq!(enqueue_all(t, w.id, deliveries).await, 0);
    assert_eq!(enqueue_all(t, w.id, vec![delivery(1, "email", 2, false)]).await, 1);
    // Two workers claiming at once never get the same row.
    let (a, b) = tokio::join!(claim_as(t, "a", 3_000, 5000), claim_as(t, "b", 3_000, 5000));
    assert_eq!(a.len() + b.len(), 9001);
    let mut ids: Vec<i64> = a.iter().chain(b.iter()).map(|d| d.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 9001);
    assert!(claim_as(t, "c", 3_000, 10).await.is_empty(), "leased rows are not due");
    // Record outcomes: delivered, retry later, give up.
    let outcomes = vec![
        (a[0].id, Attempt::Delivered(3_100)),
        (a[1].id, Attempt::Retry { error: "503".into(), at_ms: 10_000 }),
        (a[2].id, Attempt::GiveUp { error: "400".into() }),
    ];
    t.store.write(move |c| Box::pin(async move { record(c, "a", &outcomes).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    let counts = delivery_counts(&mut r.conn(), w.id).await.unwrap();
    assert_eq!(counts, vec![("delivered".into(), 1), ("delivering".into(), 8998), ("failed".into(), 1), ("pending".into(), 1)]);
    drop(r);
    assert!(claim_as(t, "c", 9_999, 10).await.is_empty(), "a retry waits for its time");
    let retried = claim_as(t, "c", 10_000, 10).await;
    assert_eq!(retried.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(), vec![(a[1].id, 1)]);
    // Cancelling leaves delivered rows alone and stops the pending ones and those a worker holds (it sends nothing
    // it has not started: its lease renewal no longer finds them).
    let more: Vec<NewDelivery> = (20_000..20_010).map(|i| delivery(i, "sms", 1, false)).collect();
    enqueue_all(t, w.id, more).await;
    let open = count_deliveries(t, w.id, "('pending', 'delivering')").await;
    let delivered_before = count_deliveries(t, w.id, "('delivered')").await;
    assert!(open > 10, "pending and in-flight rows: {open}");
    let cancelled = t.store.write(move |c| Box::pin(async move { cancel_pending(c, w.id).await })).await.unwrap();
    assert_eq!(cancelled as i64, open);
    assert_eq!(count_deliveries(t, w.id, "('delivered')").await, delivered_before, "delivered rows are left alone");
}

/// How many deliveries of a warning are in one of `statuses` (an SQL list of fixed words).
async fn count_deliveries(t: &TestStore, warning_id: i64, statuses: &'static str) -> i64 {
    let mut r = t.store.reader().await.unwrap();
    r.conn()
        .fetch_one(
            format!("SELECT COUNT(*) AS n FROM deliveries WHERE warning_id = $1 AND status IN {statuses}"),
            store::params![warning_id],
        )
        .await
        .unwrap()
        .get("n")
        .unwrap()
}

async fn expired_leases_are_claimed_again_and_stale_workers_cannot_record(t: &TestStore) {
    let tree = sample_tree(t).await;
    let w = insert_w(t, warning("w3", Some(1)), tree[1].path.clone()).await.unwrap();
    enqueue_all(t, w.id, (1..=3).map(|i| delivery(i, "webhook", 1, false)).collect()).await;
    let first = claim_as(t, "dead", 3_000, 10).await;
    assert_eq!(first.len(), 3);
    // The worker died: its leases (60 s) expire, and another worker takes the rows over.
    assert!(claim_as(t, "live", 62_999, 10).await.is_empty());
    let second = claim_as(t, "live", 63_001, 10).await;
    assert_eq!(second.len(), 3);
    // The dead worker's late report changes nothing; the live one's counts.
    let id = second[0].id;
    t.store
        .write(move |c| Box::pin(async move { record(c, "dead", &[(id, Attempt::GiveUp { error: "late".into() })]).await }))
        .await
        .unwrap();
    t.store.write(move |c| Box::pin(async move { record(c, "live", &[(id, Attempt::Delivered(64_000))]).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    let counts = delivery_counts(&mut r.conn(), w.id).await.unwrap();
    assert_eq!(counts, vec![("delivered".into(), 1), ("delivering".into(), 2)]);
}

async fn acknowledgements_and_reach_by_grid(t: &TestStore) {
    let tree = sample_tree(t).await;
    let grid = tree.last().unwrap().clone();
    let w = insert_w(t, warning("w4", Some(1)), tree[1].path.clone()).await.unwrap();
    // Households 1–4 in grid 10, 5–6 in grid 20; 1 and 5 have two channels; 2, 3 and 6 are vulnerable.
    let mut deliveries: Vec<NewDelivery> =
        (1..=6).map(|i| delivery(i, "sms", if i <= 4 { 10 } else { 20 }, matches!(i, 2 | 3 | 6))).collect();
    deliveries.push(delivery(1, "email", 10, false));
    deliveries.push(delivery(5, "email", 20, false));
    enqueue_all(t, w.id, deliveries).await;
    let claimed = claim_as(t, "a", 3_000, 100).await;
    let delivered: Vec<(i64, Attempt)> =
        claimed.iter().filter(|d| d.recipient_id != 4 && d.channel == "sms").map(|d| (d.id, Attempt::Delivered(3_500))).collect();
    t.store.write(move |c| Box::pin(async move { record(c, "a", &delivered).await })).await.unwrap();
    let wid = w.id;
    let first = t.store.write(move |c| Box::pin(async move { acknowledge(c, wid, "household", 2, 4_000, "link").await })).await.unwrap();
    let again = t.store.write(move |c| Box::pin(async move { acknowledge(c, wid, "household", 2, 4_500, "api").await })).await.unwrap();
    assert!(first && !again, "an acknowledgement counts once");
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(unacknowledged_vulnerable(&mut r.conn(), w.id).await.unwrap(), vec![(3, Some(10)), (6, Some(20))]);
    drop(r);
    // A door-knock task for household 3.
    let task = NewTask {
        kind: "door_knock".into(),
        subject_type: "warning".into(),
        subject_id: w.id,
        dedupe_key: format!("door_knock:{}:3", w.id),
        title_zh: "敲门".into(),
        title_en: "Door-knock".into(),
        detail: "{}".into(),
        jurisdiction_id: grid.id,
        path: grid.path.clone(),
        owner_member_id: None,
        owner_organization_id: None,
        escalate_to_member_id: None,
        due_at: 10_000,
        function: None,
        support: None,
        depends_on: None,
        escalate_at: None,
        escalate_to_jurisdiction_id: None,
    };
    t.store.write(move |c| Box::pin(async move { insert_if_absent(c, &task, 5_000).await })).await.unwrap().unwrap();
    let mut r = t.store.reader().await.unwrap();
    let reach = reach_by_grid(&mut r.conn(), w.id).await.unwrap();
    assert_eq!(
        reach,
        vec![
            GridReach { grid_id: Some(10), targeted: 4, delivered: 3, acknowledged: 1, door_knock_tasks: 1, door_knocked: 0 },
            GridReach { grid_id: Some(20), targeted: 2, delivered: 2, acknowledged: 0, door_knock_tasks: 0, door_knocked: 0 },
        ]
    );
}

async fn tasks_dedupe_escalate_and_close(t: &TestStore) {
    let tree = sample_tree(t).await;
    let grid = tree.last().unwrap().clone();
    let task = NewTask {
        kind: "door_knock".into(),
        subject_type: "warning".into(),
        subject_id: 7,
        dedupe_key: "door_knock:7:1".into(),
        title_zh: "敲门".into(),
        title_en: "Door-knock".into(),
        detail: r#"{"household":1}"#.into(),
        jurisdiction_id: grid.id,
        path: grid.path.clone(),
        owner_member_id: None,
        owner_organization_id: None,
        escalate_to_member_id: None,
        due_at: 10_000,
        function: None,
        support: None,
        depends_on: None,
        escalate_at: None,
        escalate_to_jurisdiction_id: None,
    };
    let (a, b) = (task.clone(), task.clone());
    let (first, second) = tokio::join!(
        t.store.write(move |c| Box::pin(async move { insert_if_absent(c, &a, 1_000).await })),
        t.store.write(move |c| Box::pin(async move { insert_if_absent(c, &b, 1_000).await })),
    );
    let created: Vec<TaskRow> = [first.unwrap(), second.unwrap()].into_iter().flatten().collect();
    assert_eq!(created.len(), 1, "the same dedupe key makes one task");
    let id = created[0].id;
    let mut r = t.store.reader().await.unwrap();
    assert!(overdue_unescalated(&mut r.conn(), 9_999, 10).await.unwrap().is_empty());
    assert_eq!(overdue_unescalated(&mut r.conn(), 10_000, 10).await.unwrap().len(), 1);
    drop(r);
    assert!(t.store.write(move |c| Box::pin(async move { mark_escalated(c, id, 10_001).await })).await.unwrap());
    assert!(!t.store.write(move |c| Box::pin(async move { mark_escalated(c, id, 10_002).await })).await.unwrap());
    let done = t
        .store
        .write(move |c| Box::pin(async move { set_status(c, id, 2, "done", Some("已敲门，老人已转移"), 11_000).await }))
        .await
        .unwrap();
    assert_eq!(done, Versioned::Done(3));
    let stale = t.store.write(move |c| Box::pin(async move { set_status(c, id, 2, "unable", None, 11_500).await })).await.unwrap();
    assert_eq!(stale, Versioned::Conflict(3));
    let mut r = t.store.reader().await.unwrap();
    let row = get_task(&mut r.conn(), id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.evidence.as_deref(), row.escalated_at), ("done", Some("已敲门，老人已转移"), Some(10_001)));
    assert_eq!(counts_for_subject(&mut r.conn(), "warning", 7).await.unwrap(), vec![("done".into(), 1)]);
}

async fn settings_first_value_wins(t: &TestStore) {
    let first = t.store.write(|c| Box::pin(async move { settings::get_or_insert(c, "ack_key", "one", 1).await })).await.unwrap();
    let second = t.store.write(|c| Box::pin(async move { settings::get_or_insert(c, "ack_key", "two", 2).await })).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(settings::get(&mut r.conn(), "ack_key").await.unwrap().as_deref(), Some("one"));
    assert_eq!(settings::get(&mut r.conn(), "other").await.unwrap(), None);
}

async fn bulk_enqueue_from_households_members_and_organizations(t: &TestStore) {
    let tree = sample_tree(t).await;
    let (city, district, grid) = (tree[0].clone(), tree[1].clone(), tree.last().unwrap().clone());
    let mut rows = Vec::new();
    for (code, phone, email) in [("a", Some("13800000001"), Some("a@example.org")), ("b", Some("13800000002"), None), ("c", None, None)] {
        let mut fields = household(grid.id, code, 121.0);
        fields.phone = phone.map(str::to_string);
        fields.email = email.map(str::to_string);
        fields.language = if code == "a" { "en".into() } else { "zh-CN".into() };
        rows.push((fields, grid.path.clone()));
    }
    t.store.write(move |c| Box::pin(async move { upsert_households(c, &rows, 1_000).await })).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    let ids: Vec<i64> = household_points(&mut r.conn(), 0, 10).await.unwrap().iter().map(|p| p.id).collect();
    drop(r);
    let b = ids[1];
    t.store.write(move |c| Box::pin(async move { set_vulnerable(c, b, "独居老人", 1, 1).await })).await.unwrap();
    let w = insert_w(t, warning("bulk", Some(1)), district.path.clone()).await.unwrap();
    let wid = w.id;
    let household_ids = ids.clone();
    let added = t.store.write(move |c| Box::pin(async move { enqueue_households(c, wid, &household_ids, 2_000).await })).await.unwrap();
    assert_eq!(added, 4, "a: text and e-mail; b: text; c: a `none` row, failed, so that it counts as unreached");
    let household_ids = ids.clone();
    let again = t.store.write(move |c| Box::pin(async move { enqueue_households(c, wid, &household_ids, 2_000).await })).await.unwrap();
    assert_eq!(again, 0);
    // Members: one with a phone, one with nothing to reach them by.
    let mut with_phone = member(grid.id, "网格员", None);
    with_phone.phone = Some("13900000000".into());
    let mut unreachable = member(grid.id, "无联系方式", None);
    unreachable.phone = None;
    unreachable.email = None;
    let path = grid.path.clone();
    let member_ids = t
        .store
        .write(move |c| {
            Box::pin(async move {
                let a = insert_member(c, &with_phone, &path, 1).await?.id;
                let b = insert_member(c, &unreachable, &path, 1).await?.id;
                Ok::<_, store::StoreError>(vec![a, b])
            })
        })
        .await
        .unwrap();
    let added = t.store.write(move |c| Box::pin(async move { enqueue_members(c, wid, &member_ids, 2_000).await })).await.unwrap();
    assert_eq!(added, 1, "the member with a phone is queued once; the other has no channel");
    // Organizations: a city department (above the warning) and a grid enterprise (inside) have webhooks; another
    // district's organization (a sibling branch) is not on the warning's branch.
    let mut org_ids = Vec::new();
    for (place, code) in [(&city, "city-dept"), (&grid, "grid-firm"), (&tree[3], "other-branch"), (&district, "no-hook")] {
        let fields = OrganizationFields {
            kind: "department".into(),
            sector: None,
            code: code.into(),
            name_zh: code.into(),
            name_en: None,
            jurisdiction_id: place.id,
            parent_id: None,
            contact_phone: None,
            contact_email: None,
            address: None,
        };
        let path = place.path.clone();
        org_ids.push(t.store.write(move |c| Box::pin(async move { insert_organization(c, &fields, &path, 1).await })).await.unwrap().id);
    }
    for id in &org_ids[..3] {
        let id = *id;
        t.store
            .write(move |c| Box::pin(async move { set_organization_webhook(c, id, Some("http://127.0.0.1:9/hook"), Some("s3cret")).await }))
            .await
            .unwrap();
    }
    let path = tree[2].path.clone();
    let added = t.store.write(move |c| Box::pin(async move { enqueue_organizations(c, wid, &path, 2_000).await })).await.unwrap();
    assert_eq!(added, 2, "the city department and the grid enterprise");
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(organization_webhook_secret(&mut r.conn(), org_ids[0]).await.unwrap().as_deref(), Some("s3cret"));
    assert_eq!(organization_webhook_secret(&mut r.conn(), org_ids[3]).await.unwrap(), None);
    drop(r);
    let claimed = claim_as(t, "w", 3_000, 100).await;
    let by_household: Vec<(i64, String, String)> = {
        let mut v: Vec<_> = claimed
            .iter()
            .filter(|d| d.recipient_kind == "household")
            .map(|d| (d.recipient_id, d.channel.clone(), d.language.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        by_household,
        vec![(ids[0], "email".into(), "en".into()), (ids[0], "sms".into(), "en".into()), (ids[1], "sms".into(), "zh-CN".into())]
    );
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(unacknowledged_vulnerable(&mut r.conn(), wid).await.unwrap(), vec![(ids[1], Some(grid.id))]);
    drop(r);
    // Everything delivered is copied to a follow-up message (an update or a cancellation).
    let delivered: Vec<(i64, Attempt)> = claimed.iter().map(|d| (d.id, Attempt::Delivered(3_500))).collect();
    let total = delivered.len() as u64;
    t.store.write(move |c| Box::pin(async move { record(c, "w", &delivered).await })).await.unwrap();
    let follow_up = insert_w(t, warning("bulk-cancel", Some(2)), district.path.clone()).await.unwrap();
    let to = follow_up.id;
    let copied = t.store.write(move |c| Box::pin(async move { enqueue_copies(c, wid, to, 4_000).await })).await.unwrap();
    assert_eq!(copied, total);
}
