//! schemathesis (from PyPI, installed by `cargo xtask test` into `target/python`, whose path comes in
//! `GRIDLINE_PYTHONPATH`) generates requests for every operation of the published OpenAPI document and sends them
//! to a running `gridline serve`, first as the anonymous public, then as an administrator. Bounded (five examples an
//! operation, a fixed seed) so it fits the suite. Every answer must be no server error, and its status, content
//! type, headers and body must be what the document says.

use std::path::Path;

use crate::{Server, admin_token, data_dir, http};

/// The checks that make the document a contract: no 5xx, and nothing the document does not describe.
const CHECKS: &str =
    "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance";

/// Runs schemathesis against `base` with `extra` arguments; returns its JSON report.
fn schemathesis(base: &str, report_dir: &Path, extra: &[&str]) -> serde_json::Value {
    let python_path = std::env::var("GRIDLINE_PYTHONPATH").unwrap_or_default();
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'st'; sys.exit(schemathesis())"])
        .args(["run", &format!("{base}/api/openapi.json"), "--max-examples", "5", "--seed", "2026", "--workers", "2", "--no-color"])
        .args(["--generation-database", "none", "--request-timeout", "20", "--checks", CHECKS])
        // The event stream answers a JSON page to a client that asks for one (a stream never ends by itself).
        .args(["--header", "Accept: application/json"])
        .args(["--report", "json", "--report-dir"])
        .arg(report_dir)
        .args(extra)
        .env("PYTHONPATH", &python_path)
        .env("SCHEMATHESIS_TELEMETRY", "false")
        // schemathesis keeps a cache in its working directory; that belongs with the run, not in the source tree.
        .current_dir(report_dir.parent().unwrap_or(report_dir))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read_dir(report_dir)
        .ok()
        .and_then(|mut entries| {
            entries.find_map(|entry| entry.ok().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")))
        })
        .unwrap_or_else(|| panic!("schemathesis wrote no report (run through `cargo xtask test`, which installs it):\n{stdout}\n{stderr}"));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    assert!(failures.is_empty(), "schemathesis found departures from the document or server errors:\n{stdout}\n{stderr}");
    assert_eq!(
        report["operations"]["tested"], report["operations"]["selected"],
        "every selected operation was tested: {}",
        report["operations"]
    );
    let generated = report["test_cases"]["generated"].as_i64().unwrap_or(0);
    assert!(generated >= 1000, "{generated} test cases generated:\n{stdout}");
    eprintln!(
        "schemathesis {} {}: {generated} test cases over {} operations, no failure{}",
        report["schemathesis_version"],
        extra.first().map(|_| "authenticated").unwrap_or("anonymous"),
        report["operations"]["tested"],
        report["errors"]
            .as_array()
            .filter(|e| !e.is_empty())
            .map(|e| format!(" ({} internal errors of schemathesis: {e:?})", e.len()))
            .unwrap_or_default()
    );
    report
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_the_openapi_document_does_not_describe() {
    let (guard, dir) = data_dir();
    let token = admin_token(&dir, &[]);
    let server = Server::start(&dir, &[]);
    let base = format!("http://{}", server.address);
    // A little data, so that more operations find something.
    let city = http::request(
        &server.address,
        "POST",
        "/api/v1/jurisdictions",
        Some(&token),
        Some(r#"{"level":"city","code":"310000","name_zh":"上海市","boundary":{"type":"MultiPolygon","coordinates":[[[[121.3,31.1],[121.6,31.1],[121.6,31.4],[121.3,31.4],[121.3,31.1]]]]}}"#),
    )
    .unwrap();
    assert_eq!(city.status, 201, "{}", city.body);

    schemathesis(&base, &guard.path().join("anonymous"), &[]);
    // As an administrator. The operations that could take the run's own credential away (revoking its token,
    // changing, disabling or ungranting its account) are left to the anonymous run, or the rest would run signed out.
    let authorization = format!("Authorization: Bearer {token}");
    schemathesis(
        &base,
        &guard.path().join("administrator"),
        &[
            "--header",
            &authorization,
            "--exclude-path-regex",
            r"^/api/v1/(tokens/\{id\}|accounts/\{id\}(/grants/\{grant_id\}|/password)?)$",
        ],
    );
    // The server is still there and still answers its own token.
    assert_eq!(http::request(&server.address, "GET", "/api/v1/me", Some(&token), None).unwrap().status, 200);
}
