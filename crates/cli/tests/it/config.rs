//! Settings are layered: defaults, then gridline.toml, then environment variables, then flags.

use std::process::Command;

fn migrate(cwd: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gridline"));
    command
        .current_dir(cwd)
        .env("GRIDLINE_LANG", "en")
        .env_remove("GRIDLINE_DATABASE_URL")
        .env_remove("GRIDLINE_DATA_DIR")
        .env_remove("GRIDLINE_CONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.args(args).arg("migrate").output().unwrap()
}

#[test]
fn file_then_environment_then_flags() {
    let directory = tempfile::tempdir().unwrap();
    let cwd = directory.path();
    // Defaults: ./gridline-data.
    assert!(migrate(cwd, &[], &[]).status.success());
    assert!(cwd.join("gridline-data/gridline.db").exists());
    // gridline.toml beats the default.
    std::fs::write(cwd.join("gridline.toml"), "data_dir = \"from-file\"\n").unwrap();
    assert!(migrate(cwd, &[], &[]).status.success());
    assert!(cwd.join("from-file/gridline.db").exists());
    // The environment beats the file.
    assert!(migrate(cwd, &[("GRIDLINE_DATA_DIR", "from-env")], &[]).status.success());
    assert!(cwd.join("from-env/gridline.db").exists());
    // A flag beats the environment.
    assert!(migrate(cwd, &[("GRIDLINE_DATA_DIR", "from-env")], &["--data-dir", "from-flag"]).status.success());
    assert!(cwd.join("from-flag/gridline.db").exists());
    // A mistake in the file is reported, not ignored.
    std::fs::write(cwd.join("gridline.toml"), "data_dri = \"typo\"\n").unwrap();
    let output = migrate(cwd, &[], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("gridline.toml is not a valid Gridline configuration") && stderr.contains("data_dri"), "{stderr}");
    std::fs::write(cwd.join("gridline.toml"), "").unwrap();
    let output = migrate(cwd, &[], &["--database", "mysql://nope"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("must be a postgres:// URL"));
}
