//! `cargo xtask`: the project's automation, in Rust with no dependencies.
//!
//! - `cargo xtask test` — the whole test suite, as CI runs it: starts the services the tests need (a throwaway
//!   PostgreSQL cluster), runs every test of the workspace with cargo-nextest, and stops the services again.
//!   Extra arguments go to nextest (`cargo xtask test -E 'test(/postgres/)'`).
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
    if !excluded.is_empty() {
        let message =
            format!("these tests cannot run because their service did not start: {}; see the messages above", excluded.join(", "));
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
    let status = command.status().map_err(|error| format!("cannot run cargo: {error}"))?;
    services.stop();
    if !excluded.is_empty() && status.success() {
        eprintln!("\n*** passed, but without: {} ***", excluded.join(", "));
    }
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
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
