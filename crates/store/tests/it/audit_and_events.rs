//! The audit chain and the event stream.

use domain::Classification;
use domain::audit::ChainBreak;
use domain::registry::JurisdictionPath;
use store::Backend;
use store::audit::{AnchorRow, AuditQuery, NewAudit, Verification, append, list, verify};
use store::events::{EventFilter, NewEvent, list_after};

use crate::{TestStore, conformance};

conformance!(
    audit_chain_verifies_and_detects_tampering,
    anchors_continue_each_other_and_pin_every_record,
    audit_and_events_are_append_only,
    events_are_filtered_by_place_owner_and_classification
);

fn intact(records: i64) -> Verification {
    Verification::Intact { records, anchors: 0, anchored_through: 0, oldest_unanchored_ms: None }
}

fn record(action: &str, allowed: bool) -> NewAudit {
    NewAudit {
        at_ms: 10,
        actor_account: Some(1),
        actor_label: "admin".into(),
        action: action.into(),
        object_type: "member".into(),
        object_id: Some("7".into()),
        allowed,
        reason: if allowed { String::new() } else { "out_of_scope".into() },
        purpose: "welfare check".into(),
        details: serde_json::json!({"fields": ["phone"]}),
    }
}

async fn audit_chain_verifies_and_detects_tampering(t: &TestStore) {
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(verify(&mut r.conn(), None).await.unwrap(), intact(0));
    drop(r);
    for index in 0..30 {
        let entry = record(if index % 2 == 0 { "member.read" } else { "member.reveal" }, index % 5 != 0);
        t.store.write(move |c| Box::pin(async move { append(c, &entry).await })).await.unwrap();
    }
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(verify(&mut r.conn(), None).await.unwrap(), intact(30));
    let denied = list(&mut r.conn(), &AuditQuery { decision: Some("deny".into()), limit: 100, ..AuditQuery::default() }).await.unwrap();
    assert_eq!(denied.len(), 6);
    assert!(denied.windows(2).all(|pair| pair[0].seq > pair[1].seq), "newest first");
    drop(r);

    // An insider with database access disables the protection and edits record 17.
    let backend = t.store.backend();
    t.store
        .write(move |c| {
            Box::pin(async move {
                match backend {
                    Backend::Sqlite => c.execute("DROP TRIGGER audit_log_append_only_update", &[]).await?,
                    Backend::Postgres => c.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only", &[]).await?,
                };
                c.execute("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 17", &[]).await
            })
        })
        .await
        .unwrap();
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(verify(&mut r.conn(), None).await.unwrap(), Verification::Broken { seq: 17, problem: ChainBreak::HashMismatch });
}

/// Signs the records after the last anchor, as the application's anchoring does.
async fn anchor(t: &TestStore, key: &domain::audit::SigningKey, at_ms: i64) -> (AnchorRow, bool) {
    let mut r = t.store.reader().await.unwrap();
    let first = store::audit::anchored_through(&mut r.conn()).await.unwrap() + 1;
    let records = store::audit::hashes_after(&mut r.conn(), first - 1, 1000).await.unwrap();
    drop(r);
    let hashes: Vec<u8> = records.iter().flat_map(|(_, hash)| domain::audit::from_hex(hash).unwrap()).collect();
    let key_id = key.public_key().key_id();
    let last = records.last().unwrap().0;
    let statement = domain::audit::AnchorStatement { first_seq: first, last_seq: last, at_ms, key_id: &key_id, hashes: &hashes };
    let row = AnchorRow {
        first_seq: first,
        last_seq: last,
        at_ms,
        key_id: key_id.clone(),
        hashes: hashes.clone(),
        signature: key.sign(&statement),
    };
    let stored = {
        let row = row.clone();
        t.store.write(move |c| Box::pin(async move { store::audit::insert_anchor(c, &row).await })).await.unwrap()
    };
    (row, stored)
}

async fn anchors_continue_each_other_and_pin_every_record(t: &TestStore) {
    let key = domain::audit::SigningKey::from_seed([3; 32]);
    let trusted = [key.public_key()];
    for _ in 0..10 {
        t.store.write(|c| Box::pin(async move { append(c, &record("member.read", true)).await })).await.unwrap();
    }
    let (first, stored) = anchor(t, &key, 100).await;
    assert!(stored);
    assert_eq!((first.first_seq, first.last_seq), (1, 10));
    // Another node that signed the same records a moment later does not store a second, overlapping anchor.
    let late = AnchorRow { at_ms: 101, ..first.clone() };
    let overlapping = t.store.write(move |c| Box::pin(async move { store::audit::insert_anchor(c, &late).await })).await.unwrap();
    assert!(!overlapping);
    for _ in 0..5 {
        t.store.write(|c| Box::pin(async move { append(c, &record("member.update", true)).await })).await.unwrap();
    }
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(
        verify(&mut r.conn(), Some(&trusted)).await.unwrap(),
        Verification::Intact { records: 15, anchors: 1, anchored_through: 10, oldest_unanchored_ms: Some(10) }
    );
    drop(r);
    let (second, stored) = anchor(t, &key, 200).await;
    assert!(stored && second.first_seq == 11 && second.last_seq == 15);
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(
        verify(&mut r.conn(), Some(&trusted)).await.unwrap(),
        Verification::Intact { records: 15, anchors: 2, anchored_through: 15, oldest_unanchored_ms: None }
    );
    // Under another key nobody trusts, the first anchor does not verify.
    let stranger = [domain::audit::SigningKey::from_seed([4; 32]).public_key()];
    assert_eq!(
        verify(&mut r.conn(), Some(&stranger)).await.unwrap(),
        Verification::Broken { seq: 1, problem: ChainBreak::BadAnchorSignature }
    );
    drop(r);
    // Anchors are append-only, like the records they pin.
    for statement in ["UPDATE audit_anchors SET signature = 'x'", "DELETE FROM audit_anchors"] {
        let outcome = t.store.write(move |c| Box::pin(async move { c.execute(statement, &[]).await })).await;
        assert!(outcome.expect_err(statement).to_string().contains("append-only"), "{statement}");
    }
}

async fn audit_and_events_are_append_only(t: &TestStore) {
    t.store.write(|c| Box::pin(async move { append(c, &record("member.read", true)).await })).await.unwrap();
    let event = NewEvent {
        at_ms: 1,
        kind: "member.created".into(),
        subject_type: "member".into(),
        subject_id: None,
        actor_account: None,
        path: None,
        organization: None,
        classification: Classification::Internal,
        payload: serde_json::json!({}),
    };
    t.store.write(move |c| Box::pin(async move { store::events::append(c, &event).await })).await.unwrap();
    for statement in ["UPDATE audit_log SET purpose = 'x'", "DELETE FROM audit_log", "UPDATE events SET kind = 'x'", "DELETE FROM events"] {
        let outcome = t.store.write(move |c| Box::pin(async move { c.execute(statement, &[]).await })).await;
        let error = outcome.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    let mut r = t.store.reader().await.unwrap();
    assert_eq!(verify(&mut r.conn(), None).await.unwrap(), intact(1));
}

async fn events_are_filtered_by_place_owner_and_classification(t: &TestStore) {
    let a = JurisdictionPath::parse("/1/4/").unwrap();
    let a_grid = JurisdictionPath::parse("/1/4/9/").unwrap();
    let b = JurisdictionPath::parse("/1/40/").unwrap();
    let cases = [
        (Some(a.clone()), None, Classification::Internal),
        (Some(a_grid.clone()), None, Classification::Confidential),
        (Some(b.clone()), None, Classification::Internal),
        (None, Some(77), Classification::Restricted),
        (None, None, Classification::Public),
    ];
    for (path, organization, classification) in cases {
        let event = NewEvent {
            at_ms: 1,
            kind: "member.updated".into(),
            subject_type: "member".into(),
            subject_id: Some("1".into()),
            actor_account: None,
            path,
            organization,
            classification,
            payload: serde_json::json!({"version": 2}),
        };
        t.store.write(move |c| Box::pin(async move { store::events::append(c, &event).await })).await.unwrap();
    }
    let mut r = t.store.reader().await.unwrap();
    let seqs = |events: Vec<store::events::Event>| events.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    let cadre_a = EventFilter {
        public_classifications: vec![Classification::Public],
        subtrees: vec![(a.clone(), Classification::Confidential)],
        ..EventFilter::default()
    };
    assert_eq!(seqs(list_after(&mut r.conn(), 0, &cadre_a, 100).await.unwrap()), vec![1, 2, 5]);
    let internal_only = EventFilter { subtrees: vec![(a.clone(), Classification::Internal)], ..EventFilter::default() };
    assert_eq!(seqs(list_after(&mut r.conn(), 0, &internal_only, 100).await.unwrap()), vec![1]);
    let liaison = EventFilter { organizations: vec![(77, Classification::Restricted)], ..EventFilter::default() };
    assert_eq!(seqs(list_after(&mut r.conn(), 0, &liaison, 100).await.unwrap()), vec![4]);
    let nobody = EventFilter::default();
    assert!(list_after(&mut r.conn(), 0, &nobody, 100).await.unwrap().is_empty());
    let one = list_after(&mut r.conn(), 3, &EventFilter { everything: true, ..EventFilter::default() }, 1).await.unwrap();
    assert_eq!(seqs(one.clone()), vec![4]);
    assert_eq!(one[0].payload["version"], 2);
}
