//! Authentication of the management API and the envelope of errors: wrong or missing secrets,
//! unknown appKeys, another app's secret, unknown routes and methods.

mod common;

use common::{assert_result, assert_result_for, create_app_named, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn get_with(s: &Server, app_key: &str, secret: Option<&str>, rest: &str) -> Value {
    let mut req = s
        .http
        .get(format!("{}/image/v2.0/appkeys/{app_key}/{rest}", s.base));
    if let Some(secret) = secret {
        req = req.header("Authorization", secret);
    }
    s.send_json(req)
}

#[test]
fn success_envelope() {
    let s = Server::start();
    let resp = s
        .call(Method::GET, "folders?basepath=/")
        .send()
        .expect("GET");
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        ctype.starts_with("application/json"),
        "content-type {ctype}"
    );
    let v: Value = resp.json().expect("JSON");
    assert_result(&v, 0);
    assert_eq!(v["header"]["isSuccessful"], true);
}

#[test]
fn missing_or_wrong_secret_is_refused() {
    let s = Server::start();
    let key = s.app.app_key.clone();
    assert_result(&get_with(&s, &key, None, "folders?basepath=/"), 30004);
    assert_result(&get_with(&s, &key, Some(""), "folders?basepath=/"), 30004);
    assert_result(
        &get_with(&s, &key, Some("not-the-secret"), "folders?basepath=/"),
        30004,
    );
    let almost = format!("{}x", s.app.secret_key);
    assert_result(
        &get_with(&s, &key, Some(&almost), "folders?basepath=/"),
        30004,
    );
    let shorter = &s.app.secret_key[..s.app.secret_key.len() - 1];
    assert_result(&get_with(&s, &key, Some(shorter), "users"), 30004);
    let upper = s.app.secret_key.to_uppercase();
    if upper != s.app.secret_key {
        assert_result(&get_with(&s, &key, Some(&upper), "users"), 30004);
    }
}

#[test]
fn refused_writes_change_nothing() {
    let s = Server::start();
    let v = s.send_json(
        s.http
            .post(s.api("folders"))
            .header("Authorization", "wrong")
            .json(&json!({"path": "/sneaky"})),
    );
    assert_result(&v, 30004);
    let v = s.send_json(
        s.http
            .put(s.api("images?path=/sneaky/a.gif"))
            .header("Authorization", "wrong")
            .body(common::corpus("edge/tiny_10x10.gif")),
    );
    assert_result(&v, 30004);
    let root = s.json(Method::GET, "folders?basepath=/", None);
    assert_eq!(root["paging"]["totalFolderCount"], 0);
    assert_eq!(root["paging"]["totalFileCount"], 0);
    assert_eq!(s.get(&s.url("/sneaky/a.gif")).status(), 404);
}

#[test]
fn unknown_app_key_and_another_apps_secret() {
    let s = Server::start();
    assert_result(
        &get_with(&s, "unknownkey", Some(&s.app.secret_key), "users"),
        30004,
    );
    let other = create_app_named(&s.data_dir, "other");
    // Another app's secret does not open this app, and the reverse.
    assert_result(
        &get_with(&s, &s.app.app_key, Some(&other.secret_key), "users"),
        30004,
    );
    assert_result(
        &get_with(&s, &other.app_key, Some(&s.app.secret_key), "users"),
        30004,
    );
    let mine = get_with(&s, &other.app_key, Some(&other.secret_key), "users");
    assert_result(&mine, 0);
    assert_eq!(mine["user"]["appKey"], other.app_key.as_str());
}

#[test]
fn apps_are_isolated() {
    let s = Server::start();
    let other = create_app_named(&s.data_dir, "other");
    assert_result(
        &s.upload("/mine/a1.gif", common::corpus("edge/tiny_10x10.gif"), ""),
        0,
    );
    let theirs = get_with(
        &s,
        &other.app_key,
        Some(&other.secret_key),
        "folders?basepath=/",
    );
    assert_result(&theirs, 0);
    assert_eq!(theirs["paging"]["totalFolderCount"], 0);
    assert_eq!(
        s.get(&format!("{}/{}/mine/a1.gif", s.base, other.container))
            .status(),
        404,
        "another container does not serve this app's files"
    );
    assert_eq!(s.get(&s.url("/mine/a1.gif")).status(), 200);
}

#[test]
fn unknown_routes_and_methods_answer_404_in_the_envelope() {
    let s = Server::start();
    for (method, rest) in [
        (Method::GET, "nothing-here"),
        (Method::GET, "folders/extra/segments"),
        (Method::PATCH, "folders"),
        (Method::DELETE, "folders"),
        (Method::GET, "images"),
        (Method::POST, "users"),
        (Method::GET, "images/sync"),
        (Method::POST, "properties"),
    ] {
        let v = s.json(method.clone(), rest, None);
        assert_result_for(&v, 404, &format!("{method} {rest}"));
        assert_eq!(v["header"]["isSuccessful"], false, "{method} {rest}");
    }
    let v = s.send_json(
        s.http
            .get(format!("{}/image/v2.0/appkeys/{}", s.base, s.app.app_key))
            .header("Authorization", &s.app.secret_key),
    );
    assert_eq!(v["header"]["isSuccessful"], false, "{v}");
}
