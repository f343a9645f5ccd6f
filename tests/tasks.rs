//! Operation tasks: uploads with operationIds, operations-exec over folders, callbacks received
//! by a real HTTP receiver, and task recovery across a restart.

mod common;

use common::{assert_code, corpus, dims, insert_crashed_task, Server};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

fn thumb() -> Value {
    json!({ "data": [{ "templateOperationId": "resize_max_fit",
                       "option": { "width": 100, "height": 100 } }] })
}

/// A one-shot-per-request HTTP receiver on loopback; every POST body arrives on the channel.
fn receiver() -> (u16, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_ok() {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    let _ = tx.send(v);
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, rx)
}

#[test]
fn upload_with_operations_produces_listed_p_files() {
    let s = Server::start();
    assert_code(&s.put_operation("thumb", thumb()), 0);
    let grid = json!({ "data": [{ "templateOperationId": "grid", "option": { "countX": 2, "countY": 1 } }] });
    assert_code(&s.put_operation("halves", grid), 0);
    let up = s.upload(
        "/shop/photo.jpg",
        corpus(PHOTO),
        "operationIds=thumb,halves",
    );
    assert_code(&up, 0);
    let queues = up["file"]["queues"].as_array().expect("queues").clone();
    assert_eq!(queues.len(), 2);
    assert_eq!(
        up["file"]["operationId"], "thumb,halves",
        "the upload answer names the operations it queued"
    );
    assert_eq!(up["file"]["createdBy"], "U");
    assert_eq!(queues[0]["queueType"], "image");
    assert_eq!(queues[0]["status"], "W");
    assert_eq!(queues[0]["tryCount"], 0);
    assert_eq!(queues[0]["name"], "photo_thumb.jpg");
    assert_eq!(queues[1]["path"], "/shop/photo_halves_0000.jpg");
    for q in &queues {
        let done = s.wait_task(q["queueId"].as_str().expect("id"));
        assert_eq!(done["queue"]["status"], "D", "{done}");
        assert_eq!(done["queue"]["tryCount"], 0, "no retry");
    }
    let list = s.json(Method::GET, "folders?basepath=/shop&createdBy=P", None);
    let files = list["files"].as_array().expect("files");
    let names: Vec<&str> = files.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "photo_halves_0000.jpg",
            "photo_halves_0001.jpg",
            "photo_thumb.jpg"
        ]
    );
    for f in files {
        assert_eq!(f["createdBy"], "P");
        let body = s
            .get(f["url"].as_str().expect("url"))
            .bytes()
            .expect("body");
        let want = if f["operationId"] == "thumb" {
            (100, 75)
        } else {
            (320, 480)
        };
        assert_eq!(dims(&body), want, "{f}");
    }
    let del = s.json(
        Method::DELETE,
        &format!(
            "images/sync?fileId={}&includeThumbnail=true",
            up["file"]["id"].as_str().expect("id")
        ),
        None,
    );
    assert_code(&del, 0);
    let after = s.json(Method::GET, "folders?basepath=/shop", None);
    assert_eq!(
        after["paging"]["totalFileCount"], 0,
        "thumbnails deleted with their source"
    );
}

#[test]
fn exec_over_a_folder_calls_back_with_results() {
    let (port, bodies) = receiver();
    let ports = format!("[80, 443, {port}]");
    let s = Server::start_with(&[
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", &ports),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
    ]);
    assert_code(&s.put_operation("thumb", thumb()), 0);
    assert_code(&s.upload("/top/photo.jpg", corpus(PHOTO), ""), 0);
    assert_code(
        &s.upload("/top/inner/tiny.gif", corpus("edge/tiny_10x10.gif"), ""),
        0,
    );
    let refused = s.json(
        Method::POST,
        "operations-exec",
        Some(
            json!({"basepath": "/top", "filepaths": ["/top"], "operationIds": ["thumb"],
                    "callbackUrl": "http://127.0.0.1:1/cb"}),
        ),
    );
    assert_code(&refused, 11051);
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(
            json!({"basepath": "/top", "filepaths": ["/top"], "operationIds": ["thumb"],
                    "callbackUrl": format!("http://127.0.0.1:{port}/cb?id=100")}),
        ),
    );
    assert_code(&exec, 0);
    assert_eq!(exec["operations"][0]["operationId"], "thumb");
    let queues = exec["queues"].as_array().expect("queues");
    let mut paths: Vec<&str> = queues.iter().filter_map(|q| q["path"].as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/top/inner/tiny_thumb.gif", "/top/photo_thumb.jpg"]);
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(
            bodies
                .recv_timeout(Duration::from_secs(30))
                .expect("callback"),
        );
    }
    got.sort_by_key(|b| b["sourceFile"]["path"].as_str().unwrap_or("").to_owned());
    let queue_ids: Vec<&str> = queues
        .iter()
        .filter_map(|q| q["queueId"].as_str())
        .collect();
    let mut called_back: Vec<&str> = got.iter().filter_map(|b| b["queueId"].as_str()).collect();
    called_back.sort_unstable();
    let mut expected = queue_ids.clone();
    expected.sort_unstable();
    assert_eq!(called_back, expected, "each callback names its task");
    for (body, source) in got.iter().zip(["/top/inner/tiny.gif", "/top/photo.jpg"]) {
        assert_code(body, 0);
        assert_eq!(body["id"], "100");
        assert_eq!(body["operationId"], "thumb");
        assert_eq!(body["sourceFile"]["path"], source);
        assert_eq!(body["resultFiles"].as_array().map(Vec::len), Some(1));
    }
    assert_eq!(got[1]["resultFiles"][0]["name"], "photo_thumb.jpg");
}

#[test]
fn failing_operation_calls_back_with_an_error() {
    let (port, bodies) = receiver();
    let ports = format!("[{port}]");
    let s = Server::start_with(&[
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", &ports),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
    ]);
    let crop = json!({ "data": [{ "templateOperationId": "rectangle",
        "option": { "width": 10, "height": 10, "gravity": "NorthWest", "offsetX": 5000 } }] });
    assert_code(&s.put_operation("far", crop), 0);
    assert_code(&s.upload("/top/photo.jpg", corpus(PHOTO), ""), 0);
    let exec = s.json(
        Method::POST,
        "operations-exec",
        Some(
            json!({"basepath": "/top", "filepaths": ["/top/photo.jpg"], "operationIds": ["far"],
                    "callbackUrl": format!("http://127.0.0.1:{port}/cb?id=7")}),
        ),
    );
    assert_code(&exec, 0);
    let task = s.wait_task(exec["queues"][0]["queueId"].as_str().expect("id"));
    assert_eq!(task["queue"]["status"], "F");
    let body = bodies
        .recv_timeout(Duration::from_secs(30))
        .expect("callback");
    assert_eq!(body["header"]["isSuccessful"], false);
    assert_eq!(body["header"]["resultCode"], 500201);
    assert_eq!(body["header"]["resultMessage"], "Operation fail. ");
    assert_eq!(body["id"], "7");
    assert_eq!(body["sourceFile"]["name"], "photo.jpg");
}

#[test]
fn multi_upload_callback_reports_successes_and_failures() {
    let (port, bodies) = receiver();
    let ports = format!("[{port}]");
    let s = Server::start_with(&[
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", &ports),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
    ]);
    let form = reqwest::blocking::multipart::Form::new()
        .text(
            "params",
            json!({"basepath": "/up", "callbackUrl": format!("http://127.0.0.1:{port}/cb?id=55")})
                .to_string(),
        )
        .part(
            "files",
            reqwest::blocking::multipart::Part::bytes(corpus(PHOTO)).file_name("a.jpg"),
        )
        .part(
            "files",
            reqwest::blocking::multipart::Part::bytes(b"not an image".to_vec()).file_name("b.jpg"),
        );
    let resp: Value = s
        .call(Method::POST, "images")
        .multipart(form)
        .send()
        .expect("post")
        .json()
        .expect("json");
    assert_code(&resp, 1);
    let body = bodies
        .recv_timeout(Duration::from_secs(30))
        .expect("callback");
    assert_eq!(body["header"]["resultCode"], 1);
    assert_eq!(body["id"], "55");
    assert_eq!(body["successFiles"][0]["name"], "a.jpg");
    assert_eq!(body["successFiles"][0]["width"], 640);
    assert_eq!(body["failFiles"][0]["name"], "b.jpg");
    assert_eq!(body["failFiles"][0]["resultCode"], 10002);
}

#[test]
fn tasks_survive_a_crash_and_a_restart() {
    let mut s = Server::start();
    assert_code(&s.put_operation("thumb", thumb()), 0);
    let up = s.upload("/shop/photo.jpg", corpus(PHOTO), "");
    let file_id = up["file"]["id"].as_str().expect("id").to_owned();
    assert_eq!(s.terminate().code(), Some(0));

    insert_crashed_task(&s, "crashed-task", &file_id, 1, None);

    let s2 = Server::spawn(&s.data_dir.clone(), s.app.clone(), &[]);
    let done = s2.wait_task("crashed-task");
    assert_eq!(done["queue"]["status"], "D");
    assert_eq!(
        done["queue"]["tryCount"], 1,
        "the crashed attempt counts: one retry"
    );
    let thumb = s2.get(&s2.url("/shop/photo_thumb.jpg"));
    assert_eq!(dims(&thumb.bytes().expect("body")), (100, 75));
}

#[test]
fn operation_callback_url_receives_slice_results() {
    let (port, bodies) = receiver();
    let ports = format!("[{port}]");
    let s = Server::start_with(&[
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", &ports),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
    ]);
    let slice = |url: &str| {
        json!({ "data": [{ "templateOperationId": "slice",
                           "option": { "sliceSize": 200, "callbackUrl": url } }] })
    };
    assert_code(
        &s.put_operation("strips", slice("http://127.0.0.1:1/cb")),
        11051,
    );
    let cb = format!("http://127.0.0.1:{port}/cb?id=strips-1");
    assert_code(&s.put_operation("strips", slice(&cb)), 0);
    let got = s.json(Method::GET, "operations/strips", None);
    assert_eq!(
        got["operation"]["jobTemplate"][0]["option"]["callbackUrl"],
        cb
    );

    let up = s.upload("/shop/photo.jpg", corpus(PHOTO), "operationIds=strips");
    assert_code(&up, 0);
    let body = bodies
        .recv_timeout(Duration::from_secs(30))
        .expect("callback to the operation's callbackUrl");
    assert_code(&body, 0);
    assert_eq!(body["id"], "strips-1");
    assert_eq!(body["operationId"], "strips");
    assert_eq!(body["sourceFile"]["path"], "/shop/photo.jpg");
    let names: Vec<&str> = body["resultFiles"]
        .as_array()
        .expect("resultFiles")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "photo_strips_0000.jpg",
            "photo_strips_0001.jpg",
            "photo_strips_0002.jpg"
        ],
        "640x480 cut in 200-pixel strips"
    );
}

#[test]
fn a_task_whose_inputs_are_gone_calls_back_a_failure() {
    let (port, bodies) = receiver();
    let ports = format!("[{port}]");
    let env = [
        ("PICTOR_CALLBACKS_ALLOWED_PORTS", ports.as_str()),
        ("PICTOR_CALLBACKS_ALLOW_PRIVATE_NETWORKS", "true"),
    ];
    let mut s = Server::start_with(&env);
    assert_code(&s.put_operation("thumb", thumb()), 0);
    let up = s.upload("/shop/photo.jpg", corpus(PHOTO), "");
    let file_id = up["file"]["id"].as_str().expect("id").to_owned();
    assert_eq!(s.terminate().code(), Some(0));

    let conn = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    let url = format!("http://127.0.0.1:{port}/cb");
    let tasks = [
        ("lost-source", "no-such-file", "thumb"),
        ("lost-operation", file_id.as_str(), "gone"),
    ];
    for (id, source_id, operation_id) in tasks {
        let payload = json!({"source_id": source_id, "operation_id": operation_id,
                             "callback_url": url, "callback_id": id})
        .to_string();
        conn.execute(
            "INSERT INTO tasks (id, app_key, queue_type, status, try_count, queued_at,
                 operation_id, path, payload, error, lease_until)
             VALUES (?1, ?2, 'image', 'W', 0, 1, ?3, '/shop/photo_x.jpg', ?4, NULL, 0)",
            rusqlite::params![id, s.app.app_key, operation_id, payload],
        )
        .expect("insert a waiting task");
    }
    drop(conn);

    let s2 = Server::spawn(&s.data_dir.clone(), s.app.clone(), &env);
    for (id, _, _) in tasks {
        let done = s2.wait_task(id);
        assert_eq!(done["queue"]["status"], "F", "{done}");
        assert_eq!(
            done["queue"]["tryCount"], 0,
            "missing inputs are not retried"
        );
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(
            bodies
                .recv_timeout(Duration::from_secs(30))
                .expect("failure callback"),
        );
    }
    got.sort_by_key(|b| b["id"].as_str().unwrap_or("").to_owned());
    let (gone_op, gone_source) = (&got[0], &got[1]);
    for body in &got {
        assert_eq!(body["header"]["isSuccessful"], false, "{body}");
        assert_eq!(body["header"]["resultCode"], 500201, "{body}");
        assert_eq!(
            body["header"]["resultMessage"], "Operation fail. ",
            "{body}"
        );
        assert_eq!(body["overwritten"], false);
    }
    assert_eq!(gone_source["id"], "lost-source");
    assert_eq!(gone_source["operationId"], "thumb");
    assert!(gone_source["sourceFile"].is_null(), "{gone_source}");
    assert_eq!(gone_op["id"], "lost-operation");
    assert_eq!(gone_op["operationId"], "gone");
    assert_eq!(gone_op["sourceFile"]["name"], "photo.jpg");
}
