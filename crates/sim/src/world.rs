//! The simulated city: a fresh demo (same extract, same seed), an in-process Gridline on a simulated clock, the
//! SMS gateway its texts go to, and what the synthetic people know about themselves (where they live, who is
//! vulnerable, where each member is based).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::{App, ManualClock};
use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::Value;
use spatial::osm::OsmData;
use tower::ServiceExt;

/// A household as its residents know it.
#[derive(Debug, Clone)]
pub struct Household {
    pub at: [f64; 2],
    pub vulnerable: bool,
    /// The community (the parent of its grid).
    pub community: i64,
}

/// A member: where they are based, and what they act for.
#[derive(Debug, Clone)]
pub struct Member {
    pub base: [f64; 2],
    pub organization_id: Option<i64>,
}

/// A text the SMS gateway received.
#[derive(Debug, Clone)]
pub struct Text {
    pub text: String,
}

/// An answer from the API.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// The running world.
pub struct World {
    pub app: App,
    pub router: axum::Router,
    pub clock: Arc<ManualClock>,
    pub texts: Arc<Mutex<Vec<Text>>>,
    pub households: HashMap<i64, Household>,
    pub members: HashMap<i64, Member>,
    pub data: OsmData,
    pub city_id: i64,
    /// The first organization of each sector.
    pub sectors: HashMap<String, i64>,
    pub tokens: HashMap<String, String>,
    /// Every API call made, by who made it (`officer`, `approver`, `resident`, `member`…).
    pub calls: HashMap<String, usize>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("World")
    }
}

async fn sms_gateway(texts: Arc<Mutex<Vec<Text>>>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let router = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |body: axum::body::Bytes| {
            let texts = texts.clone();
            async move {
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let text = value["text"].as_str().unwrap_or_default().to_string();
                if let Ok(mut texts) = texts.lock() {
                    texts.push(Text { text });
                }
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(format!("http://{address}/sms"))
}

impl World {
    /// Builds the demo city for `seed` in a temporary directory and starts Gridline on it at `start_ms`.
    pub async fn build(seed: u64, start_ms: i64, door_knock_after_minutes: i64) -> anyhow::Result<World> {
        let dir = tempfile::tempdir()?;
        // The drill's database is thrown away afterwards: it commits without waiting for the disk.
        let mut options = store::Options::new(store::Location::SqliteFile(dir.path().join("gridline.db")));
        options.throwaway = true;
        let store = store::Store::open(options).await?;
        let clock = Arc::new(ManualClock::new(start_ms));
        let texts = Arc::new(Mutex::new(Vec::new()));
        // Password hashing is not what the simulation measures.
        let mut config = app::Config { argon2_memory_kib: 64, argon2_iterations: 1, ..app::Config::default() };
        config.delivery.sms_gateway_url = Some(sms_gateway(texts.clone()).await?);
        // A long timeout: the drill's own gateway always answers, and a wall-clock timeout must not change the run.
        config.delivery.timeout_seconds = 600;
        config.public_url = Some("http://gridline.sim".into());
        for level in ["red", "orange", "yellow", "blue"] {
            config.warnings.door_knock_after_minutes.insert(level.into(), door_knock_after_minutes);
        }
        let app = App::new(store, clock.clone(), config);
        let (data, _) = spatial::osm::import_pbf(app::demo::PORTO_PBF, &mut |_| {})?;
        app.build_demo(&data, "Porto", seed, &mut |_| {}).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let router = server::router(app.clone());
        let (households, members, city_id, sectors) = {
            let mut reader = app.store().reader().await?;
            let mut conn = reader.conn();
            let mut households = HashMap::new();
            for row in conn
                .fetch_all(
                    "SELECT h.id, h.lon, h.lat, v.id AS vulnerable, j.parent_id AS community FROM households h
                     JOIN jurisdictions j ON j.id = h.jurisdiction_id LEFT JOIN vulnerable_residents v ON v.household_id = h.id",
                    &[],
                )
                .await?
            {
                let vulnerable: Option<i64> = row.get("vulnerable")?;
                let community: Option<i64> = row.get("community")?;
                households.insert(
                    row.get("id")?,
                    Household {
                        at: [row.get("lon")?, row.get("lat")?],
                        vulnerable: vulnerable.is_some(),
                        community: community.unwrap_or_default(),
                    },
                );
            }
            let mut sectors = HashMap::new();
            for row in conn.fetch_all("SELECT id, sector FROM organizations WHERE sector IS NOT NULL ORDER BY id", &[]).await? {
                let sector: String = row.get("sector")?;
                sectors.entry(sector).or_insert(row.get::<i64>("id")?);
            }
            let mut members = HashMap::new();
            for row in conn.fetch_all("SELECT id, organization_id, base_lon, base_lat FROM members", &[]).await? {
                let lon: Option<f64> = row.get("base_lon")?;
                let lat: Option<f64> = row.get("base_lat")?;
                members.insert(
                    row.get("id")?,
                    Member { base: [lon.unwrap_or_default(), lat.unwrap_or_default()], organization_id: row.get("organization_id")? },
                );
            }
            let city: i64 =
                conn.fetch_one("SELECT id FROM jurisdictions WHERE parent_id IS NULL ORDER BY id LIMIT 1", &[]).await?.get("id")?;
            (households, members, city, sectors)
        };
        let mut world = World {
            app,
            router,
            clock,
            texts,
            households,
            members,
            data,
            city_id,
            sectors,
            tokens: HashMap::new(),
            calls: HashMap::new(),
            _dir: dir,
        };
        for username in ["officer", "admin", "resident"] {
            world.token_for_username(username).await?;
        }
        Ok(world)
    }

    async fn token_for_username(&mut self, username: &str) -> anyhow::Result<String> {
        if let Some(token) = self.tokens.get(username) {
            return Ok(token.clone());
        }
        let id: i64 = {
            let mut reader = self.app.store().reader().await?;
            let row = reader.conn().fetch_one("SELECT id FROM accounts WHERE username = $1", store::params![username]).await?;
            row.get("id")?
        };
        let ctx = app::Context::system("simulate", domain::Locale::En);
        let created = self
            .app
            .access()
            .create_api_token(&ctx, app::access::NewApiToken { name: "simulate".into(), expires_in_days: Some(30), account_id: Some(id) })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.tokens.insert(username.to_string(), created.token.clone());
        Ok(created.token)
    }

    /// The token of a member's own account (made the first time the member acts), or of a liaison of the
    /// organization when a task is owned by an organization.
    pub async fn token_for_member(&mut self, member_id: i64) -> anyhow::Result<String> {
        let username = format!("sim-member-{member_id}");
        if let Some(token) = self.tokens.get(&username) {
            return Ok(token.clone());
        }
        let ctx = app::Context::system("simulate", domain::Locale::En);
        let account = self
            .app
            .access()
            .create_account(
                &ctx,
                app::access::NewAccount {
                    username: username.clone(),
                    display_name: None,
                    password: None,
                    locale: None,
                    member_id: Some(member_id),
                    grants: Vec::new(),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let created = self
            .app
            .access()
            .create_api_token(
                &ctx,
                app::access::NewApiToken { name: "simulate".into(), expires_in_days: Some(30), account_id: Some(account.account.id) },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.tokens.insert(username, created.token.clone());
        Ok(created.token)
    }

    /// Calls the public API as `who` (a username with a token), counting the call.
    pub async fn call(&mut self, who: &str, label: &str, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Answer> {
        self.call_with(who, label, method, path, body, &[]).await
    }

    /// Like [`World::call`], with extra request headers (`If-Match` for a version).
    pub async fn call_with(
        &mut self,
        who: &str,
        label: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> anyhow::Result<Answer> {
        let token = match (self.tokens.get(who), who.strip_prefix("sim-member-").and_then(|id| id.parse::<i64>().ok())) {
            (Some(token), _) => token.clone(),
            (None, Some(member)) => self.token_for_member(member).await?,
            (None, None) => self.token_for_username(who).await?,
        };
        *self.calls.entry(label.to_string()).or_default() += 1;
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT_LANGUAGE, "en");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let body = match body {
            Some(value) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(request.body(body)?).await?;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await?;
        Ok(Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }

    /// The texts received since `from`.
    pub fn texts_since(&self, from: usize) -> Vec<Text> {
        self.texts.lock().map(|texts| texts[from.min(texts.len())..].to_vec()).unwrap_or_default()
    }
}
