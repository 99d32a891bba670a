//! The geo commands of the `gridline` binary, built on their own.
//!
//! `crates/cli/src/spatial_cmd.rs` is compiled here as well, so that it is type-checked and can be run
//! (`cargo run -p spatial --example geo_cli -- route FILE --from … --to …`) while the CLI crate wires it in.

#[path = "../../cli/src/spatial_cmd.rs"]
mod spatial_cmd;

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, clap::Parser)]
#[command(name = "gridline")]
enum Command {
    /// Travel time and path length by road.
    Route(spatial_cmd::RouteArgs),
    /// Count (and list) the points inside an area.
    Targets(spatial_cmd::TargetsArgs),
    /// Import an OpenStreetMap file and print its counts and diagnostics.
    ImportOsm(spatial_cmd::ImportOsmArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    match Command::parse() {
        Command::Route(a) => spatial_cmd::route(a),
        Command::Targets(a) => spatial_cmd::targets(a),
        Command::ImportOsm(a) => spatial_cmd::import_osm(a),
    }
}
