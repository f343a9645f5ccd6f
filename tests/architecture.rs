//! The layering of ARCHITECTURE.md, kept by the code: every `crate::<module>` a file of
//! `src/<module>` names must be one its module may import. Dependencies run one way, so no
//! import cycle among the top-level modules can come back unnoticed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules of the crate it may import (ARCHITECTURE.md, "Modules
/// and what each may import").
const RULES: &[(&str, &[&str])] = &[
    ("app", &["*"]),
    (
        "http",
        &[
            "variant",
            "ingest",
            "jobs",
            "context",
            "catalog",
            "storage",
            "callback",
            "operation",
            "imaging",
            "config",
            "metrics",
            "paths",
            "result_code",
            "lenient_json",
            "imageinfo",
            "clock",
        ],
    ),
    (
        "jobs",
        &[
            "variant",
            "context",
            "catalog",
            "storage",
            "callback",
            "operation",
            "imaging",
            "config",
            "metrics",
            "paths",
            "result_code",
            "imageinfo",
            "clock",
        ],
    ),
    (
        "variant",
        &[
            "context",
            "catalog",
            "storage",
            "operation",
            "imaging",
            "config",
            "metrics",
            "paths",
            "result_code",
            "imageinfo",
            "clock",
        ],
    ),
    (
        "ingest",
        &[
            "variant",
            "context",
            "catalog",
            "storage",
            "imaging",
            "config",
            "metrics",
            "paths",
            "result_code",
            "imageinfo",
            "clock",
        ],
    ),
    (
        "context",
        &[
            "catalog",
            "storage",
            "callback",
            "config",
            "metrics",
            "paths",
            "result_code",
            "clock",
        ],
    ),
    (
        "callback",
        &["catalog", "config", "paths", "result_code", "clock"],
    ),
    ("catalog", &["paths", "result_code", "clock"]),
    ("storage", &[]),
    ("operation", &["imaging", "lenient_json"]),
    ("imaging", &[]),
    ("config", &["imaging"]),
    ("imageinfo", &["imaging"]),
    ("paths", &["result_code"]),
    ("metrics", &[]),
    ("result_code", &[]),
    ("lenient_json", &[]),
    ("clock", &[]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source text names through `crate::`, including the members of
/// `use crate::{a, b::c}` groups.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(item.trim().split("::").next().unwrap_or("").to_owned());
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 || c != '{' {
                    item.push(c);
                }
            }
            found.insert(item.trim().split("::").next().unwrap_or("").to_owned());
        } else {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            found.insert(name);
        }
    }
    found.retain(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    found
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules: BTreeMap<&str, &[&str]> = RULES.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules_seen = BTreeSet::new();
    let mut broken = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("component");
        let module = first.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        modules_seen.insert(module.to_owned());
        let allowed = rules
            .get(module)
            .unwrap_or_else(|| panic!("src/{first} is a top-level module without a rule here"));
        let text = std::fs::read_to_string(&file).expect("read");
        for named in named_modules(&text) {
            let ok = named == module || allowed.contains(&"*") || allowed.contains(&&*named);
            if !ok {
                broken.push(format!("{}: {module} imports {named}", rel.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layering:\n{}",
        broken.join("\n")
    );
    let listed: BTreeSet<String> = rules.keys().map(|k| (*k).to_owned()).collect();
    assert_eq!(
        listed, modules_seen,
        "every listed module exists, every module is listed"
    );
}

#[test]
fn the_scanner_sees_paths_and_groups() {
    let text = "use crate::catalog::{A, B};\nuse crate::{jobs::{self, Work}, paths};\n\
                let x = crate::clock::now_ms();";
    let found: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(found, ["catalog", "clock", "jobs", "paths"]);
}
