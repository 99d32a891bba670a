//! The group-committing writer: concurrency, isolation of failing writes, durability of acknowledged ones.

use domain::Classification;
use store::StoreError;
use store::events::{EventFilter, NewEvent, append, list_after};

use crate::{TestStore, conformance};

conformance!(
    concurrent_writes_all_commit_with_gap_free_events,
    a_failing_write_leaves_its_batch_intact,
    reopening_keeps_everything,
    migrations_are_recorded_once
);

fn event(kind: &str) -> NewEvent {
    NewEvent {
        at_ms: 1,
        kind: kind.into(),
        subject_type: "test".into(),
        subject_id: None,
        actor_account: None,
        path: None,
        organization: None,
        classification: Classification::Public,
        payload: serde_json::json!({}),
    }
}

async fn concurrent_writes_all_commit_with_gap_free_events(t: &TestStore) {
    let mut notifications = t.store.event_notifications();
    let mut handles = Vec::new();
    for index in 0..200 {
        let store = t.store.clone();
        handles.push(tokio::spawn(async move {
            store.write(move |c| Box::pin(async move { append(c, &event(&format!("e{index}"))).await })).await.unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for handle in handles {
        seqs.push(handle.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=200).collect::<Vec<i64>>());
    notifications.wait_for(|latest| *latest == 200).await.unwrap();
    let mut r = t.store.reader().await.unwrap();
    let everything = EventFilter { everything: true, ..EventFilter::default() };
    let listed = list_after(&mut r.conn(), 150, &everything, 1000).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), (151..=200).collect::<Vec<i64>>());
}

#[derive(Debug)]
enum TestError {
    Refused,
    Store(StoreError),
}

impl From<StoreError> for TestError {
    fn from(error: StoreError) -> Self {
        TestError::Store(error)
    }
}

async fn a_failing_write_leaves_its_batch_intact(t: &TestStore) {
    let mut handles = Vec::new();
    for index in 0..60 {
        let store = t.store.clone();
        handles.push(tokio::spawn(async move {
            store
                .write(move |c| {
                    Box::pin(async move {
                        let seq = append(c, &event("attempt")).await?;
                        if index % 3 == 0 {
                            // Wrote an event, then refused: the event must vanish with it.
                            return Err(TestError::Refused);
                        }
                        if index % 3 == 1 {
                            // A database error inside the write: also rolled back alone.
                            c.execute("INSERT INTO chain_heads (id, event_seq, audit_seq, audit_hash) VALUES (1, 0, 0, '')", &[]).await?;
                        }
                        Ok(seq)
                    })
                })
                .await
        }));
    }
    let mut committed = 0;
    for (index, handle) in handles.into_iter().enumerate() {
        match (index % 3, handle.await.unwrap()) {
            (0, Err(TestError::Refused)) => {}
            (1, Err(TestError::Store(StoreError::Unique { .. }))) => {}
            (2, Ok(_)) => committed += 1,
            (kind, outcome) => panic!("write {index} (kind {kind}) ended with {outcome:?}"),
        }
    }
    assert_eq!(committed, 20);
    let mut r = t.store.reader().await.unwrap();
    let everything = EventFilter { everything: true, ..EventFilter::default() };
    let listed = list_after(&mut r.conn(), 0, &everything, 1000).await.unwrap();
    assert_eq!(listed.len(), 20, "only the successful writes' events remain");
    assert_eq!(listed.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=20).collect::<Vec<i64>>(), "and their numbers have no gaps");
}

async fn reopening_keeps_everything(t: &TestStore) {
    for _ in 0..5 {
        t.store.write(|c| Box::pin(async move { append(c, &event("kept")).await })).await.unwrap();
    }
    t.store.close().await;
    let reopened = t.database.open().await.unwrap();
    let mut r = reopened.reader().await.unwrap();
    assert_eq!(store::events::latest_seq(&mut r.conn()).await.unwrap(), 5);
    drop(r);
    assert_eq!(*reopened.event_notifications().borrow(), 5);
    // Numbering continues after a restart, and the head always matches the stored events.
    let next = reopened.write(|c| Box::pin(async move { append(c, &event("after")).await })).await.unwrap();
    assert_eq!(next, 6);
    let mut r = reopened.reader().await.unwrap();
    let max: i64 = r.conn().fetch_one("SELECT MAX(seq) AS m FROM events", &[]).await.unwrap().get("m").unwrap();
    assert_eq!((max, store::events::latest_seq(&mut r.conn()).await.unwrap()), (6, 6));
    drop(r);
    assert!(matches!(t.store.write(|c| Box::pin(async move { append(c, &event("late")).await })).await, Err(StoreError::WriterStopped)));
}

async fn migrations_are_recorded_once(t: &TestStore) {
    let again = t.database.open().await.unwrap();
    let mut r = again.reader().await.unwrap();
    let rows = r.conn().fetch_all("SELECT version, name FROM schema_migrations ORDER BY version", &[]).await.unwrap();
    assert_eq!(rows.len(), store::MIGRATIONS.len());
    assert_eq!(rows[0].get::<String>("name").unwrap(), "core");
    again.ping().await.unwrap();
}

#[test]
fn both_backends_have_the_same_migrations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let files = |backend: &str| {
        let mut names: Vec<String> =
            std::fs::read_dir(root.join(backend)).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    let listed: Vec<String> = store::MIGRATIONS.iter().map(|migration| migration.file.to_string()).collect();
    assert_eq!(files("sqlite"), listed, "every SQLite migration file is listed in MIGRATIONS");
    assert_eq!(files("postgres"), listed, "every PostgreSQL migration file is listed in MIGRATIONS");
    assert!(store::MIGRATIONS.windows(2).all(|pair| pair[0].version < pair[1].version));
}
