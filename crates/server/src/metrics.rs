//! Prometheus metrics without a global recorder: request counts and latency histograms by route, database
//! connection-pool figures, and the number of events written. Rendered in the text exposition format at
//! `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use app::App;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The metrics of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency.entry((method.to_string(), route.to_string())).or_default();
            for (index, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    histogram.counts[index] += 1;
                }
            }
            histogram.sum += seconds;
            histogram.count += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self, app: &App) -> String {
        let mut out = String::new();
        out.push_str("# HELP gridline_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE gridline_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "gridline_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP gridline_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE gridline_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), histogram) in latency.iter() {
                let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
                for (index, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "gridline_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                        histogram.counts[index]
                    );
                }
                let _ = writeln!(out, "gridline_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", histogram.count);
                let _ = writeln!(out, "gridline_http_request_duration_seconds_sum{{{labels}}} {}", histogram.sum);
                let _ = writeln!(out, "gridline_http_request_duration_seconds_count{{{labels}}} {}", histogram.count);
            }
        }
        let pool = app.store().pool_stats();
        out.push_str("# HELP gridline_db_pool_connections Open database connections.\n# TYPE gridline_db_pool_connections gauge\n");
        let _ = writeln!(out, "gridline_db_pool_connections {}", pool.size);
        out.push_str(
            "# HELP gridline_db_pool_idle_connections Idle database connections.\n# TYPE gridline_db_pool_idle_connections gauge\n",
        );
        let _ = writeln!(out, "gridline_db_pool_idle_connections {}", pool.idle);
        out.push_str(
            "# HELP gridline_events_total Events written to the event stream (by every node).\n# TYPE gridline_events_total counter\n",
        );
        let _ = writeln!(out, "gridline_events_total {}", *app.store().event_notifications().borrow());
        out
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware: times every request and counts it under its route template (not its raw path, so ids do not
/// explode the label set).
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_string()).unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    metrics.record(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}
