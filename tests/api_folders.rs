//! Folder API: create, list (filters, paging, sort), properties; auth and routing errors.

mod common;

use common::{assert_code, corpus, Server};
use reqwest::Method;
use serde_json::json;

#[test]
fn create_folders_with_parents_and_refuse_duplicates() {
    let s = Server::start();
    let v = s.json(
        Method::POST,
        "folders",
        Some(json!({"path": "/myfolder/sub/deep"})),
    );
    assert_code(&v, 0);
    assert_eq!(v["folder"]["name"], "deep");
    assert_eq!(v["folder"]["path"], "/myfolder/sub/deep");
    assert_eq!(v["folder"]["isFolder"], true);
    assert_eq!(v["folder"]["id"].as_str().map(str::len), Some(36));
    let date = v["folder"]["updatedAt"].as_str().expect("date");
    assert_eq!(date.len(), 24, "2016-02-26T16:38:34+0900 shape: {date}");
    let dup = s.json(
        Method::POST,
        "folders",
        Some(json!({"path": "/myfolder/sub"})),
    );
    assert_code(&dup, 20000);
    assert_eq!(
        dup["header"]["resultMessage"],
        "There is already a folder at the given destination. path: /myfolder/sub"
    );
    let cases = [
        (json!({}), 10001),
        (json!({"path": "/a"}), 11002),
        (json!({"path": "/ok/../etc"}), 11050),
        (json!({"path": "/ok//x1"}), 11060),
        (json!({"path": "/bad:name"}), 11050),
        (json!({"path": format!("/{}", "n".repeat(256))}), 11002),
        (json!({"path": "/abcdefghij".repeat(103)}), 11001),
    ];
    for (body, code) in cases {
        assert_code(&s.json(Method::POST, "folders", Some(body.clone())), code);
    }
    let not_json = s
        .call(Method::POST, "folders")
        .body("path=/x")
        .send()
        .expect("post")
        .json::<serde_json::Value>()
        .expect("json");
    assert_code(&not_json, 10001);
}

#[test]
fn list_filters_pages_and_sorts() {
    let s = Server::start();
    for f in ["/list/beta", "/list/Alpha", "/list/gamma"] {
        assert_code(
            &s.json(Method::POST, "folders", Some(json!({"path": f}))),
            0,
        );
    }
    for name in ["b_photo.jpg", "a_Photo.jpg", "c_other.gif"] {
        let bytes = corpus("edge/tiny_10x10.gif");
        assert_code(&s.upload(&format!("/list/{name}"), bytes, ""), 0);
    }
    let all = s.json(Method::GET, "folders?basepath=/list", None);
    assert_code(&all, 0);
    assert_eq!(all["paging"]["page"], 1);
    assert_eq!(all["paging"]["rows"], 100);
    assert_eq!(all["paging"]["totalFolderCount"], 3);
    assert_eq!(all["paging"]["totalFileCount"], 3);
    let names = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|x| x["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(names(&all, "folders"), ["Alpha", "beta", "gamma"]);
    assert_eq!(
        names(&all, "files"),
        ["a_Photo.jpg", "b_photo.jpg", "c_other.gif"]
    );
    let file = &all["files"][0];
    assert_eq!(file["isFolder"], false);
    assert_eq!(file["createdBy"], "U");
    assert_eq!(file["operationId"], "");
    assert_eq!(file["queues"], json!([]));
    assert_eq!(file["bytes"], 69);
    assert_eq!(file["imageProperty"]["width"], 10);
    assert_eq!(
        file["imageProperty"]["coordinate"]["lat"],
        serde_json::Value::Null
    );

    let desc = s.json(Method::GET, "folders?basepath=/list&sort=name:desc", None);
    assert_eq!(
        names(&desc, "files"),
        ["c_other.gif", "b_photo.jpg", "a_Photo.jpg"]
    );
    let photo = s.json(Method::GET, "folders?basepath=/list&name=photo", None);
    assert_eq!(
        names(&photo, "files"),
        ["b_photo.jpg"],
        "case-sensitive substring"
    );
    assert_eq!(photo["paging"]["totalFileCount"], 1);
    let paged = s.json(Method::GET, "folders?basepath=/list&rows=2&page=2", None);
    assert_eq!(names(&paged, "files"), ["c_other.gif"]);
    assert_eq!(names(&paged, "folders"), ["gamma"]);
    assert_eq!(paged["paging"]["totalFileCount"], 3);
    let users = s.json(Method::GET, "folders?basepath=/list&createdBy=P", None);
    assert_eq!(users["paging"]["totalFileCount"], 0);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(names(&root, "folders"), ["list"]);

    for bad in [
        "folders",
        "folders?basepath=/list&rows=0",
        "folders?basepath=/list&rows=10001",
        "folders?basepath=/list&page=0",
        "folders?basepath=/list&sort=size:asc",
        "folders?basepath=/list&createdBy=X",
        "folders?basepath=/list&name=x",
    ] {
        assert_code(&s.json(Method::GET, bad, None), 10001);
    }
    assert_code(
        &s.json(Method::GET, "folders?basepath=/nowhere", None),
        20001,
    );
}

#[test]
fn properties_count_recursively() {
    let s = Server::start();
    let a = corpus("edge/tiny_10x10.gif");
    let b = corpus("formats/bmp_24bit_bird_192x144.bmp");
    assert_code(&s.upload("/props/one.gif", a.clone(), ""), 0);
    assert_code(&s.upload("/props/sub/two.bmp", b.clone(), ""), 0);
    assert_code(&s.upload("/props/sub/deeper/three.gif", a.clone(), ""), 0);
    let full = s.json(Method::GET, "properties?path=/props", None);
    assert_code(&full, 0);
    assert_eq!(full["folder"]["name"], "props");
    assert_eq!(full["folder"]["bytes"], (2 * a.len() + b.len()) as u64);
    assert_eq!(full["folder"]["totalFolderCount"], 2);
    assert_eq!(full["folder"]["totalFileCount"], 3);
    let simple = s.json(Method::GET, "properties/simple?path=/props", None);
    assert_code(&simple, 0);
    assert_eq!(simple["folder"]["id"], full["folder"]["id"]);
    assert!(simple["folder"].get("bytes").is_none());
    assert_code(&s.json(Method::GET, "properties?path=/nope", None), 20001);
    assert_code(&s.json(Method::GET, "properties", None), 10001);
}

#[test]
fn authentication_and_unknown_routes() {
    let s = Server::start();
    let no_auth: serde_json::Value = s
        .http
        .get(s.api("folders?basepath=/"))
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_code(&no_auth, 30004);
    let wrong: serde_json::Value = s
        .http
        .get(s.api("folders?basepath=/"))
        .header("Authorization", "not-the-secret")
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_code(&wrong, 30004);
    assert_eq!(
        wrong["header"]["resultMessage"],
        "The authentication is invalid."
    );
    let other_app: serde_json::Value = s
        .http
        .get(format!(
            "{}/image/v2.0/appkeys/unknownkey/folders?basepath=/",
            s.base
        ))
        .header("Authorization", &s.app.secret_key)
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_code(&other_app, 30004);
    let route = s.json(Method::GET, "nothing-here", None);
    assert_code(&route, 404);
    assert_eq!(
        route["header"]["resultMessage"],
        "Please check your API Url, HTTP Method."
    );
    assert_code(&s.json(Method::PATCH, "folders", None), 404);
}
