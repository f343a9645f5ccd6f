//! Management API calls on a running server: authenticated requests answered with the JSON
//! envelope, uploads, folders, multipart forms and operations.

use super::assert::assert_code;
use super::corpus::corpus;
use super::raw_http::encode_query;
use super::server::Server;
use serde_json::Value;

impl Server {
    /// An authenticated API request.
    pub fn call(&self, method: reqwest::Method, rest: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, self.api(rest))
            .header("Authorization", &self.app.secret_key)
    }

    /// Sends a request and checks the API answered HTTP 200 with a JSON envelope.
    pub fn send_json(&self, req: reqwest::blocking::RequestBuilder) -> Value {
        let resp = req.send().expect("request");
        assert_eq!(resp.status(), 200, "the API always answers HTTP 200");
        let text = resp.text().expect("body");
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        assert!(
            v["header"].is_object(),
            "every answer has a `header` envelope: {v}"
        );
        v
    }

    /// An authenticated request answered with JSON.
    pub fn json(&self, method: reqwest::Method, rest: &str, body: Option<Value>) -> Value {
        let mut req = self.call(method, rest);
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send_json(req)
    }

    /// Uploads bytes with `PUT /images?path=...` (path given raw, encoded here).
    pub fn upload(&self, path: &str, bytes: Vec<u8>, extra_query: &str) -> Value {
        let mut query = format!("images?path={}", encode_query(path));
        if !extra_query.is_empty() {
            query.push('&');
            query.push_str(extra_query);
        }
        self.send_json(self.call(reqwest::Method::PUT, &query).body(bytes))
    }

    /// Uploads a corpus file with `PUT /images` and asserts success; returns the `file` object.
    pub fn upload_ok(&self, path: &str, corpus_file: &str) -> Value {
        let v = self.upload(path, corpus(corpus_file), "");
        assert_code(&v, 0);
        v["file"].clone()
    }

    /// Creates a folder with `POST /folders`.
    pub fn mkdir(&self, path: &str) -> Value {
        self.json(
            reqwest::Method::POST,
            "folders",
            Some(serde_json::json!({ "path": path })),
        )
    }

    /// Sends a `POST /images` multipart form.
    pub fn multipart(&self, form: reqwest::blocking::multipart::Form) -> Value {
        self.send_json(self.call(reqwest::Method::POST, "images").multipart(form))
    }

    /// Sends a hand-written `POST /images` multipart body.
    pub fn multipart_raw(&self, boundary: &str, body: Vec<u8>) -> Value {
        self.send_json(
            self.call(reqwest::Method::POST, "images")
                .header(
                    "Content-Type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
    }

    /// Creates or replaces an operation.
    pub fn put_operation(&self, id: &str, body: Value) -> Value {
        self.json(
            reqwest::Method::PUT,
            &format!("operations/{id}"),
            Some(body),
        )
    }
}
