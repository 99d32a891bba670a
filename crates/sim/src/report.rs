//! The results: a table for the terminal, `metrics.json`, and `report.html` with the timeline chart.

use std::fmt::Write as _;

use crate::metrics::Metrics;
use crate::scenario::Scenario;

/// One row of the table: (key, English label, Chinese label, how to show a run's value).
type Row = (&'static str, &'static str, &'static str, fn(&Metrics) -> String);

fn minutes(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |m| format!("{m:.1}"))
}

const ROWS: &[Row] = &[
    ("warning_drafted_by_rule_min", "warning drafted by the gauge's rule (min)", "监测规则起草预警（越限后分钟）", |m| {
        minutes(m.warning_drafted_by_rule_min)
    }),
    ("warning_issued_min", "warning issued (min after threshold)", "预警发布（越限后分钟）", |m| minutes(m.warning_issued_min)),
    ("vulnerable_households", "vulnerable households warned", "受预警重点人群户数", |m| m.vulnerable_households.to_string()),
    ("vulnerable_90pct_reached_min", "90% of them reached (min)", "90% 已触达（分钟）", |m| minutes(m.vulnerable_90pct_reached_min)),
    ("vulnerable_all_reached_min", "all of them reached (min)", "全部触达（分钟）", |m| minutes(m.vulnerable_all_reached_min)),
    ("vulnerable_never_reached", "never reached in the scenario", "演练结束仍未触达", |m| m.vulnerable_never_reached.to_string()),
    ("first_task_acknowledged_min", "first task acknowledged (min)", "首个任务确认（分钟）", |m| {
        minutes(m.first_task_acknowledged_min)
    }),
    ("all_tasks_acknowledged_min", "all tasks acknowledged (min)", "全部任务确认（分钟）", |m| {
        minutes(m.all_tasks_acknowledged_min)
    }),
    ("tasks", "tasks", "任务数", |m| m.tasks.to_string()),
    ("overdue_tasks", "overdue tasks", "逾期任务", |m| m.overdue_tasks.to_string()),
    ("reports", "reports received", "收到报告", |m| m.reports.to_string()),
    ("duplicate_reports_merged", "duplicate reports merged", "合并的重复报告", |m| m.duplicate_reports_merged.to_string()),
    ("proposals_declined", "merge proposals declined (another place)", "驳回的合并建议（不同地点）", |m| {
        m.proposals_declined.to_string()
    }),
    ("incidents_responded", "incidents responded to", "启动响应的事件", |m| m.incidents_responded.to_string()),
    ("first_responder_travel_p50_min", "first responder travel, median (min)", "首位处置人员路程中位数（分钟）", |m| {
        minutes(m.first_responder_travel_p50_min)
    }),
    ("first_responder_travel_p90_min", "first responder travel, p90 (min)", "首位处置人员路程 P90（分钟）", |m| {
        minutes(m.first_responder_travel_p90_min)
    }),
    ("texts_delivered", "warning texts delivered (tracked)", "预警短信送达（可追踪）", |m| m.texts_delivered.to_string()),
    ("deliveries_failed", "e-mails not delivered (drill has no SMTP)", "投递失败（邮件：演练未配置邮件服务器）", |m| {
        m.deliveries_failed.to_string()
    }),
    ("residents_acknowledged", "acknowledged by households", "住户确认收到", |m| m.residents_acknowledged.to_string()),
    ("door_knocks", "door-knock tasks", "上门确认任务", |m| m.door_knocks.to_string()),
    ("actions_by_hand", "coordination actions by hand (calls, clicks)", "人工协调操作（电话、点击）", |m| {
        m.actions_by_hand.to_string()
    }),
    ("actions_automatic", "actions done by the system", "系统自动完成", |m| m.actions_automatic.to_string()),
];

/// The side-by-side table, in the language asked for (`zh` for Chinese).
pub fn table(scenario: &Scenario, integrated: Option<&Metrics>, siloed: Option<&Metrics>, zh: bool) -> String {
    let mut out = String::new();
    let title = if zh { &scenario.title.zh } else { &scenario.title.en };
    let _ = writeln!(out, "{title}");
    let (a, b) = if zh { ("一体化（网格应急）", "各自为战（模型）") } else { ("integrated (Gridline)", "siloed (model)") };
    let _ = writeln!(out, "{:<44} {:>22} {:>18}", if zh { "指标" } else { "metric" }, a, b);
    for (_, en, zh_label, show) in ROWS {
        let label = if zh { zh_label } else { en };
        let left = integrated.map_or_else(|| "—".into(), show);
        let right = siloed.map_or_else(|| "—".into(), show);
        let _ = writeln!(out, "{label:<44} {left:>22} {right:>18}");
    }
    out
}

/// `metrics.json`.
pub fn json(scenario: &Scenario, seed: u64, integrated: Option<&Metrics>, siloed: Option<&Metrics>) -> serde_json::Value {
    serde_json::json!({"scenario": scenario.name, "seed": seed, "integrated": integrated, "siloed": siloed})
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The timeline chart: the share of vulnerable households reached over time, both runs, with the warning marked.
fn chart(scenario: &Scenario, integrated: Option<&Metrics>, siloed: Option<&Metrics>) -> String {
    let (w, h, left, bottom) = (760.0, 320.0, 56.0, 40.0);
    let span = (scenario.duration_minutes - scenario.sensor.crossing().unwrap_or(0.0)).max(1.0);
    let x = |m: f64| left + (m.clamp(0.0, span) / span) * (w - left - 16.0);
    let y = |share: f64| (h - bottom) - share.clamp(0.0, 1.0) * (h - bottom - 16.0);
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-labelledby="chart-title" class="chart"><title id="chart-title">Vulnerable households reached over time</title>"##
    );
    for share in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y0}" y2="{y0}" stroke="#ddd"/><text x="{}" y="{}" font-size="11" text-anchor="end">{}%</text>"##,
            w - 16.0,
            left - 6.0,
            y(share) + 4.0,
            (share * 100.0) as i32,
            y0 = y(share)
        );
    }
    let step = if span > 180.0 { 60.0 } else { 30.0 };
    let mut m = 0.0;
    while m <= span {
        let _ = write!(svg, r##"<text x="{}" y="{}" font-size="11" text-anchor="middle">{m:.0}</text>"##, x(m), h - bottom + 16.0);
        m += step;
    }
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" font-size="11" text-anchor="middle">minutes after the threshold / 越限后分钟</text>"##,
        (w + left) / 2.0,
        h - 6.0
    );
    for (metrics, color, label) in [(integrated, "#1565c0", "integrated"), (siloed, "#c62828", "siloed")] {
        let Some(metrics) = metrics else { continue };
        let mut points = format!("{},{}", x(0.0), y(0.0));
        let mut last = 0.0;
        for (t, share) in &metrics.reached_curve {
            let _ = write!(points, " {},{} {},{}", x(*t), y(last), x(*t), y(*share));
            last = *share;
        }
        let _ = write!(points, " {},{}", x(span), y(last));
        let _ =
            write!(svg, r##"<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"><title>{label}</title></polyline>"##);
        if let Some(issued) = metrics.warning_issued_min {
            let _ = write!(
                svg,
                r##"<line x1="{0}" x2="{0}" y1="16" y2="{1}" stroke="{color}" stroke-dasharray="4 3"><title>{label}: warning issued</title></line>"##,
                x(issued),
                h - bottom
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// `report.html`: the table in both languages and the chart, self-contained (no outside files).
pub fn html(scenario: &Scenario, seed: u64, speed: f64, integrated: Option<&Metrics>, siloed: Option<&Metrics>) -> String {
    let mut rows = String::new();
    for (key, en, zh, show) in ROWS {
        let left = integrated.map_or_else(|| "—".into(), show);
        let right = siloed.map_or_else(|| "—".into(), show);
        let _ = write!(
            rows,
            "<tr data-metric=\"{key}\"><th scope=\"row\">{} <span lang=\"zh-CN\">{}</span></th><td>{}</td><td>{}</td></tr>",
            escape(en),
            escape(zh),
            escape(&left),
            escape(&right)
        );
    }
    format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gridline drill: {title_en}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:2rem auto;max-width:52rem;padding:0 1rem;color:#1d2733}}
table{{border-collapse:collapse;width:100%}}th,td{{padding:.35rem .5rem;border-bottom:1px solid #e3e7ec;text-align:left}}td{{text-align:right;font-variant-numeric:tabular-nums}}
th span{{color:#5a6b7b;font-weight:normal;display:block;font-size:.9em}}.chart{{width:100%;height:auto;margin:1rem 0}}.legend span{{display:inline-block;margin-right:1rem}}
.integrated{{color:#1565c0}}.siloed{{color:#c62828}}</style></head>
<body><h1>{title_en} <span lang="zh-CN">{title_zh}</span></h1>
<p>Scenario <code>{name}</code>, seed {seed}, run at {speed}× real time. Times are minutes after the sensor first crossed its threshold. The integrated run is Gridline itself, driven through its API; the siloed run is a model of the same events without integration (see <code>crates/sim/model.yaml</code>).</p>
<p lang="zh-CN">时间为传感器首次越限后的分钟数。一体化结果由网格应急系统本身经其 API 运行得出；各自为战结果是同一事件在无系统协同时的模型推算。</p>
<h2>Vulnerable households reached <span lang="zh-CN">重点人群触达</span></h2>
<p class="legend"><span class="integrated">━ integrated 一体化</span><span class="siloed">━ siloed 各自为战</span> (dashed: warning issued 虚线：预警发布)</p>
{chart}
<h2>Metrics <span lang="zh-CN">指标</span></h2>
<table><thead><tr><th scope="col">metric 指标</th><th scope="col">integrated 一体化</th><th scope="col">siloed 各自为战</th></tr></thead><tbody>{rows}</tbody></table>
</body></html>
"##,
        title_en = escape(&scenario.title.en),
        title_zh = escape(&scenario.title.zh),
        name = escape(&scenario.name),
        chart = chart(scenario, integrated, siloed),
    )
}
