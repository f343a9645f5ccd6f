//! Tasks of a running server: polling one to its end, and planting one left behind by a crash.

use super::server::Server;
use serde_json::Value;
use std::time::{Duration, Instant};

impl Server {
    /// Polls a task until it reaches D or F (at most 30 s).
    pub fn wait_task(&self, queue_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.json(reqwest::Method::GET, &format!("queues/{queue_id}"), None);
            let status = v["queue"]["status"].as_str().unwrap_or("").to_owned();
            if status == "D" || status == "F" {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "task {queue_id} stuck in {status}: {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Inserts an `image` task left in progress (expired lease) after `tries` attempts.
pub fn insert_crashed_task(
    s: &Server,
    id: &str,
    file_id: &str,
    tries: u32,
    callback_url: Option<&str>,
) {
    let conn = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    let payload = serde_json::json!({"source_id": file_id, "operation_id": "thumb",
                         "callback_url": callback_url, "callback_id": id})
    .to_string();
    conn.execute(
        "INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at, operation_id,
             path, payload, error, lease_until)
         VALUES (?1, ?2, 'image', 'P', ?3, 1, 'thumb', '/shop/photo_thumb.jpg', ?4, NULL, 1)",
        rusqlite::params![id, s.app.app_key, tries, payload],
    )
    .expect("insert a task left in progress by a crash");
}
