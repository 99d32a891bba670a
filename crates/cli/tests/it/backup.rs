//! `gridline backup` under a stream of writes, `gridline restore` into a fresh data directory (or an empty
//! PostgreSQL database): every write acknowledged before the backup began is there, and the audit chain and its
//! signed anchors verify.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Server, admin_token, data_dir, gridline, http};

/// Writes members through the API until told to stop; each acknowledged write is kept with when it was answered.
fn stream_of_writes(
    address: String,
    token: String,
    community: i64,
    stop: Arc<AtomicBool>,
) -> (std::thread::JoinHandle<()>, Arc<Mutex<Vec<(String, Instant)>>>) {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let list = acknowledged.clone();
    let handle = std::thread::spawn(move || {
        let mut index = 0;
        while !stop.load(Ordering::Relaxed) {
            let name = format!("写入{index}");
            let body = format!(r#"{{"jurisdiction_id":{community},"name":"{name}","roles":["volunteer"]}}"#);
            if let Ok(response) = http::request(&address, "POST", "/api/v1/members", Some(&token), Some(&body))
                && response.status == 201
            {
                list.lock().unwrap().push((name, Instant::now()));
            }
            index += 1;
        }
    });
    (handle, acknowledged)
}

fn gridline_in(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let output = gridline().arg("--data-dir").arg(dir).args(args).envs(env.iter().copied()).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The whole round trip on one backend: `env` for the original, `restored_env` for the restore.
fn round_trip(env: &[(&str, &str)], restored_env: &[(&str, &str)], names_in_restored: impl Fn(&Path) -> Vec<String>) {
    let (guard, dir) = data_dir();
    let config = guard.path().join("gridline.toml");
    // Anchors every second, so that the backup holds signed anchors to verify.
    std::fs::write(&config, "[audit]\nanchor_interval_seconds = 1\n").unwrap();
    let config = config.to_string_lossy().into_owned();
    let mut env: Vec<(&str, &str)> = env.to_vec();
    env.push(("GRIDLINE_CONFIG", config.as_str()));
    let token = admin_token(&dir, &env);
    let server = Server::start(&dir, &env);
    let community = http::request(
        &server.address,
        "POST",
        "/api/v1/jurisdictions",
        Some(&token),
        Some(r#"{"level":"community","code":"C1","name_zh":"社区"}"#),
    )
    .unwrap();
    let community: serde_json::Value = serde_json::from_str(&community.body).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (writer, acknowledged) = stream_of_writes(server.address.clone(), token.clone(), community["id"].as_i64().unwrap(), stop.clone());
    std::thread::sleep(Duration::from_millis(2500));

    // The backup, while the writes go on.
    let backup = guard.path().join("gridline.backup");
    let began = Instant::now();
    let (code, stdout, stderr) = gridline_in(&dir, &env, &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    let before: Vec<&String> = acknowledged.iter().filter(|(_, at)| *at < began).map(|(name, _)| name).collect();
    let after = acknowledged.len() - before.len();
    assert!(before.len() > 10 && after > 0, "writes before ({}) and during or after ({after}) the backup", before.len());
    // A backup never overwrites a file.
    let (code, _, stderr) = gridline_in(&dir, &env, &["backup", backup.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("exists already"), "{stderr}");
    drop(server);

    // Restore into a fresh data directory, with the original's public keys to verify the anchors against.
    let (_fresh_guard, fresh) = data_dir();
    std::fs::create_dir_all(fresh.join("audit")).unwrap();
    std::fs::copy(dir.join("audit").join("trusted.keys"), fresh.join("audit").join("trusted.keys")).unwrap();
    let (code, stdout, stderr) = gridline_in(&fresh, restored_env, &["restore", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Restored"), "{stdout}");
    let names = names_in_restored(&fresh);
    let missing: Vec<&&String> = before.iter().filter(|name| !names.contains(name)).collect();
    assert!(missing.is_empty(), "writes acknowledged before the backup began are missing: {missing:?}");
    let (code, stdout, _) = gridline_in(&fresh, restored_env, &["audit", "verify"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("Audit chain intact") && stdout.contains("signed anchors checked"), "{stdout}");
    // A second restore onto what is now there is refused, and changes nothing.
    let (code, _, stderr) = gridline_in(&fresh, restored_env, &["restore", backup.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("restore into") || stderr.contains("not empty"), "{stderr}");
    eprintln!("{} writes before the backup began, {after} during or after it; all of the first are in the restore", before.len());
}

#[test]
fn backup_under_writes_and_restore_keep_every_acknowledged_write_sqlite() {
    round_trip(&[], &[], |dir| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.join("gridline.db").display())).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT name FROM members").fetch_all(&mut conn).await.unwrap();
            rows.into_iter().map(|row| row.0).collect()
        })
    });
}

#[test]
fn backup_under_writes_and_restore_keep_every_acknowledged_write_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let original = runtime.block_on(store::testing::TestDatabase::postgres());
    let restored = runtime.block_on(store::testing::TestDatabase::postgres());
    let (store::Location::Postgres(original_url), store::Location::Postgres(restored_url)) =
        (original.location.clone(), restored.location.clone())
    else {
        unreachable!()
    };
    let url = restored_url.clone();
    round_trip(&[("GRIDLINE_DATABASE_URL", original_url.as_str())], &[("GRIDLINE_DATABASE_URL", restored_url.as_str())], move |_| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT name FROM members").fetch_all(&mut conn).await.unwrap();
            rows.into_iter().map(|row| row.0).collect()
        })
    });
}
