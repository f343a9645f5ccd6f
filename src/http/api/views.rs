//! JSON shapes of folders, files and tasks, field for field as the API guide writes them.

use crate::catalog::{AppRecord, FileRecord, Folder, FolderStats, Task};
use crate::context::Context;
use crate::paths;
use chrono::{DateTime, Local, TimeZone};
use serde_json::{json, Value};

/// Formats epoch milliseconds as the API's `2016-02-26T16:38:34+0900`, in the server's zone.
pub fn time(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms).single() {
        Some(t) => format_local(t),
        None => String::new(),
    }
}

/// Formats a camera time (no zone; stored as if UTC) with the server's zone offset.
fn camera_time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .and_then(|utc| Local.from_local_datetime(&utc.naive_utc()).earliest())
        .map(format_local)
        .unwrap_or_default()
}

fn format_local(t: DateTime<Local>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// A folder as listed.
pub fn folder(f: &Folder) -> Value {
    json!({
        "isFolder": true,
        "id": f.id,
        "name": folder_name(&f.path),
        "path": f.path,
        "updatedAt": time(f.updated_at),
    })
}

/// A folder with its recursive totals.
pub fn folder_with_stats(f: &Folder, s: &FolderStats) -> Value {
    json!({
        "isFolder": true,
        "id": f.id,
        "name": folder_name(&f.path),
        "path": f.path,
        "bytes": s.bytes,
        "totalFolderCount": s.folders,
        "totalFileCount": s.files,
        "updatedAt": time(f.updated_at),
    })
}

fn folder_name(path: &str) -> &str {
    if path == "/" {
        "/"
    } else {
        paths::name(path)
    }
}

/// A file, with the tasks queued for it. Beside the guide's fields: `tags` (a list, empty
/// when none), and in `imageProperty` `dominantColor` (`#rrggbb`, `null` when unknown) and
/// `ratio` (width / height to 4 decimals).
pub fn file(ctx: &Context, app: &AppRecord, f: &FileRecord, queues: Vec<Value>) -> Value {
    // An upload answer names the operations it queued, as the guide's examples show.
    let operation_id = if f.operation_id.is_empty() && !queues.is_empty() {
        queues
            .iter()
            .filter_map(|q| q["operationId"].as_str())
            .collect::<Vec<_>>()
            .join(",")
    } else {
        f.operation_id.clone()
    };
    json!({
        "isFolder": false,
        "id": f.id,
        "url": ctx.file_url(&app.container, &f.path),
        "name": paths::name(&f.path),
        "path": f.path,
        "bytes": f.bytes,
        "createdBy": f.created_by.code(),
        "updatedAt": time(f.updated_at),
        "operationId": operation_id,
        "queues": queues,
        "imageProperty": {
            "width": f.width,
            "height": f.height,
            "createdAt": f.taken_at.map_or_else(|| time(f.created_at), camera_time),
            "coordinate": { "lat": f.lat, "lng": f.lng },
            "dominantColor": f.dominant_color,
            "ratio": ratio(f.width, f.height),
        },
        "tags": f.tags,
    })
}

/// Width / height rounded to 4 decimals (half away from zero); `null` for a zero height.
fn ratio(width: u32, height: u32) -> Value {
    if height == 0 {
        return Value::Null;
    }
    let exact = f64::from(width) / f64::from(height);
    json!((exact * 10_000.0).round() / 10_000.0)
}

/// A task as the Task API shows it. `tryCount` counts retries, as the guide's samples do: a
/// task that succeeded at its first attempt shows 0 (the catalog counts attempts).
pub fn queue(ctx: &Context, app: &AppRecord, t: &Task) -> Value {
    let (url, name) = if t.path.is_empty() {
        (String::new(), "")
    } else {
        (ctx.file_url(&app.container, &t.path), paths::name(&t.path))
    };
    json!({
        "queueId": t.id,
        "queueType": t.queue_type,
        "status": t.status.code(),
        "tryCount": t.try_count.saturating_sub(1),
        "queuedAt": time(t.queued_at),
        "operationId": t.operation_id,
        "url": url,
        "name": name,
        "path": t.path,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ratios_have_four_decimals() {
        assert_eq!(super::ratio(800, 533).to_string(), "1.5009");
        assert_eq!(super::ratio(4032, 3024).to_string(), "1.3333");
        assert_eq!(super::ratio(2, 3).to_string(), "0.6667");
        assert_eq!(super::ratio(2560, 1600).to_string(), "1.6");
        assert_eq!(super::ratio(50, 8000).to_string(), "0.0063");
        assert_eq!(super::ratio(7, 7).to_string(), "1.0");
        assert_eq!(super::ratio(7, 0), serde_json::Value::Null);
    }

    #[test]
    fn times_use_the_guide_format() {
        let t = super::time(1_456_472_314_000);
        let re_ok = t.len() == 24
            && t.as_bytes()[10] == b'T'
            && (t.as_bytes()[19] == b'+' || t.as_bytes()[19] == b'-');
        assert!(re_ok, "{t}");
    }
}
