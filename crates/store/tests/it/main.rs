//! The store conformance suite: every test runs once on SQLite (`sqlite::…`) and once on PostgreSQL
//! (`postgres::…`), each on a fresh database. PostgreSQL tests need `GRIDLINE_TEST_POSTGRES_URL`; the README's
//! test command provides it.

mod accounts;
mod audit_and_events;
mod registry;
mod warnings;
mod writer;

use store::Store;
use store::testing::TestDatabase;

/// A store on a fresh database, kept alive with it.
#[derive(Debug)]
pub struct TestStore {
    pub store: Store,
    pub database: TestDatabase,
}

impl TestStore {
    pub async fn new(postgres: bool) -> TestStore {
        let database = if postgres { TestDatabase::postgres().await } else { TestDatabase::sqlite() };
        let store = database.open().await.expect("open the test store");
        TestStore { store, database }
    }
}

/// Declares each listed async test function `fn(&TestStore)` twice: in `sqlite` and in `postgres`.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let test_store = $crate::TestStore::new(false).await;
                    super::$test(&test_store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let test_store = $crate::TestStore::new(true).await;
                    super::$test(&test_store).await;
                }
            )*
        }
    };
}
pub(crate) use conformance;
