//! `gridline demo`: built from the Porto extract in the binary, reused on the next start, rebuilt with --reset,
//! the same for the same seed, and never built over data that is not a demo.

use std::path::Path;

use crate::{fixture_path, run};

/// What a demo holds, as text: every member, household, vulnerable resident and map feature, in id order.
fn digest(dir: &Path) -> String {
    let database = dir.join("gridline.db");
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display())).await.unwrap();
        let mut out = String::new();
        for query in [
            "SELECT group_concat(code || ':' || level || ':' || name_en, '|') FROM (SELECT * FROM jurisdictions ORDER BY id)",
            "SELECT group_concat(name || ':' || phone || ':' || roles || ':' || skills || ':' || home_lon || ',' || home_lat, '|') FROM (SELECT * FROM members ORDER BY id)",
            "SELECT group_concat(code || ':' || lon || ',' || lat || ':' || residents || ':' || language || ':' || phone, '|') FROM (SELECT * FROM households ORDER BY id)",
            "SELECT group_concat(household_id || ':' || needs, '|') FROM (SELECT * FROM vulnerable_residents ORDER BY id)",
            "SELECT group_concat(external_id || ':' || geometry, '|') FROM (SELECT * FROM features ORDER BY id)",
        ] {
            let text: Option<String> = sqlx::query_scalar(query).fetch_one(&mut conn).await.unwrap();
            out.push_str(&text.unwrap_or_default());
            out.push('\n');
        }
        out
    })
}

fn count(stdout: &str, what: &str) -> u64 {
    let stdout = stdout.lines().find(|line| line.starts_with("Demo built in")).unwrap_or_else(|| panic!("no summary in {stdout}"));
    let at = stdout.find(what).unwrap_or_else(|| panic!("no {what:?} in {stdout}"));
    stdout[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no count before {what:?} in {stdout}"))
}

#[test]
fn the_porto_demo_is_built_once_reused_and_rebuilt_on_reset() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("demo");
    let (code, stdout, stderr) = run(&dir, &["demo", "--build-only"], None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Demo built in"), "{stdout}");
    assert!(count(&stdout, "jurisdictions,") > 50, "{stdout}");
    assert!(count(&stdout, "households") > 10_000, "{stdout}");
    assert!(count(&stdout, "plans.") >= 6, "{stdout}");
    // About 3% of households are on the register.
    let (households, vulnerable) = (count(&stdout, "households"), count(&stdout, "vulnerable,"));
    assert!((0.02..0.04).contains(&(vulnerable as f64 / households as f64)), "{vulnerable} of {households}");
    for role in [
        "Duty officer: officer / ",
        "Community cadre: cadre / ",
        "Grid member: grid / ",
        "Department liaison (water affairs): liaison / ",
        "Volunteer: volunteer / ",
        "Enterprise: enterprise / ",
        "Public (resident): resident / ",
    ] {
        assert!(stdout.contains(role), "no {role:?} in {stdout}");
    }
    assert!(dir.join("GRIDLINE-DEMO").exists() && dir.join("gridline.db").exists());
    assert!(!dir.join("gridline.db.building").exists(), "the staging database was moved into place");
    let built = digest(&dir);
    assert!(built.contains("Sé") && built.contains("Vitória"), "the parishes of the extract are sub-districts");

    // The next start reuses it.
    let (code, stdout, _) = run(&dir, &["demo", "--build-only"], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("Using the demo") && !stdout.contains("Demo built"), "{stdout}");
    assert!(stdout.contains("Duty officer: officer / "), "the accounts are printed on every start: {stdout}");

    // --reset builds it again, the same.
    let (code, stdout, _) = run(&dir, &["demo", "--build-only", "--reset"], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("Demo built in"), "{stdout}");
    assert_eq!(digest(&dir), built, "the same seed gives the same demo");
}

#[test]
fn another_extract_and_seed_give_another_demo_and_the_same_seed_the_same() {
    let temp = tempfile::tempdir().unwrap();
    let monaco = fixture_path("spatial", "monaco.osm.gz");
    let monaco = monaco.to_str().unwrap();
    let build = |name: &str, seed: &str| {
        let dir = temp.path().join(name);
        let (code, stdout, stderr) = run(&dir, &["demo", "--build-only", "--osm", monaco, "--seed", seed], None);
        assert_eq!(code, 0, "{stdout}{stderr}");
        digest(&dir)
    };
    let first = build("a", "7");
    assert!(first.contains("Monaco"), "the city is named from the extract");
    assert_eq!(build("b", "7"), first, "the same extract and seed give the same demo");
    assert_ne!(build("c", "8"), first, "another seed gives other synthetic people");
}

#[test]
fn a_directory_that_is_not_a_demo_is_left_alone() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("gridline.db"), b"somebody's real data").unwrap();
    for args in [&["demo", "--build-only"][..], &["demo", "--build-only", "--reset"][..]] {
        let (code, stdout, stderr) = run(&dir, args, None);
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(stderr.contains("not a Gridline demo"), "{stderr}");
        assert_eq!(std::fs::read(dir.join("gridline.db")).unwrap(), b"somebody's real data");
    }
}
