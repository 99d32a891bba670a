//! The live event stream (Server-Sent Events), the audit log, health and metrics.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use app::audit::{AuditParams, AuditView};
use app::context::Credential;
use app::events::{EventView, event_filter};
use app::{App, Context};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use store::events::EventFilter;
use tokio::sync::watch;

use crate::extract::{Caller, QueryParams, session_token};
use crate::problem::{ApiResult, Problem, WithLocale};

/// `?after=` to start after an event (or send `Last-Event-ID`); `?limit=` for JSON pages.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Start after this sequence number. Default for a stream: only new events; for JSON: from the start.
    pub after: Option<i64>,
    /// For JSON pages: at most this many (1–1000, default 100).
    pub limit: Option<i64>,
    /// Only events about this kind of subject (`member`, `jurisdiction`, …).
    pub subject_type: Option<String>,
    /// Only events about this subject id.
    pub subject_id: Option<String>,
}

/// How often (in the application's clock) a stream re-checks that its credential is still valid, so a revoked
/// token or an ended session stops receiving within this time.
const REVALIDATE_EVERY_MS: i64 = 15_000;
/// How often a quiet stream looks for events written by other processes on SQLite (PostgreSQL notifies).
const POLL_EVERY: Duration = Duration::from_secs(2);

struct StreamState {
    app: App,
    ctx: Context,
    filter: EventFilter,
    last: i64,
    buffer: VecDeque<EventView>,
    notifications: watch::Receiver<i64>,
    credential_token: Option<String>,
    last_check_ms: i64,
}

impl StreamState {
    async fn still_valid(&mut self) -> bool {
        let now = self.app.now_ms();
        if now - self.last_check_ms < REVALIDATE_EVERY_MS {
            return true;
        }
        self.last_check_ms = now;
        let Some(token) = &self.credential_token else { return true };
        let result = match self.ctx.credential {
            Credential::ApiToken(_) => self.app.access().context_from_api_token(token, self.ctx.locale, None).await,
            Credential::Session => self.app.access().context_from_session(token, self.ctx.locale, None).await,
            _ => return true,
        };
        match result {
            Ok(ctx) => {
                // Roles may have changed: refresh what the stream may show.
                self.filter = with_subject_filters(event_filter(&ctx), &self.filter);
                self.ctx = ctx;
                true
            }
            Err(_) => false,
        }
    }
}

fn with_subject_filters(mut filter: EventFilter, previous: &EventFilter) -> EventFilter {
    filter.subject_type = previous.subject_type.clone();
    filter.subject_id = previous.subject_id.clone();
    filter
}

fn sse_event(view: &EventView) -> Event {
    Event::default()
        .id(view.seq.to_string())
        .event(view.kind.clone())
        .json_data(view)
        .unwrap_or_else(|_| Event::default().comment("unserialisable event"))
}

fn stream(state: StreamState) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(view) = state.buffer.pop_front() {
                return Some((Ok(sse_event(&view)), state));
            }
            if !state.still_valid().await {
                return None;
            }
            match state.app.events().events_after(&state.ctx, state.last, &state.filter, 200).await {
                Ok(events) if !events.is_empty() => {
                    state.last = events.last().map(|e| e.seq).unwrap_or(state.last);
                    state.buffer.extend(events);
                }
                Ok(_) => {
                    // Nothing visible yet: skip ahead to the latest sequence so invisible events are not re-read,
                    // then wait for a notification or the poll interval.
                    let latest = *state.notifications.borrow_and_update();
                    if latest > state.last {
                        state.last = latest;
                        continue;
                    }
                    tokio::select! {
                        changed = state.notifications.changed() => {
                            if changed.is_err() {
                                return None;
                            }
                        }
                        _ = tokio::time::sleep(POLL_EVERY) => {}
                    }
                }
                Err(_) => tokio::time::sleep(POLL_EVERY).await,
            }
        }
    })
}

/// One Server-Sent Event of the stream: its `id` (the sequence number to resume after with `Last-Event-ID`), its
/// `event` (the kind, such as `member.updated`) and its `data` (an `EventView` as JSON text).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ServerSentEvent {
    /// The event's sequence number.
    pub id: String,
    /// The kind of event.
    pub event: String,
    /// The event, an `EventView` as JSON text.
    pub data: String,
}

/// The event stream: Server-Sent Events of every change the caller may see, resumable with `Last-Event-ID`.
/// With `Accept: application/json`, a page of past events instead.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventParams),
    responses((status = 200, description = "A stream of EventView as Server-Sent Events, or (with Accept: application/json) a JSON array",
        content((Vec<EventView> = "application/json"), (ServerSentEvent = "text/event-stream"))), (status = 401, body = Problem)))]
pub async fn events(
    State(app): State<App>,
    Caller(ctx): Caller,
    headers: HeaderMap,
    QueryParams(params): QueryParams<EventParams>,
) -> ApiResult<Response> {
    let mut filter = event_filter(&ctx);
    filter.subject_type = params.subject_type.clone();
    filter.subject_id = params.subject_id.clone();
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/event-stream"));
    if wants_json {
        let limit = params.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            let invalid = domain::Invalid::new("limit", domain::InvalidReason::OutOfRange { min: "1".into(), max: "1000".into() });
            return Err(Problem::from_app(&invalid.into(), ctx.locale));
        }
        let after = resume.or(params.after).unwrap_or(0);
        let events = app.events().events_after(&ctx, after, &filter, limit).await.localized(ctx.locale)?;
        return Ok(Json(events).into_response());
    }
    let start = match resume.or(params.after) {
        Some(after) => after,
        None => app.events().latest_event_seq().await.localized(ctx.locale)?,
    };
    let credential_token = match ctx.credential {
        Credential::ApiToken(_) => {
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string)
        }
        Credential::Session => {
            let mut request = axum::http::Request::new(());
            *request.headers_mut() = headers.clone();
            let (parts, _) = request.into_parts();
            session_token(&parts).map(str::to_string)
        }
        _ => None,
    };
    let state = StreamState {
        last_check_ms: app.now_ms(),
        notifications: app.store().event_notifications(),
        app,
        ctx,
        filter,
        last: start,
        buffer: VecDeque::new(),
        credential_token,
    };
    let mut response = Sse::new(stream(state)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response();
    // Tell proxies not to buffer the stream.
    response.headers_mut().insert("x-accel-buffering", header::HeaderValue::from_static("no"));
    Ok(response)
}

/// The audit log, newest first (administrators, auditors).
#[utoipa::path(get, path = "/api/v1/audit", tag = "events", params(AuditParams), responses((status = 200, body = Vec<AuditView>), (status = 403, body = Problem)))]
pub async fn audit(
    State(app): State<App>,
    Caller(ctx): Caller,
    QueryParams(params): QueryParams<AuditParams>,
) -> ApiResult<Json<Vec<AuditView>>> {
    app.audit().list_audit(&ctx, &params).await.localized(ctx.locale).map(Json)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "ready"), (status = 503, body = Problem)))]
pub async fn readyz(State(app): State<App>) -> Response {
    // The store's health probe answers at once (PostgreSQL is probed every second); a live ping confirms.
    let ready = if app.store().is_reachable() {
        match tokio::time::timeout(std::time::Duration::from_secs(3), app.store().ping()).await {
            Ok(result) => result,
            Err(_) => Err(store::StoreError::Unavailable("no answer within 3 s".into())),
        }
    } else {
        app.store().ping().await
    };
    match ready {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            let locale = app.config().default_locale;
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", locale, error.to_string()).into_response()
        }
    }
}
