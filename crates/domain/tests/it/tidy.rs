//! Tidy checks on the domain crate's own manifest: the crate must stay free of IO.

#[test]
fn domain_depends_on_no_io_crate() {
    let manifest = include_str!("../../Cargo.toml");
    let forbidden = ["tokio", "sqlx", "axum", "hyper", "reqwest", "rumqttc", "tower", "async-std", "mio", "std::fs"];
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            // Only normal dependencies count; dev-dependencies may use IO to test.
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if !in_dependencies || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or("");
        assert!(!forbidden.contains(&name), "the domain crate must not depend on the IO crate `{name}`");
    }
}

#[test]
fn domain_source_does_no_file_or_network_io() {
    let sources = [
        include_str!("../../src/lib.rs"),
        include_str!("../../src/audit.rs"),
        include_str!("../../src/classification.rs"),
        include_str!("../../src/error.rs"),
        include_str!("../../src/geometry.rs"),
        include_str!("../../src/i18n.rs"),
        include_str!("../../src/ids.rs"),
        include_str!("../../src/masking.rs"),
        include_str!("../../src/policy.rs"),
        include_str!("../../src/registry.rs"),
        include_str!("../../src/text.rs"),
    ];
    for source in sources {
        for needle in ["std::fs", "std::net", "std::process", "File::open", "SystemTime::now", "Timestamp::now"] {
            assert!(!source.contains(needle), "the domain crate must not use `{needle}`");
        }
    }
}

#[test]
fn every_crate_uses_the_workspace_lints_and_version() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().parent().unwrap();
    let mut manifests: Vec<std::path::PathBuf> =
        std::fs::read_dir(root.join("crates")).unwrap().map(|entry| entry.unwrap().path().join("Cargo.toml")).collect();
    manifests.push(root.join("xtask").join("Cargo.toml"));
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains("[lints]\nworkspace = true"), "{} does not use the workspace lints", manifest.display());
        assert!(text.contains("version.workspace = true"), "{} does not use the workspace version", manifest.display());
        for line in text.lines().skip_while(|line| *line != "[dependencies]").skip(1).take_while(|line| !line.starts_with('[')) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            assert!(
                line.contains(".workspace = true") || line.contains("workspace = true"),
                "{}: `{line}` is not declared once at the root",
                manifest.display()
            );
        }
    }
}

/// Every description of a value's shape (`Malformed { expected: "…" }`, `invalid(field, "…")`) or of its allowed
/// characters (`BadCharacters { allowed: "…" }`) anywhere in the workspace has its Chinese, so that a Chinese reader
/// never gets English in the middle of a Chinese message.
#[test]
fn every_description_in_an_error_has_its_chinese() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missing = Vec::new();
    let mut found = 0;
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if name != "target" && name != "tests" {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") || !path.to_string_lossy().contains("/src/") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
            for needle in ["Malformed { expected: \"", "BadCharacters { allowed: \""] {
                for (start, _) in text.match_indices(needle) {
                    let rest = &text[start + needle.len()..];
                    // The literal as written in the source: unescape \" and \\.
                    let mut literal = String::new();
                    let mut chars = rest.chars();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => literal.push(chars.next().unwrap()),
                            '"' => break,
                            c => literal.push(c),
                        }
                    }
                    found += 1;
                    if !domain::error::has_phrase_zh(&literal) {
                        missing.push(format!("{}: {literal:?}", path.display()));
                    }
                }
            }
        }
    }
    assert!(found > 40, "the scan found only {found} descriptions");
    assert!(missing.is_empty(), "descriptions without Chinese (add them to domain::error::PHRASES_ZH):\n{}", missing.join("\n"));
    assert_eq!(
        domain::Invalid::new("lon", domain::InvalidReason::Malformed { expected: "a decimal number" }).message(domain::Locale::ZhCn),
        "lon：格式不正确，应为 十进制数"
    );
}
