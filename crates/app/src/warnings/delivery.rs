//! The delivery worker and acknowledgements.
//!
//! A round claims due deliveries with a lease, renders each in its recipient's language, sends them concurrently
//! and records every outcome in one write. Nothing is lost: a delivery is only marked delivered after the receiver
//! accepted it, and a worker that dies leaves leases that expire and make its deliveries due again. Nothing is
//! delivered twice in effect: every message carries its delivery's idempotency key (`Idempotency-Key` on HTTP,
//! `Message-ID` on e-mail), which stays the same on every retry, so a receiver that saw it already can drop it.
//!
//! Acknowledgement links carry a token `<warning>.<kind><recipient>.<mac>`: the MAC (HMAC-SHA256 under a key kept
//! in the database's settings, shared by every node) proves the link was issued by Gridline for this recipient, so
//! nothing per link needs storing, and a million links cost a million MACs, not a million rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use domain::policy::ResourceKind;
use domain::{Classification, Locale, i18n};
use futures_util::StreamExt as _;
use hmac::{KeyInit, Mac};
use store::warnings::{self as repo, Attempt, Delivery, WarningRow};

use crate::time::rfc3339;
use crate::transport::{self, Email, HttpClient, HttpUrl, Sent};
use crate::warnings::Warnings;
use crate::{AppError, Context};

/// What a delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Accepted by their receivers.
    pub delivered: usize,
    /// To be retried later.
    pub retried: usize,
    /// Given up.
    pub failed: usize,
}

/// The channels' connections, shared by every round of a worker.
#[derive(Debug, Default)]
pub struct Transports {
    http: HttpClient,
}

impl Transports {
    /// Fresh transports.
    pub fn new() -> Arc<Transports> {
        Arc::new(Transports::default())
    }
}

/// A recipient's part of an acknowledgement token.
fn kind_letter(kind: &str) -> Option<char> {
    match kind {
        "household" => Some('h'),
        "member" => Some('m'),
        "organization" => Some('o'),
        _ => None,
    }
}

fn kind_of_letter(letter: char) -> Option<&'static str> {
    match letter {
        'h' => Some("household"),
        'm' => Some("member"),
        'o' => Some("organization"),
        _ => None,
    }
}

/// An acknowledgement, as the recipient sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AckView {
    /// The warning.
    pub warning_id: i64,
    /// Its headline in the reader's language.
    pub headline: String,
    /// What to do.
    pub instruction: String,
    /// Its level.
    pub level: String,
    /// The level in the reader's language.
    pub level_label: String,
    /// Whether it is an exercise or a test.
    pub exercise: bool,
    /// Whether this recipient has acknowledged (now or before).
    pub acknowledged: bool,
}

impl Warnings {
    async fn ack_key(&self) -> Result<Vec<u8>, AppError> {
        let runtime = self.warnings_runtime();
        let key = runtime
            .ack_key
            .get_or_try_init(|| async {
                let initial = crate::util::random_hex(32)?;
                let now = self.kernel.now_ms();
                let value = self
                    .kernel
                    .store()
                    .write(move |c| Box::pin(async move { store::settings::get_or_insert(c, "ack_key", &initial, now).await }))
                    .await?;
                Ok::<Vec<u8>, AppError>(value.into_bytes())
            })
            .await?;
        Ok(key.clone())
    }

    fn ack_mac(key: &[u8], warning_id: i64, letter: char, recipient_id: i64) -> hmac::Hmac<sha2::Sha256> {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(format!("ack:{warning_id}:{letter}:{recipient_id}").as_bytes());
        mac
    }

    /// The acknowledgement token of a recipient of a warning.
    pub async fn ack_token(&self, warning_id: i64, recipient_kind: &str, recipient_id: i64) -> Result<String, AppError> {
        let letter = kind_letter(recipient_kind).ok_or_else(|| AppError::Internal(format!("recipient kind {recipient_kind}")))?;
        let key = self.ack_key().await?;
        let tag = Self::ack_mac(&key, warning_id, letter, recipient_id).finalize().into_bytes();
        Ok(format!("{warning_id}.{letter}{recipient_id}.{}", crate::util::hex(&tag[..16])))
    }

    /// The acknowledgement link of a recipient.
    pub async fn ack_url(&self, warning_id: i64, recipient_kind: &str, recipient_id: i64) -> Result<String, AppError> {
        Ok(format!("{}/ack/{}", self.kernel.public_url(), self.ack_token(warning_id, recipient_kind, recipient_id).await?))
    }

    /// Checks a token; answers the warning, recipient kind and id it belongs to.
    async fn check_ack_token(&self, token: &str) -> Result<(i64, &'static str, i64), AppError> {
        let invalid = || AppError::InvalidToken;
        let mut parts = token.trim().splitn(3, '.');
        let (Some(warning), Some(recipient), Some(tag)) = (parts.next(), parts.next(), parts.next()) else { return Err(invalid()) };
        let warning_id: i64 = warning.parse().map_err(|_| invalid())?;
        let mut chars = recipient.chars();
        let letter = chars.next().ok_or_else(invalid)?;
        let kind = kind_of_letter(letter).ok_or_else(invalid)?;
        let recipient_id: i64 = chars.as_str().parse().map_err(|_| invalid())?;
        if tag.len() != 32 || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let tag: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&tag[i * 2..i * 2 + 2], 16).unwrap_or(0)).collect();
        let key = self.ack_key().await?;
        Self::ack_mac(&key, warning_id, letter, recipient_id).verify_truncated_left(&tag).map_err(|_| invalid())?;
        Ok((warning_id, kind, recipient_id))
    }

    /// What an acknowledgement link shows, without acknowledging (opening a link must not count: message
    /// scanners and link previews open links too).
    pub async fn ack_status(&self, token: &str, locale: Locale) -> Result<AckView, AppError> {
        let (warning_id, kind, recipient_id) = self.check_ack_token(token).await?;
        let row = self.load_warning(warning_id).await?;
        let acknowledged = {
            let mut reader = self.kernel.store().reader().await?;
            repo::is_acknowledged(&mut reader.conn(), warning_id, kind, recipient_id).await?
        };
        Ok(ack_view(&row, locale, acknowledged))
    }

    /// Acknowledges a warning by the token of its link (the public, no sign-in: the token is the proof).
    pub async fn acknowledge(&self, token: &str, via: &str, locale: Locale) -> Result<AckView, AppError> {
        let (warning_id, kind, recipient_id) = self.check_ack_token(token).await?;
        let row = self.load_warning(warning_id).await?;
        let app = self.clone();
        let via = if matches!(via, "link" | "api" | "sms_reply" | "phone") { via.to_string() } else { "link".to_string() };
        let path = row.path.clone();
        let recorded = self
            .kernel
            .store()
            .write(move |c| {
                Box::pin(async move {
                    if !repo::was_targeted(c, warning_id, kind, recipient_id).await? {
                        return Ok::<_, AppError>(None);
                    }
                    let now = app.kernel.now_ms();
                    let new = repo::acknowledge(c, warning_id, kind, recipient_id, now, &via).await?;
                    if new {
                        let payload = serde_json::json!({ "warning_id": warning_id, "recipient_kind": kind, "via": via });
                        let ctx = Context::system("ack", Locale::ZhCn);
                        store::events::append(
                            c,
                            &app.kernel.event(
                                &ctx,
                                "warning.acknowledged",
                                "warning",
                                warning_id,
                                Some(&path),
                                None,
                                Classification::Internal,
                                payload,
                            ),
                        )
                        .await?;
                    }
                    Ok(Some(new))
                })
            })
            .await?;
        match recorded {
            None => Err(AppError::NotFound { kind: ResourceKind::Warning }),
            Some(_) => Ok(ack_view(&row, locale, true)),
        }
    }

    /// One delivery round as `worker`: claim, send, record.
    pub async fn deliver_round(&self, worker: &str, transports: &Transports) -> Result<DeliveryReport, AppError> {
        let config = self.kernel.config().delivery.clone();
        let now = self.kernel.now_ms();
        let lease_until = now + config.lease_seconds.max(5) * 1000;
        let batch = config.batch.clamp(1, 10_000);
        let worker_name = worker.to_string();
        let claimed: Vec<Delivery> = self
            .kernel
            .store()
            .write(move |c| Box::pin(async move { repo::claim(c, &worker_name, now, lease_until, batch).await }))
            .await?;
        let mut report = DeliveryReport { claimed: claimed.len(), ..DeliveryReport::default() };
        if claimed.is_empty() {
            return Ok(report);
        }
        // The warnings of this round, read once.
        let mut warnings: HashMap<i64, Arc<WarningRow>> = HashMap::new();
        let mut secrets: HashMap<i64, Option<String>> = HashMap::new();
        {
            let mut reader = self.kernel.store().reader().await?;
            for delivery in &claimed {
                if !warnings.contains_key(&delivery.warning_id)
                    && let Some(row) = repo::get_warning(&mut reader.conn(), delivery.warning_id).await?
                {
                    warnings.insert(delivery.warning_id, Arc::new(row));
                }
                if delivery.channel == "webhook" && !secrets.contains_key(&delivery.recipient_id) {
                    secrets
                        .insert(delivery.recipient_id, repo::organization_webhook_secret(&mut reader.conn(), delivery.recipient_id).await?);
                }
            }
        }
        let key = self.ack_key().await?;
        let date = jiff::Timestamp::from_millisecond(now)
            .ok()
            .map(|t| jiff::fmt::rfc2822::to_string(&t.to_zoned_datetime(jiff::tz::TimeZone::UTC)).unwrap_or_default())
            .unwrap_or_default();
        let timeout = Duration::from_secs(config.timeout_seconds.max(1));
        let lease_ms = config.lease_seconds.max(5) * 1000;
        // Outcomes are recorded as soon as they are known: each send waits until its outcome is committed, so a crash
        // re-sends only what was in flight at that moment — at most `concurrency` messages. The outcomes that arrive
        // while a write is committing go together in the next one.
        let (record_tx, mut record_rx) =
            tokio::sync::mpsc::unbounded_channel::<(i64, Attempt, tokio::sync::oneshot::Sender<Result<(), AppError>>)>();
        let recorder = async {
            while let Some(first) = record_rx.recv().await {
                let mut pending = vec![first];
                while let Ok(next) = record_rx.try_recv() {
                    pending.push(next);
                }
                let outcomes: Vec<(i64, Attempt)> = pending.iter().map(|(id, attempt, _)| (*id, attempt.clone())).collect();
                let worker_name = worker.to_string();
                let written =
                    self.kernel.store().write(move |c| Box::pin(async move { repo::record(c, &worker_name, &outcomes).await })).await;
                for (_, _, reply) in pending {
                    let _ = reply.send(written.as_ref().map(|_| ()).map_err(|error| AppError::Unavailable(error.to_string())));
                }
            }
        };
        // The rows this worker holds and has not finished: their leases are renewed while it works on them. A row
        // the renewal no longer finds (cancelled, or taken over after a renewal came too late) is not sent; nothing
        // is started once the lease may have run out, nor after an outcome could not be recorded — those rows are
        // due again when their lease runs out, and only what was in flight can be handed over twice.
        let unfinished: std::sync::Mutex<std::collections::HashSet<i64>> = std::sync::Mutex::new(claimed.iter().map(|d| d.id).collect());
        let lost: std::sync::Mutex<std::collections::HashSet<i64>> = std::sync::Mutex::default();
        let lease_deadline = std::sync::atomic::AtomicI64::new(lease_until);
        let halted = std::sync::atomic::AtomicBool::new(false);
        let (key, date, config_ref, unfinished_ref) = (&key, &date, &config, &unfinished);
        let (lost_ref, deadline_ref, halted_ref) = (&lost, &lease_deadline, &halted);
        let sends = claimed.into_iter().map(move |delivery| {
            let warning = warnings.get(&delivery.warning_id).cloned();
            let secret = secrets.get(&delivery.recipient_id).cloned().flatten();
            let (config, unfinished, record_tx) = (config_ref, unfinished_ref, record_tx.clone());
            async move {
                let id = delivery.id;
                // A margin of a second: a send that starts must be recorded while the lease still holds.
                let expiring = self.kernel.now_ms() + 1000 >= deadline_ref.load(std::sync::atomic::Ordering::SeqCst);
                let lost = lost_ref.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&id);
                if expiring || lost || halted_ref.load(std::sync::atomic::Ordering::SeqCst) {
                    unfinished.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
                    return (Counted::Skipped, Ok(()));
                }
                let outcome = match warning {
                    None => Sent::Failed("the warning no longer exists".into()),
                    Some(warning) if warning.fields.expires_at <= now && warning.fields.msg_type != "Cancel" => {
                        Sent::Failed("the warning expired before it could be delivered".into())
                    }
                    Some(warning) => self.send_one(&delivery, &warning, secret.as_deref(), key, date, config, transports, timeout).await,
                };
                let done_at = self.kernel.now_ms();
                let attempt = match &outcome {
                    Sent::Accepted => Attempt::Delivered(done_at),
                    Sent::Retry(error) if delivery.attempts + 1 < config.max_attempts => {
                        let wait = (config.retry_base_seconds.max(1) << delivery.attempts.clamp(0, 20)).min(3600);
                        Attempt::Retry { error: error.clone(), at_ms: done_at + wait * 1000 }
                    }
                    Sent::Retry(error) | Sent::Failed(error) => Attempt::GiveUp { error: error.clone() },
                };
                let counted = match &attempt {
                    Attempt::Delivered(_) => Counted::Delivered,
                    Attempt::Retry { .. } => Counted::Retried,
                    Attempt::GiveUp { .. } => Counted::Failed,
                };
                let (reply, recorded) = tokio::sync::oneshot::channel();
                let recorded = match record_tx.send((id, attempt, reply)) {
                    Ok(()) => recorded.await.unwrap_or_else(|_| Err(AppError::Internal("the recorder stopped".into()))),
                    Err(_) => Err(AppError::Internal("the recorder stopped".into())),
                };
                if recorded.is_err() {
                    halted_ref.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                unfinished.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&id);
                (counted, recorded)
            }
        });
        let work = futures_util::stream::iter(sends).buffer_unordered(config.concurrency.max(1)).collect::<Vec<_>>();
        // While the round works, its unfinished rows' leases are renewed every third of a lease; a worker that dies
        // stops renewing, and another node takes its rows over when the lease runs out.
        let renew = async {
            loop {
                tokio::time::sleep(Duration::from_millis((lease_ms / 3).max(1000) as u64)).await;
                let ids: Vec<i64> = unfinished.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().copied().collect();
                if ids.is_empty() {
                    continue;
                }
                let (worker_name, until) = (worker.to_string(), self.kernel.now_ms() + lease_ms);
                let asked = ids.clone();
                match self
                    .kernel
                    .store()
                    .write(move |c| Box::pin(async move { repo::renew_leases(c, &worker_name, &asked, until).await }))
                    .await
                {
                    Ok(renewed) => {
                        let renewed: std::collections::HashSet<i64> = renewed.into_iter().collect();
                        lost.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .extend(ids.into_iter().filter(|id| !renewed.contains(id)));
                        lease_deadline.store(until, std::sync::atomic::Ordering::SeqCst);
                    }
                    Err(error) => tracing::warn!(%error, "renewing delivery leases failed"),
                }
            }
        };
        let results = tokio::select! {
            results = work => results,
            _ = renew => unreachable!("renewing never ends"),
            _ = recorder => unreachable!("the recorder ends only after every send"),
        };
        let mut first_error = None;
        for (counted, recorded) in results {
            match counted {
                Counted::Delivered => report.delivered += 1,
                Counted::Retried => report.retried += 1,
                Counted::Failed => report.failed += 1,
                Counted::Skipped => {}
            }
            if let Err(error) = recorded {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_one(
        &self,
        delivery: &Delivery,
        warning: &WarningRow,
        secret: Option<&str>,
        key: &[u8],
        date: &str,
        config: &super::DeliveryConfig,
        transports: &Transports,
        timeout: Duration,
    ) -> Sent {
        let locale = Locale::from_tag(&delivery.language).unwrap_or(Locale::ZhCn);
        let Some(letter) = kind_letter(&delivery.recipient_kind) else { return Sent::Failed("unknown recipient kind".into()) };
        let tag = Self::ack_mac(key, warning.id, letter, delivery.recipient_id).finalize().into_bytes();
        let ack_url =
            format!("{}/ack/{}.{letter}{}.{}", self.kernel.public_url(), warning.id, delivery.recipient_id, crate::util::hex(&tag[..16]));
        let key_header = format!("gridline-delivery-{}", delivery.id);
        let text = message_text(warning, locale, &ack_url);
        match delivery.channel.as_str() {
            // In-app: the account's inbox is the outbox row itself; it is delivered once recorded.
            "inapp" => Sent::Accepted,
            "sms" => {
                let Some(url) = config.sms_gateway_url.as_deref().and_then(HttpUrl::parse) else {
                    return Sent::Failed("no SMS gateway is configured ([delivery] sms_gateway_url)".into());
                };
                let body = serde_json::json!({ "to": delivery.target, "text": text, "id": key_header });
                let headers = [("content-type", "application/json".to_string()), ("idempotency-key", key_header.clone())];
                transport::http_outcome(transports.http.post(&url, &headers, Bytes::from(body.to_string()), timeout).await)
            }
            "email" => {
                let Some(server) = config.smtp_server.as_deref() else {
                    return Sent::Failed("no SMTP relay is configured ([delivery] smtp_server)".into());
                };
                let subject = headline(warning, locale);
                let body = email_body(warning, locale, &ack_url);
                let message_id = format!("{key_header}@gridline");
                let email =
                    Email { from: &config.smtp_from, to: &delivery.target, subject: &subject, body: &body, message_id: &message_id, date };
                transport::send_email(server, &email, timeout).await
            }
            "webhook" => {
                let Some(url) = HttpUrl::parse(&delivery.target) else {
                    return Sent::Failed(format!("not an http:// webhook address: {}", delivery.target));
                };
                let f = &warning.fields;
                let body = serde_json::json!({
                    "delivery_id": delivery.id,
                    "idempotency_key": key_header,
                    "warning": {
                        "id": warning.id, "identifier": f.identifier, "sender": f.sender, "status": f.cap_status, "msg_type": f.msg_type,
                        "level": f.level, "hazard": f.event, "headline_zh": f.headline_zh, "headline_en": f.headline_en,
                        "instruction_zh": f.instruction_zh, "area_desc": f.area_desc, "effective_at": rfc3339(f.effective_at),
                        "expires_at": rfc3339(f.expires_at), "sent_at": f.sent_at.map(rfc3339),
                    },
                    "ack_url": ack_url,
                    "cap": f.cap_xml,
                })
                .to_string();
                let mut headers = vec![
                    ("content-type", "application/json".to_string()),
                    ("idempotency-key", key_header.clone()),
                    ("x-gridline-delivery", delivery.id.to_string()),
                ];
                if let Some(secret) = secret {
                    headers.push(("x-gridline-signature", transport::signature(secret, body.as_bytes())));
                }
                transport::http_outcome(transports.http.post(&url, &headers, Bytes::from(body), timeout).await)
            }
            other => Sent::Failed(format!("unknown channel {other}")),
        }
    }

    /// Runs the delivery worker until `stop` turns true: finishes enqueuing left unfinished, then delivers
    /// whatever is due, sleeping when there is nothing to do until woken or a second has passed.
    pub async fn run_delivery_worker(&self, worker: String, mut stop: tokio::sync::watch::Receiver<bool>) {
        if let Err(error) = self.resume_enqueuing().await {
            tracing::error!(%error, "resuming unfinished enqueuing failed");
        }
        let transports = Transports::new();
        loop {
            if *stop.borrow() {
                return;
            }
            match self.deliver_round(&worker, &transports).await {
                Ok(report) if report.claimed > 0 => {
                    tracing::debug!(?report, "delivery round");
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "delivery round failed"),
            }
            tokio::select! {
                _ = self.delivery_woken() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// How an attempt counts in a round's report.
enum Counted {
    Delivered,
    Retried,
    Failed,
    /// Not sent: the row was lost, the lease might have run out, or recording had failed; it is due again later.
    Skipped,
}

fn headline(warning: &WarningRow, locale: Locale) -> String {
    match (locale, &warning.fields.headline_en) {
        (Locale::En, Some(en)) => en.clone(),
        _ => warning.fields.headline_zh.clone(),
    }
}

fn instruction(warning: &WarningRow, locale: Locale) -> String {
    match (locale, &warning.fields.instruction_en) {
        (Locale::En, Some(en)) => en.clone(),
        _ => warning.fields.instruction_zh.clone(),
    }
}

fn ack_view(row: &WarningRow, locale: Locale, acknowledged: bool) -> AckView {
    AckView {
        warning_id: row.id,
        headline: headline(row, locale),
        instruction: instruction(row, locale),
        level: row.fields.level.clone(),
        level_label: i18n::lookup(locale, &format!("warning_level.{}", row.fields.level)).unwrap_or(&row.fields.level).to_string(),
        exercise: row.fields.cap_status != "Actual",
        acknowledged,
    }
}

/// The text of a short message: who, what, what to do, the link.
pub fn message_text(warning: &WarningRow, locale: Locale, ack_url: &str) -> String {
    let prefix =
        if warning.fields.cap_status == "Actual" { String::new() } else { i18n::text(locale, "message.exercise_prefix").to_string() };
    format!(
        "{prefix}{}",
        i18n::format(
            locale,
            "message.sms",
            &[("headline", headline(warning, locale)), ("instruction", instruction(warning, locale)), ("link", ack_url.to_string())],
        )
    )
}

fn email_body(warning: &WarningRow, locale: Locale, ack_url: &str) -> String {
    let f = &warning.fields;
    let description = match (locale, &f.description_en) {
        (Locale::En, Some(en)) => en.clone(),
        _ => f.description_zh.clone(),
    };
    let colon = i18n::text(locale, "punct.colon");
    let mut body = String::new();
    if f.cap_status != "Actual" {
        body.push_str(i18n::text(locale, "message.exercise_prefix"));
        body.push('\n');
    }
    body.push_str(&headline(warning, locale));
    body.push_str("\n\n");
    body.push_str(&description);
    body.push_str("\n\n");
    for (label, value) in [
        ("message.instruction", instruction(warning, locale)),
        ("message.area", f.area_desc.clone()),
        ("message.expires", crate::time::rfc3339(f.expires_at)),
    ] {
        body.push_str(&format!("{}{colon}{value}\n", i18n::text(locale, label)));
    }
    body.push('\n');
    body.push_str(&format!("{}{colon}{ack_url}\n", i18n::text(locale, "message.confirm")));
    body
}
