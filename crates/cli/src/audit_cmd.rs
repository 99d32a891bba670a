//! `gridline audit …`: verify the chain and its signed anchors, anchor now, rotate the signing key.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use domain::Locale;

use crate::config::Settings;
use crate::output::say;
use crate::{app_error, open_app};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log: the hash chain, the signed anchors against the trusted keys, and this node's anchor
    /// journal; exit 1 and name the first record that does not check out.
    Verify(VerifyArgs),
    /// Sign every record not yet anchored (the server does this every minute).
    Anchor,
    /// Make a new signing key; the previous keys stay trusted, so their anchors still verify.
    RotateKey,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The key directory holding `trusted.keys` and `anchors.jsonl` (default: `[audit] key_dir`, or `audit` in the
    /// data directory). Point it at a copy kept elsewhere to verify a restored or suspect database.
    #[arg(long)]
    pub keys: Option<PathBuf>,
}

pub async fn run(command: AuditCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let locale = settings.locale;
    let key_dir = settings.app.audit.key_dir.clone().unwrap_or_else(|| settings.data_dir.join("audit"));
    match command {
        AuditCommand::Verify(args) => {
            let app = open_app(settings).await?;
            let dir = args.keys.unwrap_or(key_dir);
            let report = app.audit().verify_audit_report(Some(&dir)).await.map_err(|e| app_error(e, locale));
            app.store().close().await;
            print_report(&report?, &dir, settings, locale)
        }
        AuditCommand::Anchor => {
            let app = open_app(settings).await?;
            let mut anchored = 0;
            loop {
                match app.audit().anchor_audit().await {
                    Ok(Some(anchor)) => {
                        anchored += 1;
                        say(
                            locale,
                            "cli.audit_anchored",
                            &[("first", anchor.first_seq.to_string()), ("last", anchor.last_seq.to_string()), ("key", anchor.key_id)],
                        );
                    }
                    Ok(None) => break,
                    Err(error) => {
                        app.store().close().await;
                        return Err(app_error(error, locale));
                    }
                }
            }
            if anchored == 0 {
                say(locale, "cli.audit_nothing_to_anchor", &[]);
            }
            app.store().close().await;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::RotateKey => {
            let key = app::audit::rotate_key(&key_dir).map_err(|e| app_error(e, locale))?;
            say(locale, "cli.audit_key_rotated", &[("key", key), ("dir", key_dir.display().to_string())]);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_report(report: &app::audit::AuditReport, dir: &std::path::Path, settings: &Settings, locale: Locale) -> anyhow::Result<ExitCode> {
    let mut ok = true;
    match &report.verification {
        store::audit::Verification::Intact { records, anchors, anchored_through, oldest_unanchored_ms } => {
            say(locale, "cli.audit_ok", &[("count", records.to_string())]);
            if !report.keys_found {
                say(locale, "cli.audit_no_keys", &[("dir", dir.display().to_string())]);
            } else {
                say(locale, "cli.audit_anchors", &[("anchors", anchors.to_string()), ("through", anchored_through.to_string())]);
                if let Some(since) = oldest_unanchored_ms {
                    say(
                        locale,
                        "cli.audit_unanchored",
                        &[
                            ("count", (records - anchored_through).to_string()),
                            ("since", app::time::rfc3339(*since)),
                            ("interval", settings.app.audit.anchor_interval_seconds.to_string()),
                        ],
                    );
                }
            }
        }
        store::audit::Verification::Broken { seq, problem } => {
            ok = false;
            let (expected, at) = match problem {
                domain::audit::ChainBreak::SequenceGap { expected } => (expected.to_string(), String::new()),
                domain::audit::ChainBreak::NotAsAnchored { anchored_at_ms } => (String::new(), app::time::rfc3339(*anchored_at_ms)),
                _ => (String::new(), String::new()),
            };
            let problem_text =
                domain::i18n::format(locale, &format!("audit_break.{}", problem.code()), &[("expected", expected), ("at", at)]);
            say(locale, "cli.audit_broken", &[("seq", seq.to_string()), ("problem", problem_text)]);
        }
    }
    for first in &report.journal_missing {
        ok = false;
        say(locale, "cli.audit_journal_missing", &[("seq", first.to_string())]);
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
