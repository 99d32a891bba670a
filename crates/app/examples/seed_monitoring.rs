//! Prepares a database for the MQTT ingest benchmark (`bench/monitoring/run.sh`): a city, S rain gauges, 200 rules
//! watching them (199 that the benchmark's readings never trip, one that a "trigger" reading trips at once), and an
//! administrator token for the benchmark to read the results with (printed on stdout).
//!
//!   cargo run --release -p app --example seed_monitoring -- --data-dir DIR --sensors 100 --rules 200

use std::sync::Arc;

use app::{App, Config, Context, SystemClock};
use domain::Locale;
use store::{Location, Options, Store};

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sensors: usize = argument("--sensors").unwrap_or_else(|| "100".into()).parse()?;
    let rules: usize = argument("--rules").unwrap_or_else(|| "200".into()).parse()?;
    let dir = argument("--data-dir").ok_or("give --data-dir DIR")?;
    let store = Store::open(Options::new(Location::SqliteFile(std::path::Path::new(&dir).join("gridline.db")))).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock), Config::default());
    let ctx = Context::system("bench", Locale::En);
    let boundary = serde_json::json!({"type": "MultiPolygon", "coordinates": [[[[121.2, 31.0], [121.7, 31.0], [121.7, 31.4], [121.2, 31.4], [121.2, 31.0]]]]});
    app.registry()
        .create_jurisdiction(
            &ctx,
            serde_json::from_value(serde_json::json!({"level": "city", "code": "310000", "name_zh": "上海市", "boundary": boundary}))?,
        )
        .await?;
    for i in 0..sensors {
        let input = serde_json::json!({
            "code": format!("g{i}"), "kind": "bench_gauge", "quantity": "rainfall_1h", "unit": "mm/h",
            "lon": 121.25 + (i % 40) as f64 * 0.01, "lat": 31.05 + (i / 40) as f64 * 0.01, "interval_seconds": 1,
            "min_value": 0, "max_value": 100000,
        });
        app.monitoring().create_sensor(&ctx, serde_json::from_value(input)?).await?;
    }
    // 199 rules the steady readings (values below 1,000) never trip, one that a reading of 50,000 trips at once.
    for r in 0..rules.saturating_sub(1) {
        let rule = format!(
            "code: quiet-{r}\ntitle_zh: 基准规则{r}\nsensors: {{ kind: bench_gauge }}\ncondition: {{ above: {}, for_minutes: 5, hysteresis: 10 }}\nactions:\n  open_incident: {{ category: natural_disaster, subtype: urban_waterlogging }}\n",
            2_000 + r * 10
        );
        app.monitoring().save_rule(&ctx, &rule).await?;
    }
    app.monitoring().save_rule(
        &ctx,
        "code: trigger\ntitle_zh: 触发\nsensors: { kind: bench_gauge }\ncondition: { above: 40000, for_minutes: 0, hysteresis: 1 }\nactions:\n  open_incident: { category: natural_disaster, subtype: urban_waterlogging }\n",
    )
    .await?;
    let account = app
        .access()
        .create_account(
            &ctx,
            serde_json::from_value(
                serde_json::json!({"username": "bench", "password": "bench password 123", "grants": [{"role": "admin"}]}),
            )?,
        )
        .await?;
    let token = app
        .access()
        .create_api_token(
            &ctx,
            app::access::NewApiToken { name: "bench".into(), expires_in_days: Some(1), account_id: Some(account.account.id) },
        )
        .await?;
    println!("{}", token.token);
    store.close().await;
    Ok(())
}
