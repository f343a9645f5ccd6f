//! A fresh database per test on the test server (see `throwaway`): created with a unique name,
//! dropped when the test ends. Its calls run on a thread and runtime of their own, so both
//! synchronous tests and tests on a runtime use them.
//!
//! Integration tests include it with
//! `#[path = "../src/catalog/postgres/test_database.rs"] mod test_database;`.

use tokio_postgres::NoTls;

/// A database made for one test.
pub struct TestDatabase {
    /// The URL of the database.
    pub url: String,
    /// The URL of the server it was made on.
    server: String,
    /// Its name.
    name: String,
}

impl TestDatabase {
    /// Creates a database with a unique name on the server at `server`; `options` are added
    /// to `CREATE DATABASE` (e.g. a locale).
    pub fn create(server: &str, options: &str) -> Result<TestDatabase, String> {
        let name = format!("pictor_test_{}", uuid::Uuid::new_v4().simple());
        admin(server, format!("CREATE DATABASE {name} {options}"))?;
        Ok(TestDatabase {
            url: with_database(server, &name),
            server: server.to_owned(),
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = admin(
            &self.server,
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        if let Err(e) = dropped {
            eprintln!("test database {} left behind: {e}", self.name);
        }
    }
}

/// Runs one statement on the server's own database.
fn admin(server: &str, sql: String) -> Result<(), String> {
    let server = server.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&server, NoTls)
                .await
                .map_err(|e| format!("connect to the test server: {e}"))?;
            let connection = tokio::spawn(connection);
            let done = client
                .batch_execute(&sql)
                .await
                .map_err(|e| format!("{sql}: {e}"));
            drop(client);
            let _ = connection.await;
            done
        })
    })
    .join()
    .map_err(|_| "the database thread panicked".to_owned())?
}

/// The URL of database `name` on the server at `server` (a URL, or libpq's `key=value` form).
fn with_database(server: &str, name: &str) -> String {
    let Some((scheme, rest)) = server.split_once("://") else {
        return format!("{server} dbname={name}");
    };
    let (location, query) = match rest.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (rest, None),
    };
    let authority = location.split('/').next().unwrap_or("");
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}
