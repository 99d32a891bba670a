//! Throwaway services for tests: a Mosquitto MQTT broker on a private port, and a PostgreSQL cluster in a temporary directory (outside the checkout, so that the
//! `postgres` user can reach it when the tests run as root), on a private port and socket directory, trusting
//! local connections. Started fresh for every run and stopped at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The running services.
pub struct Services {
    postgres: Option<Postgres>,
    mosquitto: Option<Mosquitto>,
}

/// Debian's Mosquitto broker on a private port, with persistence off and room for the messages queued for a
/// disconnected persistent session.
struct Mosquitto {
    child: std::process::Child,
    url: String,
}

impl Mosquitto {
    fn start(base: &Path) -> Result<Mosquitto, String> {
        let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or("Mosquitto is not installed (apt-get install mosquitto)")?;
        let port = free_port();
        let config = base.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\nmax_inflight_messages 1000\nmax_packet_size 33554432\n"),
        )
        .map_err(|e| format!("{}: {e}", config.display()))?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start mosquitto: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Mosquitto { child, url: format!("mqtt://127.0.0.1:{port}") });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("mosquitto did not listen on port {port} within 10 s"))
    }
}

struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    url: String,
    as_postgres_user: bool,
}

/// A port no other process listens on now (another checkout's tests may be running on this machine).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).map(|address| address.port()).unwrap_or(54329)
}

impl Services {
    pub fn start(root: &Path) -> Result<Services, String> {
        // One directory per checkout, so two checkouts on one machine do not share a cluster.
        let tag: u64 = root.to_string_lossy().bytes().fold(5381_u64, |hash, byte| hash.wrapping_mul(33) ^ u64::from(byte));
        let base = std::env::temp_dir().join(format!("gridline-test-services-{tag:x}"));
        std::fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
        let postgres = match Postgres::start(&base) {
            Ok(postgres) => Some(postgres),
            Err(message) => {
                eprintln!("PostgreSQL: {message}");
                None
            }
        };
        let mosquitto = match Mosquitto::start(&base) {
            Ok(mosquitto) => Some(mosquitto),
            Err(message) => {
                eprintln!("Mosquitto: {message}");
                None
            }
        };
        Ok(Services { postgres, mosquitto })
    }

    pub fn mqtt_url(&self) -> Option<&str> {
        self.mosquitto.as_ref().map(|m| m.url.as_str())
    }

    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres.as_ref().map(|p| p.url.as_str())
    }

    /// Sets the environment variables that point tests at the services.
    pub fn export(&self, command: &mut Command) {
        if let Some(url) = self.postgres_url() {
            command.env("GRIDLINE_TEST_POSTGRES_URL", url);
        }
        if let Some(url) = self.mqtt_url() {
            command.env("GRIDLINE_TEST_MQTT_URL", url);
        }
    }

    pub fn stop(&mut self) {
        if let Some(postgres) = self.postgres.take() {
            postgres.stop();
        }
        if let Some(mut mosquitto) = self.mosquitto.take() {
            let _ = mosquitto.child.kill();
            let _ = mosquitto.child.wait();
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop();
    }
}

fn find_postgres_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("GRIDLINE_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    fn start(base: &Path) -> Result<Postgres, String> {
        let bin = find_postgres_bin().ok_or("not installed (no /usr/lib/postgresql/*/bin/initdb; set GRIDLINE_PG_BIN)")?;
        let dir = base.join("postgres");
        let data = dir.join("data");
        let as_postgres_user = is_root();
        // A stale cluster from an interrupted run: stop it and start afresh.
        if data.join("postmaster.pid").exists() {
            let _ = run_as(as_postgres_user, &bin.join("pg_ctl"), &["-D", &data.to_string_lossy(), "-m", "immediate", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if as_postgres_user {
            // initdb refuses to run as root: the cluster belongs to the `postgres` user.
            let status = Command::new("chown").args(["-R", "postgres:postgres", &dir.to_string_lossy()]).status();
            if !status.is_ok_and(|s| s.success()) {
                return Err(format!("cannot hand {} to the postgres user", dir.display()));
            }
        }
        let data_text = data.to_string_lossy().into_owned();
        let output = run_as(
            as_postgres_user,
            &bin.join("initdb"),
            &["-D", &data_text, "-U", "gridline", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
        )?;
        if !output.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        let socket_dir = dir.to_string_lossy().into_owned();
        let port = free_port();
        let options =
            format!("-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300 -c shared_buffers=64MB");
        let log = dir.join("postgres.log").to_string_lossy().into_owned();
        let output =
            run_as(as_postgres_user, &bin.join("pg_ctl"), &["-D", &data_text, "-o", &options, "-l", &log, "-w", "-t", "60", "start"])?;
        if !output.status.success() {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("pg_ctl start failed: {}\n{log_text}", String::from_utf8_lossy(&output.stderr)));
        }
        let url = format!("postgres://gridline@127.0.0.1:{port}/postgres");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = Command::new(bin.join("pg_isready")).args(["-h", "127.0.0.1", "-p", &port.to_string()]).output();
            if ready.is_ok_and(|o| o.status.success()) {
                eprintln!("PostgreSQL test server running at {url}");
                return Ok(Postgres { bin, data, url, as_postgres_user });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err("the server did not become ready within 30 s".into())
    }

    fn stop(self) {
        let _ = run_as(self.as_postgres_user, &self.bin.join("pg_ctl"), &["-D", &self.data.to_string_lossy(), "-m", "fast", "-w", "stop"]);
    }
}

fn run_as(as_postgres_user: bool, program: &Path, args: &[&str]) -> Result<std::process::Output, String> {
    let mut command = if as_postgres_user {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    command.args(args).current_dir("/").output().map_err(|e| format!("cannot run {}: {e}", program.display()))
}
