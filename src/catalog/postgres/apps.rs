//! Apps: their keys, containers and settings. Setting the real-time flag announces it to every
//! node's change feed (see `changes`).

use super::changes::announce;
use super::folders::ensure_folder;
use super::rows::{app_from_row, APP_COLUMNS};
use super::{commit, execute, write_tx, PgCatalog};
use crate::catalog::settings::quota_column;
use crate::catalog::{AppRecord, AppSettings, CatalogError, CatalogResult, Change};

pub(super) async fn create_app(catalog: &PgCatalog, app: &AppRecord) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let settings = &app.settings;
    execute(
        &tx,
        &format!(
            "INSERT INTO apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ),
        &[
            &app.app_key,
            &app.secret_key,
            &app.container,
            &app.name,
            &app.realtime_service,
            &app.created_at,
            &i64::from(settings.trash_retention_days),
            &quota_column(settings.quota_bytes),
            &quota_column(settings.quota_files),
            &settings.operation_ids_column(),
        ],
    )
    .await?;
    ensure_folder(&tx, &app.app_key, "/", app.created_at).await?;
    commit(tx).await
}

pub(super) async fn apps(catalog: &PgCatalog) -> CatalogResult<Vec<AppRecord>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, seq");
    catalog.many(&sql, &[], app_from_row).await
}

pub(super) async fn app(catalog: &PgCatalog, app_key: &str) -> CatalogResult<Option<AppRecord>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE app_key = $1");
    catalog.one(&sql, &[&app_key], app_from_row).await
}

pub(super) async fn app_by_container(
    catalog: &PgCatalog,
    container: &str,
) -> CatalogResult<Option<AppRecord>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE container = $1");
    catalog.one(&sql, &[&container], app_from_row).await
}

pub(super) async fn set_realtime_service(
    catalog: &PgCatalog,
    app_key: &str,
    on: bool,
) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let changed = execute(
        &tx,
        "UPDATE apps SET realtime_service = $1 WHERE app_key = $2",
        &[&on, &app_key],
    )
    .await?;
    if changed == 0 {
        return Err(CatalogError::NotFound(app_key.to_owned()));
    }
    let app = Change::App {
        app_key: app_key.to_owned(),
    };
    announce(&tx, &app).await?;
    commit(tx).await
}

pub(super) async fn set_app_settings(
    catalog: &PgCatalog,
    app_key: &str,
    settings: &AppSettings,
) -> CatalogResult<()> {
    let mut client = catalog.client().await?;
    let tx = write_tx(&mut client).await?;
    let changed = execute(
        &tx,
        "UPDATE apps SET trash_retention_days = $1, quota_bytes = $2, quota_files = $3,
         default_operation_ids = $4 WHERE app_key = $5",
        &[
            &i64::from(settings.trash_retention_days),
            &quota_column(settings.quota_bytes),
            &quota_column(settings.quota_files),
            &settings.operation_ids_column(),
            &app_key,
        ],
    )
    .await?;
    if changed == 0 {
        return Err(CatalogError::NotFound(app_key.to_owned()));
    }
    commit(tx).await
}
