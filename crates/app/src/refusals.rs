//! Refusals of anonymous callers are counted and sampled, not each written: otherwise anyone could grow the audit
//! log without limit by sending refused requests (an audit-flooding lever). Per kind of refusal (action, object,
//! reason) the first few of each minute are written as usual; the rest are counted, and the count is written as one
//! record when the minute is over (on the next refusal of that kind, or on the escalation beat). Refusals of
//! signed-in callers are always written one by one: they name someone who answers for them.

use std::collections::HashMap;
use std::sync::Mutex;

use store::audit::NewAudit;

/// Refusals of one kind written in full per window.
pub const SAMPLED_PER_WINDOW: u32 = 5;
/// The window, in milliseconds.
pub const WINDOW_MS: i64 = 60_000;

#[derive(Debug, Default, Clone)]
struct Window {
    start_ms: i64,
    written: u32,
    suppressed: u64,
    last_ms: i64,
}

/// The counts of anonymous refusals, by kind.
#[derive(Debug, Default)]
pub struct RefusalSampler {
    windows: Mutex<HashMap<(String, String, String), Window>>,
}

/// What to write for an anonymous refusal.
#[derive(Debug, Default)]
pub struct Admitted {
    /// The refusal itself, if it is one of the sampled ones.
    pub record: bool,
    /// The count of an earlier window that ended, to write as a summary.
    pub summary: Option<NewAudit>,
}

fn summary(key: &(String, String, String), window: &Window) -> NewAudit {
    NewAudit {
        at_ms: window.last_ms,
        actor_account: None,
        actor_label: "anonymous".into(),
        action: key.0.clone(),
        object_type: key.1.clone(),
        object_id: None,
        allowed: false,
        reason: key.2.clone(),
        purpose: String::new(),
        details: serde_json::json!({
            "suppressed": window.suppressed, "from": crate::time::rfc3339(window.start_ms), "to": crate::time::rfc3339(window.last_ms),
            "note": "further anonymous refusals of this kind in this minute, counted and not written one by one",
        }),
    }
}

impl RefusalSampler {
    /// Counts a refusal of `record`'s kind at `now_ms`; says whether to write it, and any summary now due.
    pub fn admit(&self, record: &NewAudit, now_ms: i64) -> Admitted {
        let key = (record.action.clone(), record.object_type.clone(), record.reason.clone());
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = windows.entry(key.clone()).or_insert_with(|| Window { start_ms: now_ms, ..Window::default() });
        let mut admitted = Admitted::default();
        if now_ms - window.start_ms >= WINDOW_MS {
            if window.suppressed > 0 {
                admitted.summary = Some(summary(&key, window));
            }
            *window = Window { start_ms: now_ms, ..Window::default() };
        }
        window.last_ms = now_ms;
        if window.written < SAMPLED_PER_WINDOW {
            window.written += 1;
            admitted.record = true;
        } else {
            window.suppressed += 1;
        }
        admitted
    }

    /// The summaries of windows that are over (called on the escalation beat), each reset.
    pub fn due(&self, now_ms: i64) -> Vec<NewAudit> {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut due = Vec::new();
        windows.retain(|key, window| {
            if now_ms - window.start_ms < WINDOW_MS {
                return true;
            }
            if window.suppressed > 0 {
                due.push(summary(key, window));
            }
            false
        });
        due
    }
}
