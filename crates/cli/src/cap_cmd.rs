//! `gridline cap validate` and `gridline cap convert`: CAP 1.2, GB/T 35965.1 and EDXL-DE 2.0 on the command line.
//!
//! This module owns argument parsing, file reading and output formatting for the two commands; parsing, checking,
//! emitting, wrapping and unwrapping are done by the `cap` crate.
//! Input is detected from its content: JSON (the `cap::json` form) when it starts with `{`, an EDXL-DE envelope when its
//! root is `edxlDistribution`, else CAP XML.
//! Messages are in the user's language (`cap::Language`); `--json` output is for machines and keeps the stable codes.
//! Exit codes: 0 every file valid (or converted), 1 any file invalid or unreadable (or a conversion refused).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use cap::edxl::{Distribution, ExplicitAddress, ParsedDistribution, WrapOptions};
use cap::gbt35965::Profile;
use cap::{Alert, CapDateTime, Finding, Language, ParsedAlert, Rule};

/// CAP 1.2 alerts: validate them, convert them to and from JSON, wrap them in and unwrap them from EDXL-DE 2.0.
#[derive(Debug, clap::Subcommand)]
pub enum CapCommand {
    /// Check CAP 1.2 documents (XML or JSON) and EDXL-DE 2.0 envelopes; one line per finding; exit 1 if any is invalid.
    Validate(ValidateArgs),
    /// Convert between CAP XML, CAP JSON and EDXL-DE 2.0 envelopes (wrap and unwrap).
    Convert(ConvertArgs),
}

/// `gridline cap validate FILE… [--json] [--profile gbt35965]`
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// CAP XML or JSON files, or EDXL-DE envelopes; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also check a national profile: gbt35965 (China, GB/T 35965.1 and Emergency Response Law Art. 64) or ipaws
    /// (the CAP v1.2 USA IPAWS Profile v1.0).
    #[arg(long, value_enum)]
    pub profile: Option<ProfileName>,
}

/// The profiles `--profile` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileName {
    /// GB/T 35965.1-2018, the Chinese profile.
    Gbt35965,
    /// The CAP v1.2 USA IPAWS Profile v1.0.
    Ipaws,
}

/// `gridline cap convert INPUT --to cap|json|edxl [-o OUTPUT] …`
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// CAP XML, CAP JSON or an EDXL-DE envelope; `-` reads standard input.
    pub input: PathBuf,
    /// What to write: cap (CAP 1.2 XML), json (the JSON form) or edxl (the alert wrapped in an EDXL-DE 2.0 envelope).
    #[arg(long, value_enum)]
    pub to: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Convert even when the input has errors (they are printed on standard error); without it they refuse the conversion.
    #[arg(long)]
    pub lenient: bool,
    /// Which alert to take from an envelope holding several (1 is the first).
    #[arg(long, value_name = "N")]
    pub content: Option<usize>,
    /// EDXL: the distributionID (default: the alert's identifier).
    #[arg(long)]
    pub distribution_id: Option<String>,
    /// EDXL: the senderID (default: the alert's sender).
    #[arg(long)]
    pub sender_id: Option<String>,
    /// EDXL: dateTimeExpires as YYYY-MM-DDThh:mm:ss±hh:mm (default: the alert's latest expires, else 24 hours after sent).
    #[arg(long, value_name = "DATE-TIME")]
    pub expires: Option<String>,
    /// EDXL: an explicit recipient as SCHEME:ADDRESS (repeat for more).
    #[arg(long = "address", value_name = "SCHEME:ADDRESS")]
    pub addresses: Vec<String>,
    /// EDXL: leave out the target area made of the alert's polygons, circles and geocodes.
    #[arg(long)]
    pub no_target_area: bool,
    /// IPAWS: a SAME location code (six digits, PSSCCC) to add to every area (repeat for more).
    #[arg(long = "same-code", value_name = "PSSCCC")]
    pub same_codes: Vec<String>,
    /// IPAWS: the EAS originator (EAS, CIV, WXR or PEP; default CIV).
    #[arg(long, value_name = "CODE")]
    pub eas_org: Option<String>,
}

/// The formats `convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CAP 1.2 XML.
    #[value(alias = "xml")]
    Cap,
    /// The JSON form of a CAP alert.
    Json,
    /// An EDXL-DE 2.0 envelope.
    Edxl,
    /// CAP 1.2 XML following the CAP v1.2 USA IPAWS Profile v1.0 (`<code>IPAWSv1.0</code>`, SAME codes, EAS-ORG,
    /// CMAMtext); refused while the result breaks one of the profile's rules.
    Ipaws,
}

fn t(language: Language, en: &'static str, zh: &'static str) -> &'static str {
    match language {
        Language::En => en,
        Language::ZhCn => zh,
    }
}

/// Runs `gridline cap validate`, writing to standard output.
pub fn validate(args: ValidateArgs, language: Language) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    validate_to(&args, language, &mut out)
}

/// Runs `gridline cap convert`, writing the result to `--output` or standard output and findings to standard error.
pub fn convert(args: ConvertArgs, language: Language) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    convert_to(&args, language, &mut stdout.lock(), &mut stderr.lock())
}

/// What one input turned out to be, once read.
enum Document {
    Alert { parsed: ParsedAlert, kind: &'static str },
    Envelope(ParsedDistribution),
}

fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        Ok(bytes)
    } else {
        std::fs::read(path)
    }
}

fn read_document(bytes: &[u8]) -> Document {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'{') {
        return Document::Alert { parsed: cap::json::alert_from_json_str(&String::from_utf8_lossy(bytes)), kind: "json" };
    }
    let parsed = cap::parse_alert(bytes);
    let is_envelope = parsed
        .findings
        .iter()
        .any(|f| f.rule == Rule::UnexpectedRoot && f.value.as_deref().is_some_and(|v| v.ends_with("}edxlDistribution")));
    if is_envelope { Document::Envelope(cap::edxl::parse_distribution(bytes)) } else { Document::Alert { parsed, kind: "cap" } }
}

/// All findings of a document, with the profile's added when asked.
fn findings_of(document: &Document, profile: Option<ProfileName>) -> Vec<Finding> {
    let mut findings = Vec::new();
    match document {
        Document::Alert { parsed, .. } => {
            findings.extend(parsed.findings.iter().cloned());
            match (profile, &parsed.alert) {
                (Some(ProfileName::Gbt35965), Some(alert)) => {
                    findings.extend(cap::gbt35965::check(alert, &Profile::default(), &parsed.lines))
                }
                (Some(ProfileName::Ipaws), Some(alert)) => findings.extend(cap::ipaws::check(alert, &parsed.lines)),
                _ => {}
            }
        }
        Document::Envelope(parsed) => {
            findings.extend(parsed.findings.iter().cloned());
            if let (Some(profile), Some(distribution)) = (profile, &parsed.distribution) {
                for (alert, prefix) in distribution.alerts().zip(&parsed.alert_paths) {
                    let lines = parsed.lines.under(prefix);
                    let checked = match profile {
                        ProfileName::Gbt35965 => cap::gbt35965::check(alert, &Profile::default(), &lines),
                        ProfileName::Ipaws => cap::ipaws::check(alert, &lines),
                    };
                    for mut finding in checked {
                        finding.path = format!("{prefix}{}", finding.path);
                        findings.push(finding);
                    }
                }
            }
        }
    }
    findings.sort_by_key(|f| f.line.unwrap_or(u32::MAX));
    findings
}

fn is_read(document: &Document) -> bool {
    match document {
        Document::Alert { parsed, .. } => parsed.alert.is_some(),
        Document::Envelope(parsed) => parsed.distribution.is_some(),
    }
}

/// `validate` with the output going to `out` (for tests).
pub fn validate_to(args: &ValidateArgs, language: Language, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let (mut n_valid, mut n_invalid) = (0usize, 0usize);
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = match read_input(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                n_invalid += 1;
                if args.json {
                    let line = serde_json::json!({"file": name, "valid": false, "error": "io", "message": error.to_string()});
                    writeln!(out, "{line}")?;
                } else {
                    writeln!(out, "{name}: {}: {error}", t(language, "cannot read", "无法读取"))?;
                }
                continue;
            }
        };
        let document = read_document(&bytes);
        let findings = findings_of(&document, args.profile);
        let n_errors = findings.iter().filter(|f| f.is_error()).count();
        let valid = is_read(&document) && n_errors == 0;
        if valid {
            n_valid += 1;
        } else {
            n_invalid += 1;
        }
        let kind = match &document {
            Document::Alert { kind, .. } => *kind,
            Document::Envelope(_) => "edxl",
        };
        if args.json {
            let list: Vec<serde_json::Value> = findings
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "level": f.level.code(),
                        "rule": f.rule.code(),
                        "path": f.path,
                        "element": f.element(),
                        "line": f.line,
                        "message": f.message(language),
                    })
                })
                .collect();
            let line = serde_json::json!({
                "file": name,
                "kind": kind,
                "valid": valid,
                "errors": n_errors,
                "warnings": findings.len() - n_errors,
                "findings": list,
            });
            writeln!(out, "{line}")?;
        } else {
            for f in &findings {
                let line = f.line.map_or_else(String::new, |l| format!("{l}:"));
                let level = match (f.level, language) {
                    (cap::FindingLevel::Error, Language::En) => "error",
                    (cap::FindingLevel::Error, Language::ZhCn) => "错误",
                    (cap::FindingLevel::Warning, Language::En) => "warning",
                    (cap::FindingLevel::Warning, Language::ZhCn) => "警告",
                };
                writeln!(out, "{name}:{line} {level}[{}] {}: {}", f.rule.code(), f.path, f.message(language))?;
            }
            let verdict = if valid { t(language, "valid", "有效") } else { t(language, "invalid", "无效") };
            writeln!(out, "{name}: {verdict}")?;
        }
    }
    if !args.json && args.files.len() > 1 {
        match language {
            Language::En => writeln!(out, "{} files: {n_valid} valid, {n_invalid} invalid", args.files.len())?,
            Language::ZhCn => writeln!(out, "共 {} 个文件：{n_valid} 个有效，{n_invalid} 个无效", args.files.len())?,
        }
    }
    Ok(if n_invalid == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_findings(name: &str, findings: &[Finding], language: Language, err: &mut dyn Write) -> std::io::Result<()> {
    for f in findings {
        let line = f.line.map_or_else(String::new, |l| format!("{l}:"));
        writeln!(err, "{name}:{line} {}[{}] {}: {}", f.level.code(), f.rule.code(), f.path, f.message(language))?;
    }
    Ok(())
}

/// `convert` with the result going to `out` (unless `--output` is given) and findings to `err` (for tests).
pub fn convert_to(args: &ConvertArgs, language: Language, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let name = args.input.display().to_string();
    let bytes = read_input(&args.input).with_context(|| format!("{} {name}", t(language, "cannot read", "无法读取")))?;
    let document = read_document(&bytes);
    let findings = findings_of(&document, None);
    let has_errors = findings.iter().any(Finding::is_error);
    print_findings(&name, &findings, language, err)?;
    if !is_read(&document) || (has_errors && !args.lenient) {
        let reason = if is_read(&document) {
            t(language, "has errors; not converted (use --lenient to convert anyway)", "有错误，未转换（可使用 --lenient 强制转换）")
        } else {
            t(language, "could not be read; not converted", "无法读取，未转换")
        };
        writeln!(err, "{name}: {reason}")?;
        return Ok(ExitCode::FAILURE);
    }
    let wants_wrap_options = args.distribution_id.is_some()
        || args.sender_id.is_some()
        || args.expires.is_some()
        || !args.addresses.is_empty()
        || args.no_target_area;
    let text = match (document, args.to) {
        (Document::Envelope(parsed), Format::Edxl) if !wants_wrap_options => match parsed.distribution {
            Some(distribution) => cap::edxl::emit_distribution(&distribution),
            None => anyhow::bail!("{name}: {}", t(language, "could not be read", "无法读取")),
        },
        (document, format) => {
            let alert = pick_alert(document, args.content, language, &name)?;
            match format {
                Format::Cap => cap::emit_alert(&alert),
                Format::Ipaws => {
                    let options = cap::ipaws::IpawsOptions { same_codes: args.same_codes.clone(), originator: args.eas_org.clone() };
                    let exported = cap::ipaws::apply(alert, &options);
                    let findings = cap::ipaws::check(&exported, &cap::SourceLines::none());
                    print_findings(&name, &findings, language, err)?;
                    if findings.iter().any(Finding::is_error) && !args.lenient {
                        writeln!(
                            err,
                            "{name}: {}",
                            t(
                                language,
                                "does not meet the IPAWS profile; not converted (give --same-code, or --lenient)",
                                "不符合 IPAWS 规范，未转换（请给出 --same-code，或使用 --lenient）"
                            )
                        )?;
                        return Ok(ExitCode::FAILURE);
                    }
                    cap::emit_alert(&exported)
                }
                Format::Json => {
                    let mut text = serde_json::to_string_pretty(&cap::json::alert_to_json(&alert))?;
                    text.push('\n');
                    text
                }
                Format::Edxl => cap::edxl::emit_distribution(&wrap(alert, args, language)?),
            }
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("{} {}", t(language, "cannot write", "无法写入"), path.display()))?
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn pick_alert(document: Document, content: Option<usize>, language: Language, name: &str) -> anyhow::Result<Alert> {
    let mut alerts = match document {
        Document::Alert { parsed, .. } => parsed.alert.into_iter().collect::<Vec<_>>(),
        Document::Envelope(parsed) => parsed.distribution.map(Distribution::into_alerts).unwrap_or_default(),
    };
    let count = alerts.len();
    let index = match (content, count) {
        (_, 0) => anyhow::bail!("{name}: {}", t(language, "holds no CAP alert", "不含 CAP 警报")),
        (None, 1) => 0,
        (None, _) => anyhow::bail!(
            "{name}: {} ({count})",
            t(language, "holds several CAP alerts; choose one with --content N", "含有多个 CAP 警报，请用 --content N 选择一个")
        ),
        (Some(n), _) if (1..=count).contains(&n) => n - 1,
        (Some(n), _) => anyhow::bail!("{name}: {} {n} ({count})", t(language, "has no content object", "没有内容对象")),
    };
    Ok(alerts.swap_remove(index))
}

fn wrap(alert: Alert, args: &ConvertArgs, language: Language) -> anyhow::Result<Distribution> {
    let date_time_expires = match &args.expires {
        Some(text) => Some(CapDateTime::parse(text).map_err(|e| anyhow::anyhow!("--expires: {}", e.message(language)))?),
        None => None,
    };
    let mut explicit_addresses: Vec<ExplicitAddress> = Vec::new();
    for address in &args.addresses {
        let Some((scheme, value)) = address.split_once(':').filter(|(s, v)| !s.is_empty() && !v.is_empty()) else {
            anyhow::bail!("--address {address}: {}", t(language, "use SCHEME:ADDRESS", "格式应为 SCHEME:ADDRESS"));
        };
        match explicit_addresses.iter_mut().find(|a| a.scheme == scheme) {
            Some(existing) => existing.values.push(value.to_string()),
            None => explicit_addresses.push(ExplicitAddress { scheme: scheme.to_string(), values: vec![value.to_string()] }),
        }
    }
    let options = WrapOptions {
        distribution_id: args.distribution_id.clone(),
        sender_id: args.sender_id.clone(),
        date_time_sent: None,
        date_time_expires,
        explicit_addresses,
        without_target_area: args.no_target_area,
    };
    cap::edxl::wrap(alert, &options).map_err(|e| anyhow::anyhow!(e.message(language)))
}
