//! Apps: their keys, containers and settings.

use super::folders::ensure_folder;
use super::rows::{all, app_from_row, APP_COLUMNS};
use super::{commit, execute, query, query_opt, write_tx, PgCatalog};
use crate::catalog::{AppRecord, CatalogError, CatalogResult};

pub(super) async fn create_app(catalog: &PgCatalog, app: &AppRecord) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    execute(
        &tx,
        &format!("INSERT INTO apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[
            &app.app_key,
            &app.secret_key,
            &app.container,
            &app.name,
            &app.realtime_service,
            &app.created_at,
        ],
    )
    .await?;
    ensure_folder(&tx, &app.app_key, "/", app.created_at).await?;
    commit(tx).await
}

pub(super) async fn apps(catalog: &PgCatalog) -> CatalogResult<Vec<AppRecord>> {
    let client = catalog.client().await?;
    let rows = query(
        &client,
        &format!("SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, seq"),
        &[],
    )
    .await?;
    all(&rows, app_from_row)
}

pub(super) async fn app(catalog: &PgCatalog, app_key: &str) -> CatalogResult<Option<AppRecord>> {
    let client = catalog.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {APP_COLUMNS} FROM apps WHERE app_key = $1"),
        &[&app_key],
    )
    .await?;
    row.as_ref().map(app_from_row).transpose()
}

pub(super) async fn app_by_container(
    catalog: &PgCatalog,
    container: &str,
) -> CatalogResult<Option<AppRecord>> {
    let client = catalog.client().await?;
    let row = query_opt(
        &client,
        &format!("SELECT {APP_COLUMNS} FROM apps WHERE container = $1"),
        &[&container],
    )
    .await?;
    row.as_ref().map(app_from_row).transpose()
}

pub(super) async fn set_realtime_service(
    catalog: &PgCatalog,
    app_key: &str,
    on: bool,
) -> CatalogResult<()> {
    let client = catalog.client().await?;
    let changed = execute(
        &client,
        "UPDATE apps SET realtime_service = $1 WHERE app_key = $2",
        &[&on, &app_key],
    )
    .await?;
    if changed == 0 {
        return Err(CatalogError::NotFound(app_key.to_owned()));
    }
    Ok(())
}
