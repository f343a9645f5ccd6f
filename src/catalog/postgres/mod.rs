//! The PostgreSQL catalog: one database shared by every node. Calls run on a bounded pool of
//! connections (`deadpool-postgres`); each trait method is one transaction, or one statement
//! when a statement is all it needs.
//!
//! Writes run at READ COMMITTED and take row locks in one order, folders by path from the root
//! down, before the rows they change: a new entry first locks its parent folder, so two nodes
//! adding, replacing or removing entries of one folder take turns, and a name is never given
//! twice. Reads of several statements run in one REPEATABLE READ, READ ONLY transaction: they
//! see one commit. Tasks and callbacks are claimed with `FOR UPDATE SKIP LOCKED`, so nodes
//! never claim the same row and never wait for each other's claims.
//!
//! Nodes keep their caches coherent through the database: a call that makes rendered variants
//! stale announces it with `NOTIFY` in its own transaction, and each node listens on a
//! connection of its own ([`changes`]); a variant asked of several nodes at once is rendered by
//! the one that claims it ([`claims`]).
//!
//! This file opens the pool and runs statements; [`schema`] versions the tables; the SQL of
//! each concern is in its own file, and `calls` binds it to the [`Catalog`](super::Catalog)
//! trait. Path columns use `COLLATE "C"`: ranges ([`tree::subtree_range`](super::tree)) and
//! sorting by name are in byte order, as in SQLite.

mod apps;
mod blobs;
mod calls;
mod changes;
mod claims;
mod copy;
mod copy_move;
mod deletions;
#[cfg(test)]
mod feed_tests;
mod files;
mod folders;
mod metadata;
mod operations;
mod outbox;
mod quota;
mod restore;
mod rotation;
mod rows;
mod schema;
mod tasks;
#[cfg(test)]
mod test_database;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod throwaway;
mod tls;
#[cfg(test)]
mod tls_tests;
mod trash;
mod trash_copy;
mod uploads;

use super::{CatalogError, CatalogResult};
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
    Transaction,
};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The PostgreSQL catalog.
#[derive(Clone)]
pub struct PgCatalog {
    /// Connections to the database, at most `max_connections`.
    pool: Pool,
    /// How to connect, for the connections of change feeds (outside the pool).
    config: tokio_postgres::Config,
    /// The TLS of every connection, when the URL asks for it (`sslmode=require`).
    tls: Option<MakeRustlsConnect>,
}

/// How to reach the database and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// `postgres://user[:password]@host[:port]/database` (or `postgresql://`, or the
    /// `key=value` form of libpq).
    pub url: String,
    /// Connections open at most; calls beyond wait for a free one.
    pub max_connections: usize,
    /// Time to open a connection (unless the URL sets `connect_timeout`).
    pub connect_timeout: Duration,
    /// Time one statement may run before the server cancels it.
    pub statement_timeout: Duration,
    /// Time a call waits for a free connection before it fails (retryable).
    pub acquire_timeout: Duration,
    /// The authorities that sign the server's certificate, for a URL with `sslmode=require`
    /// (`None`: the Mozilla roots built in).
    pub tls_ca_file: Option<PathBuf>,
}

/// Why the catalog could not be opened.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    /// The URL does not parse.
    #[error("catalog.url is not a PostgreSQL URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The pool could not be built.
    #[error("connection pool: {0}")]
    Pool(#[source] deadpool_postgres::BuildError),
    /// The TLS the URL asks for could not be set up.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// Times a transaction that lost a deadlock or a serialization check is run again before its
/// error reaches the caller (marked retryable).
const CONFLICT_RETRIES: u32 = 3;

impl PgCatalog {
    /// Connects to the database, brings its schema to this release's version (one node at a
    /// time, under an advisory lock) and keeps up to `max_connections` connections.
    pub async fn open(options: &PgOptions) -> CatalogResult<Self> {
        let mut config: tokio_postgres::Config = options
            .url
            .parse()
            .map_err(|e| CatalogError::backend(OpenError::Url(e)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let timeout = format!(
            "-c statement_timeout={}",
            options.statement_timeout.as_millis().max(1)
        );
        let server_options = match config.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{given} {timeout}"),
            _ => timeout,
        };
        config.options(&server_options);
        if config.get_application_name().is_none() {
            config.application_name("pictor");
        }
        let tls = tls::connector(&config, options.tls_ca_file.as_deref())
            .map_err(|e| CatalogError::backend(OpenError::Tls(e)))?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            None => Manager::from_config(config.clone(), NoTls, manager_config),
            Some(tls) => Manager::from_config(config.clone(), tls.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .wait_timeout(Some(options.acquire_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| CatalogError::backend(OpenError::Pool(e)))?;
        let catalog = Self { pool, config, tls };
        schema::migrate(&catalog).await?;
        Ok(catalog)
    }

    /// A connection of the pool.
    async fn client(&self) -> CatalogResult<Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Runs one statement (a transaction by itself) and maps its row, if any, with `f`.
    async fn one<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        f: fn(&Row) -> CatalogResult<T>,
    ) -> CatalogResult<Option<T>> {
        let client = self.client().await?;
        query_opt(&client, sql, params)
            .await?
            .as_ref()
            .map(f)
            .transpose()
    }

    /// Runs one statement (a transaction by itself) and maps each of its rows with `f`.
    async fn many<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        f: fn(&Row) -> CatalogResult<T>,
    ) -> CatalogResult<Vec<T>> {
        let client = self.client().await?;
        query(&client, sql, params).await?.iter().map(f).collect()
    }

    /// Runs one statement (a transaction by itself); returns the number of rows it changed.
    async fn change(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> CatalogResult<u64> {
        execute(&self.client().await?, sql, params).await
    }
}

/// Starts a transaction that changes rows: READ COMMITTED, its locks taken explicitly.
async fn write_tx(client: &mut Object) -> CatalogResult<Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await
        .map_err(backend)
}

/// Starts a transaction of several reads that see one commit.
async fn read_tx(client: &mut Object) -> CatalogResult<Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(backend)
}

/// Commits a transaction.
async fn commit(tx: Transaction<'_>) -> CatalogResult<()> {
    tx.commit().await.map_err(backend)
}

/// Runs a statement (prepared once per connection) and returns its rows.
async fn query<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> CatalogResult<Vec<Row>> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query(&statement, params).await.map_err(backend)
}

/// Runs a statement that returns at most one row.
async fn query_opt<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> CatalogResult<Option<Row>> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query_opt(&statement, params).await.map_err(backend)
}

/// Runs a statement that returns exactly one row.
async fn query_one<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> CatalogResult<Row> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query_one(&statement, params).await.map_err(backend)
}

/// Runs a statement and returns the number of rows it changed.
async fn execute<C: GenericClient + Sync>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> CatalogResult<u64> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.execute(&statement, params).await.map_err(backend)
}

/// Runs `call` again, up to [`CONFLICT_RETRIES`] more times, while it fails because its
/// transaction lost a deadlock or a serialization check: the server rolled it back whole, so
/// running it again is safe. Other failures, and the last conflict, reach the caller.
async fn retrying<T, F, Fut>(mut call: F) -> CatalogResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = CatalogResult<T>>,
{
    let mut left = CONFLICT_RETRIES;
    loop {
        match call().await {
            Err(e) if left > 0 && is_conflict(&e) => left -= 1,
            done => return done,
        }
    }
}

/// The PostgreSQL error under a catalog error, if any.
fn pg_source(e: &CatalogError) -> Option<&tokio_postgres::Error> {
    match e {
        CatalogError::Backend { source, .. } => source.downcast_ref::<tokio_postgres::Error>(),
        _ => None,
    }
}

/// Whether a failure is a lost deadlock or serialization check.
fn is_conflict(e: &CatalogError) -> bool {
    pg_source(e)
        .and_then(tokio_postgres::Error::code)
        .is_some_and(|code| {
            *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        })
}

/// A unique violation of the constraint that keeps one folder, or one file, per path, as the
/// contract's refusal for that path; any other failure unchanged.
fn name_taken(e: CatalogError, path: &str) -> CatalogError {
    let violated = pg_source(&e)
        .and_then(tokio_postgres::Error::as_db_error)
        .filter(|db| *db.code() == SqlState::UNIQUE_VIOLATION)
        .and_then(|db| db.constraint());
    let folder = match violated {
        Some(schema::FOLDER_PATH_KEY) => true,
        Some(schema::FILE_PATH_KEY) => false,
        _ => return e,
    };
    if folder {
        CatalogError::FolderExists(path.to_owned())
    } else {
        CatalogError::FileExists(path.to_owned())
    }
}

/// Whether the same call may succeed later: the transaction lost a deadlock or a
/// serialization check, waited too long for a lock or a statement, the connection was lost or
/// refused, or the server is shutting down, starting or out of connections.
fn is_retryable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::LOCK_NOT_AVAILABLE,
                    SqlState::QUERY_CANCELED,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                ]
                .contains(code)
        }
        // No SQL state: the socket failed (connecting, reading or writing).
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// A PostgreSQL failure as a catalog error, keeping it as the source.
fn backend(e: tokio_postgres::Error) -> CatalogError {
    let retryable = is_retryable(&e);
    CatalogError::Backend {
        source: Box::new(e),
        retryable,
    }
}

/// A failure to get a connection from the pool: retryable when no connection became free in
/// time or the database could not be reached.
fn pool_error(e: PoolError) -> CatalogError {
    let retryable = match &e {
        PoolError::Timeout(_) => true,
        PoolError::Backend(pg) => is_retryable(pg),
        _ => false,
    };
    CatalogError::Backend {
        source: Box::new(e),
        retryable,
    }
}

/// A count or size read from a `BIGINT` column.
fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A `usize` limit as a `BIGINT` parameter.
fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
