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

fn user(s: &Server) -> Value {
    let v = s.json(Method::GET, "users", None);
    assert_result(&v, 0);
    v["user"].clone()
}

#[test]
fn extension_settings_default_to_the_guide_behaviour() {
    let s = Server::start();
    let u = user(&s);
    assert_eq!(u["trashRetentionDays"], 0);
    assert_eq!(u["quotaBytes"], Value::Null);
    assert_eq!(u["quotaFiles"], Value::Null);
    assert_eq!(u["defaultOperationIds"], json!([]));
}

#[test]
fn put_users_changes_only_the_settings_it_names() {
    let s = Server::start();
    assert_result(
        &s.put_operation(
            "thumb",
            json!({"realtimeService": true, "data": [{"templateOperationId": "resize_max_fit",
                "option": {"resizeType": "max_fit", "width": 100, "height": 100}}]}),
        ),
        0,
    );
    let v = s.json(
        Method::PUT,
        "users",
        Some(json!({"trashRetentionDays": 30, "quotaBytes": "1048576", "defaultOperationIds": ["thumb", "thumb"]})),
    );
    assert_result(&v, 0);
    let u = user(&s);
    assert_eq!(u["trashRetentionDays"], 30);
    assert_eq!(u["quotaBytes"], 1_048_576);
    assert_eq!(u["quotaFiles"], Value::Null, "not named, kept");
    assert_eq!(u["defaultOperationIds"], json!(["thumb"]), "each id once");
    assert_eq!(u["realtimeService"], true, "not named, kept");

    let v = s.json(
        Method::PUT,
        "users",
        Some(json!({"realtimeService": false, "quotaFiles": 10, "quotaBytes": null})),
    );
    assert_result(&v, 0);
    let u = user(&s);
    assert_eq!(u["realtimeService"], false);
    assert_eq!(u["quotaFiles"], 10);
    assert_eq!(u["quotaBytes"], Value::Null, "null removes the limit");
    assert_eq!(u["trashRetentionDays"], 30, "kept");
    assert_eq!(u["defaultOperationIds"], json!(["thumb"]), "kept");

    assert_result(
        &s.json(
            Method::PUT,
            "users",
            Some(json!({"quotaFiles": 0, "defaultOperationIds": []})),
        ),
        0,
    );
    let u = user(&s);
    assert_eq!(u["quotaFiles"], Value::Null, "0 removes the limit");
    assert_eq!(u["defaultOperationIds"], json!([]));
}

#[test]
fn bad_settings_change_nothing() {
    let s = Server::start();
    let before = user(&s);
    for (body, code) in [
        (json!({"trashRetentionDays": -1}), 10001),
        (json!({"trashRetentionDays": 3651}), 10001),
        (json!({"trashRetentionDays": "x"}), 10001),
        (json!({"quotaBytes": 1.5}), 10001),
        (json!({"quotaFiles": [3]}), 10001),
        (json!({"defaultOperationIds": ["no/slash"]}), 10001),
        (
            json!({"trashRetentionDays": 5, "defaultOperationIds": ["missing"]}),
            10001,
        ),
    ] {
        let v = s.json(Method::PUT, "users", Some(body.clone()));
        assert_eq!(v["header"]["isSuccessful"], false, "{body}");
        assert_result_for(&v, code, &body.to_string());
    }
    assert_eq!(
        user(&s),
        before,
        "refused changes leave every setting alone"
    );
}
