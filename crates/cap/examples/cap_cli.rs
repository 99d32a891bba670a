//! The CAP commands of the `gridline` binary, built on their own.
//!
//! `crates/cli/src/cap_cmd.rs` is compiled here as well, so that it is type-checked and can be run
//! (`cargo run -p cap --example cap_cli -- validate FILE…`) while the CLI crate wires it in.

#[path = "../../cli/src/cap_cmd.rs"]
mod cap_cmd;

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, clap::Parser)]
#[command(name = "gridline cap")]
struct Cli {
    #[command(subcommand)]
    command: cap_cmd::CapCommand,
}

/// The user's language from `GRIDLINE_LANG`, `LC_ALL` or `LANG` (`zh…` gives Chinese), as the binary's settings do.
fn language_from_env() -> cap::Language {
    let pick = ["GRIDLINE_LANG", "LC_ALL", "LANG"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    if pick.is_some_and(|v| v.to_ascii_lowercase().starts_with("zh")) { cap::Language::ZhCn } else { cap::Language::En }
}

fn main() -> anyhow::Result<ExitCode> {
    let language = language_from_env();
    match Cli::parse().command {
        cap_cmd::CapCommand::Validate(args) => cap_cmd::validate(args, language),
        cap_cmd::CapCommand::Convert(args) => cap_cmd::convert(args, language),
    }
}
