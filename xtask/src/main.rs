//! `cargo xtask`: the project's automation, in Rust with no dependencies.
//!
//! - `cargo xtask test` — the whole test suite, as CI runs it: starts the services the tests need (a throwaway
//!   PostgreSQL cluster), runs every test of the workspace with cargo-nextest, runs the server's tests a second
//!   time on PostgreSQL (`GRIDLINE_TEST_BACKEND=postgres`), stops the services again, and runs the browser tests
//!   (`web/e2e/console.mjs`, headless Debian Chromium). Extra arguments go to nextest
//!   (`cargo xtask test -E 'test(/postgres/)'`) and skip the second pass and the browser tests; set
//!   `GRIDLINE_TEST_BACKEND=postgres` yourself to run a filtered selection on PostgreSQL.
//! - `cargo xtask services` — starts the test services, prints the environment to use them, and waits for Ctrl-C.
//!
//! A service that cannot be started is named, with the tests it leaves out; under CI (`GRIDLINE_CI=1`) that is
//! an error instead, so CI never passes without running every test.

#![allow(clippy::print_stdout)]

mod services;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("services") => services_only(),
        _ => {
            eprintln!("usage: cargo xtask test [NEXTEST ARGS…] | cargo xtask services");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn in_ci() -> bool {
    std::env::var("GRIDLINE_CI").is_ok_and(|value| value == "1")
}

fn test(extra: &[String]) -> Result<ExitCode, String> {
    let root = workspace_root();
    let mut services = services::Services::start(&root)?;
    let mut excluded: Vec<&str> = Vec::new();
    if services.postgres_url().is_none() {
        excluded.push("test(/postgres/)");
    }
    if services.mqtt_url().is_none() {
        excluded.push("test(/mqtt/)");
    }
    if !excluded.is_empty() {
        let message =
            format!("these tests cannot run because their service did not start: {}; see the messages above", excluded.join(", "));
        if in_ci() {
            return Err(message);
        }
        eprintln!("\n*** {message} ***\n");
    }

    // The Open311 test drives Gridline with a real client from PyPI (georeport), and the OpenAPI conformance test
    // with schemathesis, both installed here next to the build.
    let python = python_clients(&root);
    if let Err(message) = &python {
        excluded.push("test(/open311/)");
        excluded.push("test(/schemathesis/)");
        let message = format!("the Python test clients (georeport, schemathesis) cannot be installed: {message}");
        if in_ci() {
            return Err(message);
        }
        eprintln!("\n*** {message} ***\n");
    }
    let nextest = Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|output| output.status.success());
    let mut command = Command::new("cargo");
    command.current_dir(&root);
    if nextest {
        command.args(["nextest", "run", "--workspace", "--locked", "--no-fail-fast"]);
        if !excluded.is_empty() {
            command.args(["-E", &format!("not ({})", excluded.join(" or "))]);
        }
    } else {
        eprintln!("cargo-nextest is not installed; running `cargo test` instead");
        command.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    }
    command.args(extra);
    services.export(&mut command);
    if let Ok(path) = &python {
        command.env("GRIDLINE_PYTHONPATH", path);
    }
    let mut status = command.status().map_err(|error| format!("cannot run cargo: {error}"))?;
    // Every server test again, on PostgreSQL: the whole binary with `GRIDLINE_TEST_BACKEND=postgres` (its own
    // `postgres` module already ran on PostgreSQL above).
    if nextest && extra.is_empty() && services.postgres_url().is_some() {
        eprintln!("\nthe server's tests again, on PostgreSQL (GRIDLINE_TEST_BACKEND=postgres):");
        let mut again = Command::new("cargo");
        again.current_dir(&root).args(["nextest", "run", "--locked", "--no-fail-fast", "-p", "server", "--test", "it"]);
        again.args(["-E", "not test(/postgres/)"]).env("GRIDLINE_TEST_BACKEND", "postgres");
        services.export(&mut again);
        let on_postgres = again.status().map_err(|error| format!("cannot run cargo: {error}"))?;
        if status.success() {
            status = on_postgres;
        }
    }
    services.stop();
    // The browser tests use the binary the Rust tests just built; they run unless nextest was given a filter.
    let browser = if extra.is_empty() { browser_tests(&root)? } else { BrowserTests::NotAsked };
    if let BrowserTests::Missing(what) = &browser {
        excluded.push("the browser tests");
        let message = format!("the browser tests cannot run: {what}");
        if in_ci() {
            return Err(message);
        }
        eprintln!("\n*** {message} ***\n");
    }
    if !excluded.is_empty() && status.success() {
        eprintln!("\n*** passed, but without: {} ***", excluded.join(", "));
    }
    let browser_ok = !matches!(browser, BrowserTests::Failed);
    Ok(if status.success() && browser_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// PyPI packages the tests use, pinned.
const PYTHON_PACKAGES: &[&str] = &["georeport==0.3.1", "requests==2.32.5", "xmltodict==0.14.2", "schemathesis==4.32.5"];

/// Installs the Python clients the tests drive Gridline with into `target/python` (once); returns that folder.
fn python_clients(root: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let folder = root.join("target").join("python");
    let stamp = folder.join(".installed");
    let wanted = PYTHON_PACKAGES.join(" ");
    if std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == wanted) {
        return Ok(folder);
    }
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--root-user-action=ignore", "--upgrade", "--target"])
        .arg(&folder)
        .args(PYTHON_PACKAGES)
        .status()
        .map_err(|error| format!("cannot run python3 -m pip: {error}"))?;
    if !status.success() {
        return Err(format!("`python3 -m pip install {wanted}` failed"));
    }
    std::fs::write(&stamp, wanted).map_err(|error| error.to_string())?;
    Ok(folder)
}

enum BrowserTests {
    Passed,
    Failed,
    NotAsked,
    Missing(String),
}

/// Runs `web/e2e/console.mjs` and `web/e2e/demo.mjs` with Node.js and Debian's Chromium.
fn browser_tests(root: &std::path::Path) -> Result<BrowserTests, String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Ok(BrowserTests::Missing(format!("no Chromium at {chromium} (apt-get install chromium fonts-wqy-microhei)")));
    }
    let web = root.join("web");
    if !web.join("node_modules").join("playwright-core").exists() {
        let installed = Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&web).status();
        if !installed.is_ok_and(|s| s.success()) {
            return Ok(BrowserTests::Missing("`npm ci` in web/ failed (is Node.js installed?)".into()));
        }
    }
    let binary = root.join("target").join("debug").join("gridline");
    if !binary.exists() {
        return Ok(BrowserTests::Missing(format!("{} was not built", binary.display())));
    }
    let mut passed = true;
    for script in ["console.mjs", "demo.mjs"] {
        eprintln!("\nbrowser tests (web/e2e/{script}):");
        let status = Command::new("node")
            .arg(web.join("e2e").join(script))
            .env("GRIDLINE_BIN", &binary)
            .env("CHROMIUM", &chromium)
            .current_dir(root)
            .status()
            .map_err(|error| format!("cannot run node: {error}"))?;
        passed &= status.success();
    }
    Ok(if passed { BrowserTests::Passed } else { BrowserTests::Failed })
}

fn services_only() -> Result<ExitCode, String> {
    let root = workspace_root();
    let services = services::Services::start(&root)?;
    let mut command = Command::new("env");
    services.export(&mut command);
    for (key, value) in command.get_envs() {
        println!("export {}={}", key.to_string_lossy(), value.map(|v| v.to_string_lossy().into_owned()).unwrap_or_default());
    }
    println!("# services are running; press Ctrl-C to stop them");
    loop {
        std::thread::park();
    }
}
