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
