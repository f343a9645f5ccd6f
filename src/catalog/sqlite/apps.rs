//! Apps: their keys, containers and settings.

use super::folders::ensure_folder;
use super::rows::{app_from_row, APP_COLUMNS};
use super::{backend, SqliteCatalog};
use crate::catalog::settings::quota_column;
use crate::catalog::{AppRecord, AppSettings, CatalogError, CatalogResult};
use rusqlite::{params, OptionalExtension};

pub(super) async fn create_app(catalog: &SqliteCatalog, app: &AppRecord) -> CatalogResult<()> {
    let app = app.clone();
    catalog
        .tx(move |tx| {
            tx.execute(
                &format!(
                    "INSERT INTO apps ({APP_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    app.app_key,
                    app.secret_key,
                    app.container,
                    app.name,
                    app.realtime_service,
                    app.created_at,
                    app.settings.trash_retention_days,
                    quota_column(app.settings.quota_bytes),
                    quota_column(app.settings.quota_files),
                    app.settings.operation_ids_column(),
                ],
            )
            .map_err(backend)?;
            ensure_folder(tx, &app.app_key, "/", app.created_at)?;
            Ok(())
        })
        .await
}

pub(super) async fn apps(catalog: &SqliteCatalog) -> CatalogResult<Vec<AppRecord>> {
    catalog
        .read(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {APP_COLUMNS} FROM apps ORDER BY created_at, rowid"
                ))
                .map_err(backend)?;
            let apps = stmt
                .query_map([], app_from_row)
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            Ok(apps)
        })
        .await
}

pub(super) async fn app(
    catalog: &SqliteCatalog,
    app_key: &str,
) -> CatalogResult<Option<AppRecord>> {
    let key = app_key.to_owned();
    catalog
        .read(move |conn| {
            conn.query_row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE app_key = ?1"),
                params![key],
                app_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
}

pub(super) async fn app_by_container(
    catalog: &SqliteCatalog,
    container: &str,
) -> CatalogResult<Option<AppRecord>> {
    let container = container.to_owned();
    catalog
        .read(move |conn| {
            conn.query_row(
                &format!("SELECT {APP_COLUMNS} FROM apps WHERE container = ?1"),
                params![container],
                app_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
}

pub(super) async fn set_realtime_service(
    catalog: &SqliteCatalog,
    app_key: &str,
    on: bool,
) -> CatalogResult<()> {
    let key = app_key.to_owned();
    catalog
        .run(move |conn| {
            let n = conn
                .execute(
                    "UPDATE apps SET realtime_service = ?1 WHERE app_key = ?2",
                    params![on, key],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(CatalogError::NotFound(key));
            }
            Ok(())
        })
        .await
}

pub(super) async fn set_app_settings(
    catalog: &SqliteCatalog,
    app_key: &str,
    settings: &AppSettings,
) -> CatalogResult<()> {
    let key = app_key.to_owned();
    let settings = settings.clone();
    catalog
        .run(move |conn| {
            let n = conn
                .execute(
                    "UPDATE apps SET trash_retention_days = ?1, quota_bytes = ?2,
                     quota_files = ?3, default_operation_ids = ?4 WHERE app_key = ?5",
                    params![
                        settings.trash_retention_days,
                        quota_column(settings.quota_bytes),
                        quota_column(settings.quota_files),
                        settings.operation_ids_column(),
                        key
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(CatalogError::NotFound(key));
            }
            Ok(())
        })
        .await
}
