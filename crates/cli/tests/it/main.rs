//! Tests of the `gridline` binary itself: started as a real process, killed with SIGKILL, restarted, and driven
//! over real TCP.

mod audit;
mod backup;
mod config;
mod delivery;
mod demo;
mod durability;
mod http;
mod import;
mod links;
mod mqtt;
mod multinode;
mod open311;
mod route;
mod schemathesis;
mod serve;
mod simulate;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn gridline() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gridline"));
    command.env("GRIDLINE_LANG", "en").env_remove("GRIDLINE_DATABASE_URL").env_remove("GRIDLINE_DATA_DIR").env_remove("GRIDLINE_CONFIG");
    command
}

/// Runs `gridline ARGS` in `data_dir` with `stdin`, returning (exit code, stdout, stderr).
pub fn run(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut command = gridline();
    command.arg("--data-dir").arg(data_dir).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("start gridline");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A running `gridline serve`.
#[derive(Debug)]
pub struct Server {
    pub child: Child,
    pub address: String,
    pub output: Vec<String>,
}

impl Server {
    /// Starts `gridline serve` on a free port and waits until it listens.
    pub fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        let mut command = gridline();
        command.arg("--data-dir").arg(data_dir).args(["serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null());
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start gridline serve");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut output = Vec::new();
        while Instant::now() < deadline {
            match receiver.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    output.push(line.clone());
                    if let Some(url) = line.split("listening on http://").nth(1) {
                        return Server { child, address: url.trim().to_string(), output };
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!("gridline serve exited with {status}: {output:?}");
                    }
                }
                Err(_) => break,
            }
        }
        let _ = child.kill();
        panic!("gridline serve did not start listening: {output:?}");
    }

    /// Kills the process with SIGKILL: no shutdown, no flush.
    pub fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh data directory.
pub fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("data");
    (directory, path)
}

/// The path of a test fixture.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

/// A fixture of another crate of the workspace.
pub fn fixture_path(krate: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("tests").join("fixtures").join(name)
}

/// Creates an administrator account and an API token for it; returns the token.
pub fn admin_token(data_dir: &Path, extra_env: &[(&str, &str)]) -> String {
    let mut command = gridline();
    command.arg("--data-dir").arg(data_dir).args(["user", "add", "tester", "--role", "admin", "--password-stdin"]);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"a long test password\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "user add: {}", String::from_utf8_lossy(&output.stderr));
    let mut command = gridline();
    command.arg("--data-dir").arg(data_dir).args(["token", "create", "tester", "--name", "tests"]);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "token create: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A second administrator (`approver`) and an API token for it: the second person of the two-person rule.
pub fn second_admin_token(dir: &Path, env: &[(&str, &str)]) -> String {
    let mut add = gridline();
    add.arg("--data-dir").arg(dir).args(["user", "add", "approver", "--role", "admin", "--password-stdin"]).envs(env.iter().copied());
    let mut child = add.stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"another long password\n").unwrap();
    assert!(child.wait().unwrap().success());
    let output = gridline()
        .arg("--data-dir")
        .arg(dir)
        .args(["token", "create", "approver", "--name", "t"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
