//! `gridline cap validate` and `gridline cap convert`, driven through the same functions the binary calls.
//!
//! `crates/cli/src/cap_cmd.rs` is compiled into this test binary (as into the `cap_cli` example), so its output and
//! exit codes are tested here while the CLI crate wires it in.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cap::Language;
use clap::Parser;

use crate::helpers::{fixtures, read_fixture};

#[allow(dead_code, clippy::print_stdout)]
#[path = "../../../cli/src/cap_cmd.rs"]
mod cap_cmd;

#[derive(Debug, clap::Parser)]
#[command(name = "gridline cap")]
struct Cli {
    #[command(subcommand)]
    command: cap_cmd::CapCommand,
}

fn parse(args: &[&str]) -> cap_cmd::CapCommand {
    Cli::try_parse_from(std::iter::once("gridline cap").chain(args.iter().copied())).expect("arguments").command
}

fn fixture(relative: &str) -> String {
    fixtures().join(relative).display().to_string()
}

fn validate(args: &[&str], language: Language) -> (ExitCode, String) {
    let cap_cmd::CapCommand::Validate(args) = parse(args) else { panic!("not validate") };
    let mut out = Vec::new();
    let code = cap_cmd::validate_to(&args, language, &mut out).expect("validate runs");
    (code, String::from_utf8(out).expect("UTF-8 output"))
}

fn convert(args: &[&str]) -> (ExitCode, Vec<u8>, String) {
    let cap_cmd::CapCommand::Convert(args) = parse(args) else { panic!("not convert") };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cap_cmd::convert_to(&args, Language::En, &mut out, &mut err).expect("convert runs");
    (code, out, String::from_utf8(err).expect("UTF-8 errors"))
}

#[test]
fn validate_says_valid_and_exits_0_for_conforming_files() {
    let file = fixture("cap/valid/oasiscap_v1dot2_appendix_adot2.xml");
    let (code, out) = validate(&["validate", &file], Language::En);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(out, format!("{file}: valid\n"));
}

#[test]
fn validate_prints_one_line_per_finding_and_exits_1_when_any_file_is_invalid() {
    let good = fixture("cap/valid/oasiscap_v1dot2_appendix_adot2.xml");
    let bad = fixture("cap/invalid/google_canada_errors.cap");
    let xxe = fixture("cap/invalid/google_xee.cap");
    let (code, out) = validate(&["validate", &good, &bad, &xxe], Language::En);
    assert_eq!(code, ExitCode::FAILURE);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&&*format!("{bad}:7: error[references_required] /alert/references: a message of type Update must give references to the message(s) it concerns")), "{out}");
    assert!(
        lines.contains(&&*format!(
            "{bad}:10: warning[empty_element] /alert/restriction: restriction is present but empty; leave it out instead"
        )),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.starts_with(&format!("{xxe}:3: error[dtd_forbidden] /: "))), "{out}");
    assert_eq!(lines.last(), Some(&"3 files: 1 valid, 2 invalid"));
}

#[test]
fn validate_speaks_chinese() {
    let bad = fixture("cap/invalid/google_canada_errors.cap");
    let (_, out) = validate(&["validate", &bad], Language::ZhCn);
    assert!(
        out.contains(&format!("{bad}:12: 错误[references_format] /alert/references: “”不是以空格分隔的“发送者,标识符,发送时间”列表")),
        "{out}"
    );
    assert!(out.ends_with(&format!("{bad}: 无效\n")), "{out}");
}

#[test]
fn validate_json_gives_one_object_per_file() {
    let bad = fixture("cap/nonconformant_real_world/kde_alertswiss-TEST-1163.xml");
    let envelope = fixture("edxl/ans_samu-hub_EDXL-DE-2.0_valid_envelope.xml");
    let (code, out) = validate(&["validate", "--json", &bad, &envelope], Language::En);
    assert_eq!(code, ExitCode::FAILURE);
    let objects: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!((objects[0]["kind"].as_str(), objects[0]["valid"].as_bool()), (Some("cap"), Some(false)));
    let first = &objects[0]["findings"][0];
    assert_eq!(
        (first["rule"].as_str(), first["path"].as_str(), first["element"].as_str(), first["line"].as_u64(), first["level"].as_str()),
        (Some("element_order"), Some("/alert/sender"), Some("sender"), Some(5), Some("error"))
    );
    assert_eq!((objects[1]["kind"].as_str(), objects[1]["valid"].as_bool()), (Some("edxl"), Some(true)));
}

#[test]
fn validate_with_the_chinese_profile() {
    let good = fixture("cap/gbt35965/gridline_gbt35965_rainstorm_orange.xml");
    let incomplete = fixture("cap/gbt35965/gridline_gbt35965_incomplete.xml");
    let (code, _) = validate(&["validate", "--profile", "gbt35965", &good], Language::En);
    assert_eq!(code, ExitCode::SUCCESS);
    let (code, _) = validate(&["validate", &incomplete], Language::En);
    assert_eq!(code, ExitCode::SUCCESS, "without the profile it is plain conforming CAP");
    let (code, out) = validate(&["validate", "--profile", "gbt35965", &incomplete], Language::ZhCn);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(out.contains(&format!("{incomplete}:4: 错误[gbt_identifier_format] /alert/identifier:")), "{out}");
    assert!(out.contains("错误[gbt_instruction_missing] /alert/info[1]: 缺少应当采取的措施"), "{out}");
}

#[test]
fn validate_reports_unreadable_files() {
    let (code, out) = validate(&["validate", "/nonexistent/alert.xml"], Language::En);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(out.starts_with("/nonexistent/alert.xml: cannot read: "), "{out}");
}

fn temporary(folder: &Path, name: &str) -> PathBuf {
    folder.join(name)
}

#[test]
fn convert_goes_from_cap_to_json_to_edxl_and_back() {
    let folder = tempfile::tempdir().expect("temporary directory");
    let source = fixture("cap/gbt35965/gridline_gbt35965_typhoon_red_update.xml");
    let original = cap::parse_alert(&read_fixture(Path::new(&source))).alert.expect("alert");

    let json = temporary(folder.path(), "alert.json");
    let (code, _, err) = convert(&["convert", &source, "--to", "json", "-o", &json.display().to_string()]);
    assert_eq!((code, err.as_str()), (ExitCode::SUCCESS, ""));
    let text = std::fs::read_to_string(&json).expect("JSON written");
    assert!(text.contains("\"warningLevel\"") || text.contains("GBT35965:warningLevel"), "{text}");

    let envelope = temporary(folder.path(), "envelope.xml");
    let (code, _, err) = convert(&[
        "convert",
        &json.display().to_string(),
        "--to",
        "edxl",
        "--address",
        "e-mail:duty@example.cn",
        "-o",
        &envelope.display().to_string(),
    ]);
    assert_eq!((code, err.as_str()), (ExitCode::SUCCESS, ""));
    let parsed = cap::edxl::parse_distribution(&std::fs::read(&envelope).expect("envelope written"));
    assert!(parsed.is_conforming());
    let distribution = parsed.distribution.expect("envelope");
    assert_eq!(distribution.descriptor.as_ref().expect("descriptor").explicit_addresses[0].values, ["duty@example.cn"]);

    let (code, out, _) = convert(&["convert", &envelope.display().to_string(), "--to", "cap"]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(cap::parse_alert(&out).alert, Some(original));
}

#[test]
fn convert_refuses_nonconforming_input_unless_lenient() {
    let source = fixture("cap/nonconformant_real_world/kde_alertswiss-TEST-1163.xml");
    let (code, out, err) = convert(&["convert", &source, "--to", "cap"]);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(out.is_empty());
    assert!(
        err.contains("error[element_order] /alert/sender")
            && err.ends_with("has errors; not converted (use --lenient to convert anyway)\n"),
        "{err}"
    );
    let (code, out, _) = convert(&["convert", &source, "--to", "cap", "--lenient"]);
    assert_eq!(code, ExitCode::SUCCESS);
    let repaired = cap::parse_alert(&out);
    assert!(repaired.findings.iter().all(|f| f.rule != cap::Rule::ElementOrder), "the order is repaired");
    let (code, _, err) = convert(&["convert", &fixture("cap/invalid/google_xee.cap"), "--to", "json", "--lenient"]);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(err.ends_with("could not be read; not converted\n"), "{err}");
}

#[test]
fn convert_re_emits_an_envelope_as_it_is() {
    let source = fixture("edxl/ans_samu-hub_EDXL-DE-2.0_valid_envelope.xml");
    let (code, out, _) = convert(&["convert", &source, "--to", "edxl"]);
    assert_eq!(code, ExitCode::SUCCESS);
    let again = cap::edxl::parse_distribution(&out);
    assert_eq!(again.distribution, cap::edxl::parse_distribution(&read_fixture(Path::new(&source))).distribution);
    let cap_cmd::CapCommand::Convert(args) = parse(&["convert", &source, "--to", "cap"]) else { panic!("not convert") };
    let error = cap_cmd::convert_to(&args, Language::En, &mut Vec::new(), &mut Vec::new()).expect_err("no CAP inside to unwrap");
    assert!(error.to_string().ends_with("holds no CAP alert"), "{error}");
}

#[test]
fn convert_to_the_ipaws_profile_needs_location_codes_and_validate_checks_it() {
    let input = fixture("cap/gbt35965/gridline_gbt35965_rainstorm_orange.xml");
    // A Chinese rainstorm warning has no SAME location codes: the export is refused, naming the rule.
    let (code, out, err) = convert(&["convert", &input, "--to", "ipaws"]);
    assert_eq!(code, ExitCode::FAILURE, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("ipaws_same_geocode_missing") && err.contains("--same-code"), "{err}");
    // With a location code, it meets the profile.
    let (code, out, err) = convert(&["convert", &input, "--to", "ipaws", "--same-code", "006037"]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let xml = String::from_utf8(out).unwrap();
    assert!(
        xml.contains("<code>IPAWSv1.0</code>") && xml.contains("<value>006037</value>") && xml.contains("<valueName>EAS-ORG</valueName>"),
        "{xml}"
    );
    let folder = tempfile::tempdir().unwrap();
    let exported = temporary(folder.path(), "exported.xml");
    std::fs::write(&exported, &xml).unwrap();
    let (code, text) = validate(&["validate", "--profile", "ipaws", exported.to_str().unwrap()], Language::En);
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    // The original does not meet it: validate says why, in Chinese too.
    let (code, text) = validate(&["validate", "--profile", "ipaws", &input], Language::ZhCn);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(text.contains("ipaws_code_missing") && text.contains("IPAWSv1.0"), "{text}");
}
