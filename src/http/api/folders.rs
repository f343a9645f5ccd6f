//! Folder API: create a folder, list a folder, folder properties.

use super::envelope::{ApiError, Reply};
use super::{views, Call};
use crate::catalog::{CatalogError, CreatedBy, ListQuery, SortKey};
use crate::clock::now_ms;
use crate::paths;
use crate::result_code::ResultCode;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct CreateBody {
    path: Option<String>,
}

/// Validates a folder path parameter: present, normalised, within the service's rules.
fn folder_path(call: &Call<'_>, raw: Option<&str>) -> Result<String, ApiError> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty());
    let raw = raw.ok_or_else(|| ApiError::invalid("path is required"))?;
    Ok(paths::normalize(
        raw,
        call.ctx.config.limits.max_path_bytes,
    )?)
}

/// `POST /folders`: creates a folder and its missing parents.
pub async fn create(mut call: Call<'_>) -> Result<Reply, ApiError> {
    let body: CreateBody = call.json().await?;
    let path = folder_path(&call, body.path.as_deref())?;
    if path == "/" {
        return Err(ApiError::with_detail(ResultCode::FolderDuplicatedName, "/"));
    }
    match call
        .ctx
        .catalog
        .create_folder(&call.app.app_key, &path, now_ms())
        .await
    {
        Ok(folder) => Ok(Reply::ok(json!({ "folder": views::folder(&folder) }))),
        Err(CatalogError::FolderExists(p)) => {
            Err(ApiError::with_detail(ResultCode::FolderDuplicatedName, &p))
        }
        Err(CatalogError::NotAFolder(_)) => Err(ApiError::new(ResultCode::InvalidBasePath)),
        Err(e) => Err(call.catalog_error(&e)),
    }
}

/// `GET /folders`: one page of a folder's sub-folders and files.
pub async fn list(call: Call<'_>) -> Result<Reply, ApiError> {
    let q = &call.query;
    let basepath = folder_path(&call, q.get("basepath"))?;
    let created_by = match q.get("createdBy").map(str::trim) {
        None | Some("") => None,
        Some(code) => {
            Some(CreatedBy::from_code(code).ok_or_else(|| ApiError::invalid("createdBy"))?)
        }
    };
    let name = match q.get("name") {
        None | Some("") => None,
        Some(n) if n.chars().count() < 2 || n.len() > 255 => {
            return Err(ApiError::invalid("name must be 2..255"))
        }
        Some(n) => Some(n.to_owned()),
    };
    let page = q.int("page", 1, 1..=u32::MAX)?;
    let rows = super::paging::rows(q, 100, call.ctx.config.limits.max_items)?;
    let (sort, descending) = match q.get("sort").map(str::trim) {
        None | Some("") | Some("name:asc") | Some("name") => (SortKey::Name, false),
        Some("name:desc") => (SortKey::Name, true),
        Some("date:asc") | Some("date") => (SortKey::Date, false),
        Some("date:desc") => (SortKey::Date, true),
        Some(_) => return Err(ApiError::invalid("sort")),
    };
    let catalog = &call.ctx.catalog;
    let key = &call.app.app_key;
    match catalog.folder_by_path(key, &basepath).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(ApiError::new(ResultCode::FolderNotExists)),
        Err(e) => return Err(call.catalog_error(&e)),
    }
    let query = ListQuery {
        created_by,
        name,
        page,
        rows,
        sort,
        descending,
    };
    let listing = catalog
        .list(key, &basepath, &query)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    let folders: Vec<Value> = listing.folders.iter().map(views::folder).collect();
    let files: Vec<Value> = listing
        .files
        .iter()
        .map(|f| views::file(&call.ctx, &call.app, f, Vec::new()))
        .collect();
    Ok(Reply::ok(json!({
        "paging": {
            "page": page,
            "rows": rows,
            "totalFolderCount": listing.total_folders,
            "totalFileCount": listing.total_files,
        },
        "folders": folders,
        "files": files,
    })))
}

/// `GET /properties` (with recursive totals) and `GET /properties/simple` (without).
pub async fn properties(call: Call<'_>, with_stats: bool) -> Result<Reply, ApiError> {
    let path = folder_path(&call, call.query.get("path"))?;
    let key = &call.app.app_key;
    let folder = match call.ctx.catalog.folder_by_path(key, &path).await {
        Ok(Some(folder)) => folder,
        Ok(None) => return Err(ApiError::new(ResultCode::FolderNotExists)),
        Err(e) => return Err(call.catalog_error(&e)),
    };
    if !with_stats {
        return Ok(Reply::ok(json!({ "folder": views::folder(&folder) })));
    }
    let stats = call
        .ctx
        .catalog
        .folder_stats(key, &path)
        .await
        .map_err(|e| call.catalog_error(&e))?;
    Ok(Reply::ok(
        json!({ "folder": views::folder_with_stats(&folder, &stats) }),
    ))
}
