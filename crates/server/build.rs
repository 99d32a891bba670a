//! Embeds the web console's assets in the binary: our own files from `web/src`, and the front-end libraries
//! (htmx, Leaflet, Leaflet.markercluster, ECharts) from `web/node_modules`, which this script installs with `npm ci` from
//! the committed lock file when they are missing. Third-party files are never committed; the binary still serves
//! everything itself, with no CDN.
//!
//! Without npm (or without network access to its registry) the build still succeeds: the pages then say that the
//! map libraries are missing, and a warning names the command to fix it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The third-party files served, as (path under `web/node_modules`, URL path under `/assets/vendor/`).
const VENDOR: &[(&str, &str)] = &[
    ("htmx.org/dist/htmx.min.js", "htmx.min.js"),
    ("echarts/dist/echarts.min.js", "echarts/echarts.min.js"),
    ("leaflet/dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet/dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet/dist/images/layers.png", "leaflet/images/layers.png"),
    ("leaflet/dist/images/layers-2x.png", "leaflet/images/layers-2x.png"),
    ("leaflet/dist/images/marker-icon.png", "leaflet/images/marker-icon.png"),
    ("leaflet/dist/images/marker-icon-2x.png", "leaflet/images/marker-icon-2x.png"),
    ("leaflet/dist/images/marker-shadow.png", "leaflet/images/marker-shadow.png"),
    ("leaflet.markercluster/dist/leaflet.markercluster.js", "leaflet.markercluster/leaflet.markercluster.js"),
    ("leaflet.markercluster/dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"),
    ("leaflet.markercluster/dist/MarkerCluster.Default.css", "leaflet.markercluster/MarkerCluster.Default.css"),
];

fn content_type(path: &str) -> &'static str {
    match Path::new(path).extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("ico") => "image/x-icon",
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("..").join("..").join("web");
    let web = web.canonicalize().unwrap_or(web);
    println!("cargo:rerun-if-changed={}", web.join("package-lock.json").display());
    println!("cargo:rerun-if-changed={}", web.join("src").display());
    let node_modules = web.join("node_modules");

    let missing = VENDOR.iter().any(|(source, _)| !node_modules.join(source).exists());
    if missing && std::env::var_os("GRIDLINE_SKIP_NPM").is_none() {
        let status = Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&web).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => println!("cargo:warning=`npm ci` in web/ failed ({status}); the console will lack its map libraries"),
            Err(error) => {
                println!("cargo:warning=cannot run npm ({error}); install Node.js and npm, then rebuild, for the console's map libraries")
            }
        }
    }

    let mut code = String::from("/// Embedded assets: (URL path, content type, bytes).\npub static ASSETS: &[(&str, &str, &[u8])] = &[\n");
    for (source, url) in VENDOR {
        let file = node_modules.join(source);
        if file.exists() {
            let _ = writeln!(
                code,
                "    (\"/assets/vendor/{url}\", \"{}\", include_bytes!({:?})),",
                content_type(url),
                file.display().to_string()
            );
        }
    }
    let src = web.join("src");
    let mut own: Vec<PathBuf> =
        std::fs::read_dir(&src).map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    own.sort();
    for file in own.into_iter().filter(|path| path.is_file()) {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        println!("cargo:rerun-if-changed={}", file.display());
        let _ =
            writeln!(code, "    (\"/assets/app/{name}\", \"{}\", include_bytes!({:?})),", content_type(&name), file.display().to_string());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    std::fs::write(out, code).expect("write the asset table");
}
