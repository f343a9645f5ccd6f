//! Real-time service flag: `GET /users` and `PUT /users`, stored per app.

mod common;

use common::{assert_result, assert_result_for, create_app_named, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn realtime(s: &Server) -> Value {
    let v = s.json(Method::GET, "users", None);
    assert_result(&v, 0);
    v["user"]["realtimeService"].clone()
}

#[test]
fn get_users_answers_the_app() {
    let s = Server::start();
    let v = s.json(Method::GET, "users", None);
    assert_result(&v, 0);
    assert_eq!(v["user"]["appKey"], s.app.app_key.as_str());
    assert_eq!(v["user"]["containerName"], s.app.container.as_str());
    assert_eq!(v["user"]["realtimeService"], true, "default is true");
}

#[test]
fn put_users_changes_the_flag() {
    let s = Server::start();
    let v = s.json(
        Method::PUT,
        "users",
        Some(json!({"realtimeService": false})),
    );
    assert_result(&v, 0);
    assert_eq!(realtime(&s), false);
    let v = s.json(Method::PUT, "users", Some(json!({"realtimeService": true})));
    assert_result(&v, 0);
    assert_eq!(realtime(&s), true);
    // Booleans written as strings.
    assert_result(
        &s.json(
            Method::PUT,
            "users",
            Some(json!({"realtimeService": "false"})),
        ),
        0,
    );
    assert_eq!(realtime(&s), false);
    assert_result(
        &s.json(
            Method::PUT,
            "users",
            Some(json!({"realtimeService": "true"})),
        ),
        0,
    );
    assert_eq!(realtime(&s), true);
}

#[test]
fn put_users_validation() {
    let s = Server::start();
    for body in [
        json!({}),
        json!({"realtimeService": null}),
        json!({"realtimeService": "maybe"}),
        json!({"realtimeService": 3}),
    ] {
        assert_result_for(
            &s.json(Method::PUT, "users", Some(body.clone())),
            10001,
            &body.to_string(),
        );
    }
    let not_json = s.send_json(
        s.call(Method::PUT, "users")
            .header("Content-Type", "application/json")
            .body("realtimeService=false"),
    );
    assert_result(&not_json, 10001);
    assert_eq!(realtime(&s), true, "refused changes leave the flag alone");
}

#[test]
fn flag_is_per_app_and_survives_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let first = common::create_app(&data);
    let second = create_app_named(&data, "second");
    {
        let s = Server::spawn(&data, first.clone(), &[]);
        assert_result(
            &s.json(
                Method::PUT,
                "users",
                Some(json!({"realtimeService": false})),
            ),
            0,
        );
        let other = s.send_json(
            s.http
                .get(format!(
                    "{}/image/v2.0/appkeys/{}/users",
                    s.base, second.app_key
                ))
                .header("Authorization", &second.secret_key),
        );
        assert_result(&other, 0);
        assert_eq!(
            other["user"]["realtimeService"], true,
            "other app unchanged"
        );
    }
    let s = Server::spawn(&data, first, &[]);
    assert_eq!(realtime(&s), false, "stored in the catalog");
}
