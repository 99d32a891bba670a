//! The server's integration tests: one binary, a module per topic. Requests go through the real router
//! (`tower::ServiceExt::oneshot`), the real application and a real database: SQLite, or PostgreSQL when
//! `GRIDLINE_TEST_BACKEND=postgres` (`cargo xtask test` runs the whole binary once on each). The tests in
//! `postgres` are PostgreSQL's own (a server that goes away, the same API on both).

mod access;
mod auth;
mod concurrency;
mod datasets;
mod docs;
mod events;
mod feeds;
mod incidents;
mod input;
mod monitoring;
mod postgres;
mod warnings;
mod web;

use std::sync::Arc;

use app::{App, Config, Context, ManualClock};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use domain::Locale;
use serde_json::{Value, json};
use store::testing::TestDatabase;
use tower::ServiceExt;

/// 2026-11-28T08:00:00Z.
pub const START_MS: i64 = 1_795_852_800_000;

/// A running application on a fresh database.
pub struct TestApp {
    pub app: App,
    pub router: axum::Router,
    pub clock: Arc<ManualClock>,
    pub _database: TestDatabase,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestApp")
    }
}

/// A response, its body parsed as JSON where it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Token(String),
    Session { cookie: String, csrf: Option<String> },
}

impl TestApp {
    /// On the backend `GRIDLINE_TEST_BACKEND` names: SQLite by default; `cargo xtask test` runs every test of
    /// this binary a second time on PostgreSQL.
    pub async fn new() -> TestApp {
        TestApp::on(TestDatabase::from_env().await).await
    }

    pub async fn postgres() -> TestApp {
        TestApp::on(TestDatabase::postgres().await).await
    }

    async fn on(database: TestDatabase) -> TestApp {
        TestApp::with_config(database, Config::for_tests()).await
    }

    /// An application with its own configuration (delivery channels, for example).
    pub async fn with_config(database: TestDatabase, config: Config) -> TestApp {
        let store = database.open().await.expect("open the store");
        let clock = Arc::new(ManualClock::new(START_MS));
        let app = App::new(store, clock.clone(), config);
        let router = server::router(app.clone());
        TestApp { app, router, clock, _database: database }
    }

    pub async fn request(&self, method: Method, path: &str, auth: &Auth, body: Option<Value>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path).header(header::ACCEPT_LANGUAGE, "en");
        let body = match body {
            Some(value) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        builder = match auth {
            Auth::None => builder,
            Auth::Token(token) => builder.header(header::AUTHORIZATION, format!("Bearer {token}")),
            Auth::Session { cookie, csrf } => {
                let builder = builder.header(header::COOKIE, cookie);
                match csrf {
                    Some(csrf) => builder.header("x-csrf-token", csrf),
                    None => builder,
                }
            }
        };
        self.send(builder.body(body).unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> TestResponse {
        self.request(Method::GET, path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> TestResponse {
        self.request(Method::POST, path, auth, Some(body)).await
    }

    pub async fn patch(&self, path: &str, auth: &Auth, body: Value) -> TestResponse {
        self.request(Method::PATCH, path, auth, Some(body)).await
    }

    pub fn system(&self) -> Context {
        Context::system("test", Locale::En)
    }

    /// Creates an account with the given grants and returns an API token for it.
    pub async fn account(&self, username: &str, grants: Vec<Value>, member_id: Option<i64>) -> String {
        let grants = grants.into_iter().map(|grant| serde_json::from_value(grant).unwrap()).collect();
        let created = self
            .app
            .access()
            .create_account(
                &self.system(),
                app::access::NewAccount {
                    username: username.into(),
                    display_name: None,
                    password: Some(format!("{username}-password-long")),
                    locale: None,
                    member_id,
                    grants,
                },
            )
            .await
            .unwrap();
        self.app
            .access()
            .create_api_token(
                &self.system(),
                app::access::NewApiToken { name: "test".into(), expires_in_days: None, account_id: Some(created.account.id) },
            )
            .await
            .unwrap()
            .token
    }

    /// Counts rows of a table (to check that refused requests change nothing).
    pub async fn count(&self, table: &str) -> i64 {
        let mut reader = self.app.store().reader().await.unwrap();
        reader.conn().fetch_one(format!("SELECT COUNT(*) AS n FROM {table}"), &[]).await.unwrap().get("n").unwrap()
    }

    /// The newest audit records, newest first.
    pub async fn audit(&self, limit: i64) -> Vec<app::audit::AuditView> {
        self.app.audit().list_audit(&self.system(), &app::audit::AuditParams { limit: Some(limit), ..Default::default() }).await.unwrap()
    }
}

/// The shared test world: a tree, a department, members, and accounts of every role.
#[derive(Debug)]
pub struct World {
    pub city: i64,
    pub sub_district: i64,
    pub community_a: i64,
    pub community_b: i64,
    pub grid_a1: i64,
    pub water: i64,
    pub member_a: i64,
    pub member_b: i64,
    pub member_grid: i64,
    pub water_member: i64,
    pub admin: Auth,
    pub officer: Auth,
    pub cadre_a: Auth,
    pub cadre_b: Auth,
    pub grid_a1_member: Auth,
    pub liaison: Auth,
    pub auditor: Auth,
}

pub fn square(lon: f64, lat: f64, size: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]})
}

impl World {
    pub async fn build(t: &TestApp) -> World {
        let ctx = t.system();
        let j = |parent: Option<i64>, level: &str, code: &str, name: &str, boundary: Option<Value>| app::registry::NewJurisdiction {
            parent_id: parent,
            level: level.into(),
            code: code.into(),
            name_zh: name.into(),
            name_en: None,
            timezone: None,
            boundary,
        };
        let city = t.app.registry().create_jurisdiction(&ctx, j(None, "city", "310000", "上海市", None)).await.unwrap().id;
        let district = t
            .app
            .registry()
            .create_jurisdiction(&ctx, j(Some(city), "district", "310104", "徐汇区", Some(square(121.40, 31.12, 0.1))))
            .await
            .unwrap()
            .id;
        let sub_district = t
            .app
            .registry()
            .create_jurisdiction(&ctx, j(Some(district), "sub_district", "310104011", "田林街道", Some(square(121.41, 31.16, 0.03))))
            .await
            .unwrap()
            .id;
        let community_a = t
            .app
            .registry()
            .create_jurisdiction(&ctx, j(Some(sub_district), "community", "A", "社区甲", Some(square(121.41, 31.16, 0.01))))
            .await
            .unwrap()
            .id;
        let community_b = t
            .app
            .registry()
            .create_jurisdiction(&ctx, j(Some(sub_district), "community", "B", "社区乙", Some(square(121.42, 31.16, 0.01))))
            .await
            .unwrap()
            .id;
        let grid_a1 = t.app.registry().create_jurisdiction(&ctx, j(Some(community_a), "grid", "A1", "网格甲一", None)).await.unwrap().id;
        let water = t
            .app
            .registry()
            .create_organization(
                &ctx,
                serde_json::from_value(json!({"kind": "department", "sector": "water_affairs", "code": "water", "name_zh": "水务所", "jurisdiction_id": sub_district, "contact_phone": "021-64000000"})).unwrap(),
            )
            .await
            .unwrap()
            .id;
        let member = |jurisdiction: i64, name: &str, organization: Option<i64>| {
            serde_json::from_value::<app::registry::NewMember>(json!({
                "jurisdiction_id": jurisdiction,
                "organization_id": organization,
                "name": name,
                "phone": "+8613812345678",
                "email": "someone@example.org",
                "roles": ["volunteer"],
                "skills": ["first_aid"],
                "credentials": [{"kind": "first_aid_certificate", "number": "FA-001", "expires_on": "2026-12-10"}],
                "home": {"lon": 121.415678, "lat": 31.165432},
            }))
            .unwrap()
        };
        let member_a = t.app.registry().create_member(&ctx, member(community_a, "张三", None)).await.unwrap().id;
        let member_b = t.app.registry().create_member(&ctx, member(community_b, "李四", None)).await.unwrap().id;
        let member_grid = t.app.registry().create_member(&ctx, member(grid_a1, "王五", None)).await.unwrap().id;
        let water_member = t.app.registry().create_member(&ctx, member(community_b, "赵六", Some(water))).await.unwrap().id;
        let token = |t: String| Auth::Token(t);
        World {
            city,
            sub_district,
            community_a,
            community_b,
            grid_a1,
            water,
            member_a,
            member_b,
            member_grid,
            water_member,
            admin: token(t.account("root", vec![json!({"role": "admin"})], None).await),
            officer: token(t.account("officer", vec![json!({"role": "duty_officer", "jurisdiction_id": sub_district})], None).await),
            cadre_a: token(t.account("cadre.a", vec![json!({"role": "community_cadre", "jurisdiction_id": community_a})], None).await),
            cadre_b: token(t.account("cadre.b", vec![json!({"role": "community_cadre", "jurisdiction_id": community_b})], None).await),
            grid_a1_member: token(
                t.account("grid.a1", vec![json!({"role": "grid_member", "jurisdiction_id": grid_a1})], Some(member_grid)).await,
            ),
            liaison: token(
                t.account(
                    "liaison",
                    vec![json!({"role": "department_liaison", "jurisdiction_id": sub_district, "organization_id": water})],
                    None,
                )
                .await,
            ),
            auditor: token(t.account("auditor", vec![json!({"role": "auditor"})], None).await),
        }
    }
}
