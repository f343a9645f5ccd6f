//! kill -9 during a stream of uploads and during an operations-exec over many files: after a
//! restart every acknowledged upload reads back byte-identical, every listed file is whole,
//! and every task ends in D or F.

mod common;

use common::{assert_code, corpus, names, Server};
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const SOURCES: [&str; 2] = [
    "photos/photo_small_nikon-p6000_gps_640x480.jpg",
    "photos/photo_icc_adobe-rgb_rocket_640x427.jpg",
];

fn kill_9(s: &mut Server) {
    s.child.kill().expect("kill -9");
    s.child.wait().expect("wait");
}

#[test]
fn acknowledged_uploads_survive_kill_9() {
    let mut s = Server::start();
    let sources: Vec<Vec<u8>> = SOURCES.iter().map(|f| corpus(f)).collect();
    let acked = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let pid = s.child.id().to_string();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..400usize {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let path = format!("/crash/p{i:03}.jpg");
                let bytes = sources[i % 2].clone();
                let req = s
                    .call(Method::PUT, &format!("images?path={path}"))
                    .body(bytes);
                match req
                    .send()
                    .ok()
                    .and_then(|r| r.json::<serde_json::Value>().ok())
                {
                    Some(v) if v["header"]["resultCode"] == 0 => {
                        acked.lock().expect("lock").push((path, i % 2));
                    }
                    _ => break,
                }
            }
        });
        for _ in 0..300 {
            if acked.lock().expect("lock").len() >= 15 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
        stop.store(true, Ordering::SeqCst);
    });
    let _ = s.child.wait();
    let acked = acked.into_inner().expect("lock");
    assert!(
        acked.len() >= 15,
        "uploads acknowledged before the kill: {}",
        acked.len()
    );

    let s2 = Server::spawn(&s.data_dir.clone(), s.app.clone(), &[]);
    for (path, source) in &acked {
        let got = s2.get(&s2.url(path));
        assert_eq!(got.status(), 200, "{path}");
        assert_eq!(
            got.bytes().expect("body").to_vec(),
            sources[*source],
            "{path}"
        );
    }
    let listing = s2.json(Method::GET, "folders?basepath=/crash&rows=1000", None);
    let listed = names(&listing, "files");
    assert!(listed.len() >= acked.len());
    for name in listed {
        let got = s2.get(&s2.url(&format!("/crash/{name}")));
        assert_eq!(got.status(), 200, "{name}");
        let body = got.bytes().expect("body").to_vec();
        assert!(sources.contains(&body), "{name} is whole");
    }
}

#[test]
fn every_task_ends_after_kill_9_during_an_exec() {
    let env = [("PICTOR_TASKS_LEASE_SECS", "2")];
    let mut s = Server::start_with(&env);
    let thumb = json!({ "data": [{ "templateOperationId": "resize_max_fit",
                                   "option": { "width": 100, "height": 100 } }] });
    assert_code(&s.put_operation("thumb", thumb), 0);
    for i in 0..30 {
        assert_code(
            &s.upload(&format!("/many/p{i:02}.jpg"), corpus(SOURCES[i % 2]), ""),
            0,
        );
    }
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(json!({"basepath": "/many", "filepaths": ["/many"], "operationIds": ["thumb"]})),
    );
    assert_code(&exec, 0);
    let ids: Vec<String> = exec["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|q| q["queueId"].as_str().expect("queueId").to_owned())
        .collect();
    assert_eq!(ids.len(), 30);
    std::thread::sleep(Duration::from_millis(150));
    kill_9(&mut s);
    let conn = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    let done_before: i64 = conn
        .query_row("SELECT COUNT(*) FROM tasks WHERE status = 'D'", [], |r| {
            r.get(0)
        })
        .expect("count finished tasks");
    drop(conn);
    assert!(
        done_before < 30,
        "the kill came after the exec had finished"
    );

    let s2 = Server::spawn(&s.data_dir.clone(), s.app.clone(), &env);
    for id in &ids {
        let v = s2.wait_task(id);
        assert_eq!(v["queue"]["status"], "D", "every source is valid: {v}");
    }
}
