//! Fixtures, the xmllint oracle and small assertions shared by the tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use cap::{Finding, ParsedAlert, Rule};

/// The fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The files of a fixtures subfolder, sorted; `.gz` files are listed too (see `read_fixture`).
pub fn fixture_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(folder))
        .unwrap_or_else(|e| panic!("cannot list {folder}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".xml") || name.ends_with(".cap") || name.ends_with(".xml.gz")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {folder}");
    files
}

/// The bytes of a fixture; a `.gz` fixture (the largest real alert) is decompressed.
pub fn read_fixture(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).expect("gzip fixture");
        out
    } else {
        bytes
    }
}

/// The file name of a fixture, for messages and tables.
pub fn name(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("?").trim_end_matches(".gz").to_string()
}

/// The schemas the emitted documents must validate against.
pub fn cap_schema() -> PathBuf {
    fixtures().join("schemas/cap/CAP-v1.2.xsd")
}

/// EDXL-DE 2.0 and CAP 1.2 together (see the driver schema's comment).
pub fn edxl_with_cap_schema() -> PathBuf {
    fixtures().join("schemas/edxl-de-v2.0-with-cap-v1.2.xsd")
}

/// Validates documents with `xmllint --noout --nonet --schema`, in one run; panics with xmllint's output on failure.
///
/// A missing xmllint fails the test: the emitter's promise is schema-valid output, and a test that cannot check that
/// must not pass. `.ci/run` installs Debian's `libxml2-utils`; locally `apt-get install libxml2-utils`.
pub fn assert_schema_valid(schema: &Path, documents: &[(String, String)]) {
    assert!(!documents.is_empty(), "nothing to validate");
    let folder = tempfile::tempdir().expect("temporary directory");
    let mut paths = Vec::new();
    for (i, (label, text)) in documents.iter().enumerate() {
        let safe: String = label.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
        let path = folder.path().join(format!("{i:04}-{safe}.xml"));
        std::fs::write(&path, text).expect("write a document to validate");
        paths.push(path);
    }
    let output = Command::new("xmllint").arg("--noout").arg("--nonet").arg("--schema").arg(schema).args(&paths).output();
    let output = match output {
        Ok(output) => output,
        Err(error) => panic!(
            "xmllint could not be run ({error}); it is required to check that emitted documents validate \
             (GRIDLINE_CI={:?}); install Debian's libxml2-utils",
            std::env::var("GRIDLINE_CI").ok()
        ),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let validated = stderr.lines().filter(|l| l.ends_with(" validates")).count();
    if output.status.success() && validated == paths.len() {
        return;
    }
    let mut report = String::new();
    for line in stderr.lines().filter(|l| !l.ends_with(" validates")) {
        report.push_str(line);
        report.push('\n');
        if let Some(path) = line.strip_suffix(" fails to validate") {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            report.push_str(&text.chars().take(3000).collect::<String>());
            report.push('\n');
        }
    }
    panic!("xmllint rejected emitted documents ({validated} of {} validate):\n{report}", paths.len());
}

/// The rule codes of the error findings, in order.
pub fn error_codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().filter(|f| f.is_error()).map(|f| f.rule.code()).collect()
}

/// Panics unless the parse has a finding with `rule` at `path`.
pub fn assert_finding(parsed: &ParsedAlert, rule: Rule, path: &str) -> Finding {
    match parsed.findings.iter().find(|f| f.rule == rule && f.path == path) {
        Some(finding) => finding.clone(),
        None => panic!("expected {} at {path}, got:\n{}", rule.code(), describe(&parsed.findings)),
    }
}

/// One line per finding, for failure messages.
pub fn describe(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
}
