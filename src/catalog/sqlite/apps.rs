//! Apps: their keys, containers and settings.

use super::folders::ensure_folder;
use super::rows::app_from_row;
use super::{backend, SqliteCatalog};
use crate::catalog::{AppRecord, CatalogError, CatalogResult};
use rusqlite::{params, OptionalExtension};

pub(super) async fn create_app(catalog: &SqliteCatalog, app: &AppRecord) -> CatalogResult<()> {
    let app = app.clone();
    catalog
        .tx(move |tx| {
            tx.execute(
                "INSERT INTO apps (app_key, secret_key, container, name, realtime_service,
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    app.app_key,
                    app.secret_key,
                    app.container,
                    app.name,
                    app.realtime_service,
                    app.created_at
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
                .prepare(
                    "SELECT app_key, secret_key, container, name, realtime_service, created_at
                 FROM apps ORDER BY created_at, rowid",
                )
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
                "SELECT app_key, secret_key, container, name, realtime_service, created_at
             FROM apps WHERE app_key = ?1",
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
                "SELECT app_key, secret_key, container, name, realtime_service, created_at
             FROM apps WHERE container = ?1",
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
