//! Prepares a database for the report-intake benchmark (`bench/incidents/run.sh`): a city with a boundary, and N
//! open incidents spread over it (each from a report, as the API would make them), so that de-duplication has
//! something to compare every new report with.
//!
//!   cargo run --release -p app --example seed_incidents -- --data-dir DIR --incidents 10000
//!   cargo run --release -p app --example seed_incidents -- --database postgres://… --incidents 10000

use std::sync::Arc;

use app::incidents::ReportInput;
use app::{App, Config, Context, SystemClock};
use domain::Locale;
use store::{Location, Options, Store};

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// The kinds reported, as the benchmark's clients report them.
pub const KINDS: &[(&str, &str)] = &[
    ("natural_disaster", "urban_waterlogging"),
    ("accident_disaster", "building_fire"),
    ("accident_disaster", "gas_leak"),
    ("accident_disaster", "road_traffic"),
    ("accident_disaster", "water_main_burst"),
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = argument("--incidents").unwrap_or_else(|| "10000".into()).parse()?;
    let location = match (argument("--database"), argument("--data-dir")) {
        (Some(url), _) => Location::Postgres(url),
        (None, Some(dir)) => Location::SqliteFile(std::path::Path::new(&dir).join("gridline.db")),
        (None, None) => return Err("give --data-dir DIR or --database URL".into()),
    };
    let store = Store::open(Options::new(location)).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock), Config::default());
    let ctx = Context::system("bench", Locale::ZhCn);
    let boundary = serde_json::json!({"type": "MultiPolygon", "coordinates": [[[[121.2, 31.0], [121.7, 31.0], [121.7, 31.4], [121.2, 31.4], [121.2, 31.0]]]]});
    let city = app
        .registry()
        .create_jurisdiction(
            &ctx,
            serde_json::from_value(serde_json::json!({"level": "city", "code": "310000", "name_zh": "上海市", "boundary": boundary}))?,
        )
        .await?;
    let started = std::time::Instant::now();
    let mut seed: u64 = 42;
    let mut random = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    // Several reports at once: the writer commits them together, as it does for concurrent clients.
    let mut pending = Vec::new();
    for index in 0..count {
        let (category, subtype) = KINDS[index % KINDS.len()];
        let input = ReportInput {
            category: category.into(),
            subtype: subtype.into(),
            description: format!("seeded incident {index}"),
            lon: 121.21 + random() * 0.48,
            lat: 31.01 + random() * 0.38,
            channel_key: Some(format!("seed-{index}")),
            ..ReportInput::default()
        };
        let (app, ctx) = (app.clone(), ctx.clone());
        pending.push(tokio::spawn(async move { app.incidents().submit_report(&ctx, "api", input).await.map(|_| ()) }));
        if pending.len() == 64 {
            for task in pending.drain(..) {
                task.await??;
            }
        }
    }
    for task in pending {
        task.await??;
    }
    println!("{}", serde_json::json!({"city_id": city.id, "incidents": count, "seconds": started.elapsed().as_secs_f64()}));
    store.close().await;
    Ok(())
}
