//! The `pictor` binary run as a command: app creation and listing, and `pictor transform`.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// An app's keys as printed by `pictor app create`.
#[derive(Debug, Clone)]
pub struct AppKeys {
    pub app_key: String,
    pub secret_key: String,
    pub container: String,
}

impl AppKeys {
    /// Reads the keys from the JSON object printed by the binary.
    pub fn from_json(v: &Value) -> AppKeys {
        AppKeys {
            app_key: v["appKey"].as_str().expect("appKey").to_owned(),
            secret_key: v["secretKey"].as_str().expect("secretKey").to_owned(),
            container: v["container"].as_str().expect("container").to_owned(),
        }
    }
}

/// The `pictor` binary.
pub fn pictor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pictor"))
}

/// Runs `pictor app create` on a data dir.
pub fn create_app(data_dir: &Path) -> AppKeys {
    create_app_named(data_dir, "test")
}

/// Runs `pictor app create --name NAME` on a data dir and checks it prints one JSON line.
pub fn create_app_named(data_dir: &Path, name: &str) -> AppKeys {
    let out = pictor()
        .args(["app", "create", "--name", name, "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run pictor app create");
    assert!(out.status.success(), "app create failed: {out:?}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "app create prints exactly one line: {stdout:?}"
    );
    let v: Value = serde_json::from_str(lines[0]).expect("app create prints JSON");
    AppKeys::from_json(&v)
}

/// Runs `pictor app list` on a data dir and returns the parsed array.
pub fn list_apps(data_dir: &Path) -> Vec<Value> {
    let out = pictor()
        .args(["app", "list", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run pictor app list");
    assert!(out.status.success(), "app list failed: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("app list prints JSON");
    v.as_array().expect("app list prints an array").clone()
}

/// Runs `pictor transform --operation OP SRC OUTDIR`.
pub fn transform(operation: &Path, src: &Path, outdir: &Path) -> std::process::Output {
    pictor()
        .arg("transform")
        .arg("--operation")
        .arg(operation)
        .arg(src)
        .arg(outdir)
        .output()
        .expect("run pictor transform")
}
