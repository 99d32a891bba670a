//! `gridline audit verify` passes on a clean database and names the first tampered record.

use crate::{admin_token, data_dir, run};

#[test]
fn audit_verify_detects_an_edited_record() {
    let (_guard, dir) = data_dir();
    admin_token(&dir, &[]);
    let (code, stdout, stderr) =
        run(&dir, &["import", "boundaries", crate::fixture("shanghai_districts.geojson").to_str().unwrap(), "--level", "district"], None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("Audit chain intact: 18 records verified"), "{stdout}");

    // Someone with access to the database file edits record 7, bypassing the append-only trigger.
    let database = dir.join("gridline.db");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display())).await.unwrap();
        sqlx::raw_sql("DROP TRIGGER audit_log_append_only_update; UPDATE audit_log SET actor_label = 'nobody' WHERE seq = 7;")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let (code, stdout, _) = run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("Audit chain broken at record 7: this record was edited after it was written"), "{stdout}");
    let (_, chinese, _) = {
        let mut command = crate::gridline();
        let output = command.env("GRIDLINE_LANG", "zh-CN").arg("--data-dir").arg(&dir).args(["audit", "verify"]).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), ())
    };
    assert!(chinese.contains("审计链在第 7 条记录处断裂"), "{chinese}");
}

/// Opens the data directory's SQLite file directly, as someone with the database (and not the key) would.
fn with_database<T>(dir: &std::path::Path, work: impl AsyncFnOnce(&mut sqlx::SqliteConnection) -> T) -> T {
    let database = dir.join("gridline.db");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display())).await.unwrap();
        let result = work(&mut conn).await;
        conn.close().await.unwrap();
        result
    })
}

/// Edits record `seq` and re-hashes the whole chain from there on, moving the head along: the forgery an unkeyed
/// chain cannot detect.
async fn edit_and_rehash(conn: &mut sqlx::SqliteConnection, seq: i64) {
    use sqlx::Row;
    sqlx::raw_sql("DROP TRIGGER IF EXISTS audit_log_append_only_update").execute(&mut *conn).await.unwrap();
    sqlx::query("UPDATE audit_log SET actor_label = 'nobody' WHERE seq = ?").bind(seq).execute(&mut *conn).await.unwrap();
    let rows = sqlx::query("SELECT seq, at, actor_account_id, actor_label, action, object_type, object_id, decision, reason, purpose, details, prev_hash FROM audit_log WHERE seq >= ? ORDER BY seq")
        .bind(seq)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let mut prev: String = rows[0].get("prev_hash");
    for row in &rows {
        let (actor_label, action, object_type): (String, String, String) =
            (row.get("actor_label"), row.get("action"), row.get("object_type"));
        let (object_id, decision, reason): (Option<String>, String, String) =
            (row.get("object_id"), row.get("decision"), row.get("reason"));
        let (purpose, details): (String, String) = (row.get("purpose"), row.get("details"));
        let fields = domain::audit::AuditFields {
            seq: row.get("seq"),
            at_ms: row.get("at"),
            actor_account: row.get("actor_account_id"),
            actor_label: &actor_label,
            action: &action,
            object_type: &object_type,
            object_id: object_id.as_deref(),
            decision: &decision,
            reason: &reason,
            purpose: &purpose,
            details: &details,
        };
        let hash = domain::audit::chain_hash(&prev, &fields);
        sqlx::query("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?")
            .bind(&prev)
            .bind(&hash)
            .bind(fields.seq)
            .execute(&mut *conn)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE chain_heads SET audit_hash = ? WHERE id = 1").bind(&prev).execute(&mut *conn).await.unwrap();
}

#[test]
fn a_rehashed_chain_fails_verify_naming_the_forged_record() {
    let (_guard, dir) = data_dir();
    admin_token(&dir, &[]);
    let (code, stdout, stderr) =
        run(&dir, &["import", "boundaries", crate::fixture("shanghai_districts.geojson").to_str().unwrap(), "--level", "district"], None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = run(&dir, &["audit", "anchor"], None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Anchored records 1 to 18"), "{stdout}");
    let keys = dir.join("audit");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(keys.join("signing.key")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o700);
    }
    let (code, stdout, _) = run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("1 signed anchors checked: records 1 to 18"), "{stdout}");
    // A copy of the intact database, for the other forgeries below.
    let pristine = dir.join("pristine.db");
    std::fs::copy(dir.join("gridline.db"), &pristine).unwrap();

    // The review's forgery: edit record 7 and recompute every hash after it. The links all hold...
    with_database(&dir, async |conn| edit_and_rehash(conn, 7).await);
    let (code, stdout, _) = run(&dir, &["audit", "verify", "--keys", "/nonexistent"], None);
    assert_eq!(code, 0, "without the keys, a re-hashed chain looks intact: {stdout}");
    // ...but the signed anchor names the record.
    let (code, stdout, _) = run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("Audit chain broken at record 7: this record is not what the anchor signed at"), "{stdout}");

    // Whoever holds the database cannot sign a new anchor for the forged chain: one made with a key of their own
    // is refused.
    std::fs::copy(&pristine, dir.join("gridline.db")).unwrap();
    with_database(&dir, async |conn| {
        edit_and_rehash(conn, 7).await;
        let forger = domain::audit::SigningKey::from_seed([42; 32]);
        let key_id = forger.public_key().key_id();
        let hashes: Vec<u8> = {
            use sqlx::Row;
            let rows = sqlx::query("SELECT hash FROM audit_log ORDER BY seq").fetch_all(&mut *conn).await.unwrap();
            rows.iter().flat_map(|r| domain::audit::from_hex(&r.get::<String, _>("hash")).unwrap()).collect()
        };
        let statement = domain::audit::AnchorStatement { first_seq: 1, last_seq: 18, at_ms: 1, key_id: &key_id, hashes: &hashes };
        let signature = forger.sign(&statement);
        sqlx::raw_sql("DROP TRIGGER audit_anchors_append_only_delete; DELETE FROM audit_anchors;").execute(&mut *conn).await.unwrap();
        sqlx::query("INSERT INTO audit_anchors (first_seq, last_seq, at, key_id, hashes, signature) VALUES (1, 18, 1, ?, ?, ?)")
            .bind(&key_id)
            .bind(&hashes)
            .bind(&signature)
            .execute(&mut *conn)
            .await
            .unwrap();
    });
    let (code, stdout, _) = run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("record 1: the anchor starting at this record does not verify under a trusted key"), "{stdout}");
    assert!(stdout.contains("The anchor from record 1 in this node's journal is missing from the database or differs"), "{stdout}");

    // Removing the anchors altogether leaves the chain unanchored in the database, but this node's journal
    // remembers them.
    std::fs::copy(&pristine, dir.join("gridline.db")).unwrap();
    with_database(&dir, async |conn| {
        edit_and_rehash(conn, 7).await;
        sqlx::raw_sql("DROP TRIGGER audit_anchors_append_only_delete; DELETE FROM audit_anchors;").execute(&mut *conn).await.unwrap();
    });
    let (code, stdout, _) = run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("The anchor from record 1 in this node's journal is missing"), "{stdout}");
    // Nor will this node sign the forged records now: it knows it had signed further than the database says.
    let (code, _, stderr) = run(&dir, &["audit", "anchor"], None);
    assert_ne!(code, 0);
    assert!(stderr.contains("anchors were removed"), "{stderr}");

    // Rotating the key keeps the old anchors verifiable, and new records are signed with the new key.
    std::fs::copy(&pristine, dir.join("gridline.db")).unwrap();
    let (code, stdout, _) = run(&dir, &["audit", "rotate-key"], None);
    assert_eq!(code, 0, "{stdout}");
    run(&dir, &["user", "add", "second", "--role", "admin"], None);
    let (_, stdout, _) = run(&dir, &["audit", "anchor"], None);
    assert!(stdout.contains("Anchored records 19 to"), "{stdout}");
    let (code, stdout, _) = run(&dir, &["audit", "verify"], None);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("2 signed anchors checked"), "{stdout}");

    // A signing key others can read is refused, not used.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(keys.join("signing.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let (code, _, stderr) = run(&dir, &["audit", "anchor"], None);
        assert_ne!(code, 0);
        assert!(stderr.contains("readable by others"), "{stderr}");
    }
}
