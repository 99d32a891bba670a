//! `gridline serve`: the first start creates and prints an administrator; the same binary runs on PostgreSQL
//! when given a database URL.

use crate::{Server, data_dir, http};

#[test]
fn first_start_prints_an_administrator_who_can_sign_in() {
    let (_guard, dir) = data_dir();
    let server = Server::start(&dir, &[]);
    let line = server.output.iter().find(|line| line.contains("First administrator account created")).expect("the first admin is printed");
    let password = line.split("Password: ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let login = http::request(
        &server.address,
        "POST",
        "/api/v1/sessions",
        None,
        Some(&format!(r#"{{"username":"admin","password":"{password}"}}"#)),
    )
    .unwrap();
    assert_eq!(login.status, 201, "{}", login.body);
    assert_eq!(http::request(&server.address, "GET", "/readyz", None, None).unwrap().body, "ready");
    drop(server);
    // A second start reuses the data and creates no second administrator.
    let again = Server::start(&dir, &[]);
    assert!(!again.output.iter().any(|line| line.contains("First administrator")));
}

#[test]
fn the_same_server_runs_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(store::testing::TestDatabase::postgres());
    let store::Location::Postgres(url) = &database.location else { unreachable!() };
    let (_guard, dir) = data_dir();
    let env = [("GRIDLINE_DATABASE_URL", url.as_str())];
    let token = crate::admin_token(&dir, &env);
    let server = Server::start(&dir, &env);
    assert!(server.output.iter().any(|line| line.contains("Database: PostgreSQL")), "{:?}", server.output);
    let created = http::request(
        &server.address,
        "POST",
        "/api/v1/jurisdictions",
        Some(&token),
        Some(r#"{"level":"city","code":"pg","name_zh":"城"}"#),
    )
    .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(http::request(&server.address, "GET", "/readyz", None, None).unwrap().body, "ready");
    assert!(!dir.join("gridline.db").exists(), "no SQLite file when running on PostgreSQL");
}
