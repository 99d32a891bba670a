//! Benchmark: from "issue" to every delivery durably enqueued, for a warning over N registered households.
//! Run by `bench/warnings/run.sh`, which sets the raw bulk-insert rate of the same rows beside it.
//!
//!   cargo run --release -p app --example enqueue -- --data-dir DIR --households 100000
//!   cargo run --release -p app --example enqueue -- --database postgres://… --households 100000
//!
//! Prints one JSON line: households, deliveries, seconds to warm the targeting index (once per process), seconds
//! from the issue call to its return (targeting, the CAP document, every delivery row committed), and the rate.

use std::sync::Arc;
use std::time::Instant;

use app::warnings::WarningInput;
use app::{App, Config, Context, SystemClock};
use domain::Locale;
use store::households::HouseholdFields;
use store::{Location, Options, Store};

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let households: usize = argument("--households").unwrap_or_else(|| "100000".into()).parse()?;
    let location = match (argument("--database"), argument("--data-dir")) {
        (Some(url), _) => Location::Postgres(url),
        (None, Some(dir)) => Location::SqliteFile(std::path::Path::new(&dir).join("gridline.db")),
        (None, None) => return Err("give --data-dir DIR or --database URL".into()),
    };
    let store = Store::open(Options::new(location)).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock), Config::default());
    let ctx = Context::system("bench", Locale::ZhCn);

    // A city whose square holds every household; households on a grid inside it, each with a phone.
    let side = (households as f64).sqrt().ceil() as usize;
    let step = 0.4 / side as f64;
    let boundary = serde_json::json!({"type": "MultiPolygon", "coordinates": [[[[121.2, 31.0], [121.7, 31.0], [121.7, 31.5], [121.2, 31.5], [121.2, 31.0]]]]});
    let city = app
        .registry()
        .create_jurisdiction(
            &ctx,
            serde_json::from_value(serde_json::json!({"level": "city", "code": "310000", "name_zh": "上海市", "boundary": boundary}))?,
        )
        .await?;
    let path = domain::registry::JurisdictionPath::parse(&city.path).ok_or("path")?;
    let seeding = Instant::now();
    for chunk_start in (0..households).step_by(50_000) {
        let rows: Vec<(HouseholdFields, domain::registry::JurisdictionPath)> = (chunk_start..(chunk_start + 50_000).min(households))
            .map(|index| {
                let fields = HouseholdFields {
                    jurisdiction_id: city.id,
                    code: format!("h{index}"),
                    address: None,
                    lon: 121.25 + (index % side) as f64 * step,
                    lat: 31.05 + (index / side) as f64 * step,
                    residents: 1,
                    phone: Some(format!("1{index:010}")),
                    email: None,
                    language: "zh-CN".into(),
                };
                (fields, path.clone())
            })
            .collect();
        store.write(move |c| Box::pin(async move { store::households::upsert_households(c, &rows, 0).await })).await?;
    }
    let seeded = seeding.elapsed().as_secs_f64();

    let expires = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(24))?.to_string();
    let input: WarningInput = serde_json::from_value(serde_json::json!({
        "jurisdiction_id": city.id, "level": "red", "hazard": "typhoon", "headline_zh": "台风红色预警",
        "description_zh": "台风将于今晚登陆。", "instruction_zh": "关好门窗，留在室内。",
        "area": {"type": "Polygon", "coordinates": [[[121.21, 31.01], [121.69, 31.01], [121.69, 31.49], [121.21, 31.49], [121.21, 31.01]]]},
        "expires_at": expires,
    }))?;
    let draft = app.warnings().create_warning(&ctx, input).await?;
    let approved = app.warnings().approve_warning(&ctx, draft.id, Some(draft.version)).await?;
    // The targeting index is built once per process (here, before the issue); afterwards it follows changes.
    let warming = Instant::now();
    let preview = app.warnings().preview_reach(&ctx, draft.id).await?;
    let warm = warming.elapsed().as_secs_f64();
    assert_eq!(preview.households, households as i64);

    let issuing = Instant::now();
    let issued = app.warnings().issue_warning(&ctx, approved.id, Some(approved.version), true).await?;
    let seconds = issuing.elapsed().as_secs_f64();
    let deliveries: i64 = {
        let mut reader = store.reader().await?;
        reader.conn().fetch_one("SELECT COUNT(*) AS n FROM deliveries WHERE warning_id = $1", &[issued.id.into()]).await?.get("n")?
    };
    assert_eq!(deliveries, households as i64, "one delivery per household");
    println!(
        "{}",
        serde_json::json!({
            "backend": match store.backend() { store::Backend::Sqlite => "sqlite", store::Backend::Postgres => "postgres" },
            "households": households, "deliveries": deliveries, "seed_seconds": seeded, "index_warm_seconds": warm,
            "issue_seconds": seconds, "recipients_per_second": households as f64 / seconds, "warning_id": issued.id,
        })
    );
    store.close().await;
    Ok(())
}
