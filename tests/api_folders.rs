//! Folder API: create (with parents), list (filters, paging, sort, validation), properties.

mod common;

use common::{
    assert_code, assert_date, assert_result, assert_result_for, assert_uuid, corpus, names, Server,
};
use reqwest::Method;
use serde_json::{json, Value};

const GIF: &str = "edge/tiny_10x10.gif";
const BMP: &str = "formats/bmp_24bit_bird_192x144.bmp";

fn list(s: &Server, query: &str) -> Value {
    s.json(Method::GET, &format!("folders?{query}"), None)
}

#[test]
fn create_folder_with_parents() {
    let s = Server::start();
    let v = s.mkdir("/myfolder/sub/deep");
    assert_result(&v, 0);
    let f = &v["folder"];
    assert_eq!(f["name"], "deep");
    assert_eq!(f["path"], "/myfolder/sub/deep");
    assert_eq!(f["isFolder"], true);
    assert_uuid(&f["id"]);
    assert_date(&f["updatedAt"]);

    let root = list(&s, "basepath=/");
    assert_result(&root, 0);
    assert_eq!(names(&root, "folders"), ["myfolder"]);
    let mid = list(&s, "basepath=/myfolder");
    assert_eq!(names(&mid, "folders"), ["sub"]);
    assert_eq!(mid["folders"][0]["path"], "/myfolder/sub");
    assert_eq!(mid["folders"][0]["isFolder"], true);
    assert_uuid(&mid["folders"][0]["id"]);
    assert_date(&mid["folders"][0]["updatedAt"]);
    let deep = list(&s, "basepath=/myfolder/sub");
    assert_eq!(deep["folders"][0]["id"], f["id"], "same id when listed");

    // A sibling beside an existing parent.
    assert_result(&s.mkdir("/myfolder/other"), 0);
    assert_eq!(
        names(&list(&s, "basepath=/myfolder"), "folders"),
        ["other", "sub"]
    );
}

#[test]
fn duplicate_folder_is_20000_with_the_path() {
    let s = Server::start();
    assert_result(&s.mkdir("/dup/inner"), 0);
    for path in ["/dup/inner", "/dup"] {
        let v = s.mkdir(path);
        assert_code(&v, 20000);
        assert_eq!(
            v["header"]["resultMessage"],
            format!("There is already a folder at the given destination. path: {path}")
        );
    }
}

#[test]
fn folder_creation_validates_the_path() {
    let s = Server::start();
    let cases = [
        (json!({}), 10001),
        (json!({"path": ""}), 10001),
        (json!({"path": format!("/{}", "n".repeat(256))}), 11002),
        (json!({"path": "/ok/../etc"}), 11050),
        (json!({"path": "/ok/./etc"}), 11050),
        (json!({"path": "/ok//x1"}), 11060),
        (json!({"path": "/bad:name"}), 11050),
        (json!({"path": "/bad*name"}), 11050),
        (json!({"path": "/bad\\name"}), 11050),
        (json!({"path": "/abcdefghij".repeat(103)}), 11001),
    ];
    for (body, code) in cases {
        let v = s.json(Method::POST, "folders", Some(body.clone()));
        assert_result_for(&v, code, &body.to_string());
    }
    let ok = s.mkdir(&format!("/{}", "n".repeat(255)));
    assert_result(&ok, 0);
    let not_json = s.send_json(
        s.call(Method::POST, "folders")
            .header("Content-Type", "application/json")
            .body("path=/x"),
    );
    assert_result(&not_json, 10001);
    let root = list(&s, "basepath=/");
    assert_eq!(
        root["paging"]["totalFolderCount"], 1,
        "only the valid folder exists: {root}"
    );
}

fn listing_fixture() -> Server {
    let s = Server::start();
    for f in ["/list/beta", "/list/Alpha", "/list/gamma"] {
        assert_result(&s.mkdir(f), 0);
    }
    for name in ["b_photo.jpg", "a_Photo.jpg", "c_other.gif"] {
        assert_result(&s.upload(&format!("/list/{name}"), corpus(GIF), ""), 0);
    }
    // Something deeper, not a direct child.
    assert_result(&s.upload("/list/beta/deep_photo.gif", corpus(GIF), ""), 0);
    s
}

#[test]
fn list_direct_children_with_fields() {
    let s = listing_fixture();
    let all = list(&s, "basepath=/list");
    assert_result(&all, 0);
    assert_eq!(all["paging"]["page"], 1);
    assert_eq!(all["paging"]["rows"], 100);
    assert_eq!(all["paging"]["totalFolderCount"], 3);
    assert_eq!(all["paging"]["totalFileCount"], 3);
    assert_eq!(names(&all, "folders"), ["Alpha", "beta", "gamma"]);
    assert_eq!(
        names(&all, "files"),
        ["a_Photo.jpg", "b_photo.jpg", "c_other.gif"]
    );
    let file = &all["files"][0];
    assert_eq!(file["isFolder"], false);
    assert_uuid(&file["id"]);
    assert_eq!(file["path"], "/list/a_Photo.jpg");
    assert_eq!(
        file["url"],
        format!("{}/{}/list/a_Photo.jpg", s.base, s.app.container)
    );
    assert_eq!(file["createdBy"], "U");
    assert_eq!(file["operationId"], "");
    assert_eq!(file["queues"], json!([]));
    assert_eq!(file["bytes"], 69);
    assert_date(&file["updatedAt"]);
    let p = &file["imageProperty"];
    assert_eq!(p["width"], 10);
    assert_eq!(p["height"], 10);
    assert_eq!(p["coordinate"]["lat"], Value::Null);
    assert_eq!(p["coordinate"]["lng"], Value::Null);
    let folder = &all["folders"][1];
    assert_eq!(folder["path"], "/list/beta");
    assert_eq!(folder["isFolder"], true);

    let root = list(&s, "basepath=/");
    assert_eq!(names(&root, "folders"), ["list"]);
    assert_eq!(root["paging"]["totalFileCount"], 0);
    let beta = list(&s, "basepath=/list/beta");
    assert_eq!(names(&beta, "files"), ["deep_photo.gif"]);
    assert_eq!(beta["paging"]["totalFolderCount"], 0);
}

#[test]
fn list_sorts_by_name_and_date() {
    let s = Server::start();
    // Created one second apart so dates differ at the precision of the API.
    for name in ["m_first.gif", "a_second.gif", "z_third.gif"] {
        assert_result(&s.upload(&format!("/sorted/{name}"), corpus(GIF), ""), 0);
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let by = |sort: &str| names(&list(&s, &format!("basepath=/sorted&sort={sort}")), "files");
    assert_eq!(
        by("name:asc"),
        ["a_second.gif", "m_first.gif", "z_third.gif"]
    );
    assert_eq!(
        by("name:desc"),
        ["z_third.gif", "m_first.gif", "a_second.gif"]
    );
    assert_eq!(
        by("date:asc"),
        ["m_first.gif", "a_second.gif", "z_third.gif"]
    );
    assert_eq!(
        by("date:desc"),
        ["z_third.gif", "a_second.gif", "m_first.gif"]
    );
    assert_eq!(
        names(&list(&s, "basepath=/sorted"), "files"),
        ["a_second.gif", "m_first.gif", "z_third.gif"],
        "default sort is name:asc"
    );
}

#[test]
fn list_name_filter_is_a_case_sensitive_substring() {
    let s = listing_fixture();
    let photo = list(&s, "basepath=/list&name=photo");
    assert_result(&photo, 0);
    assert_eq!(names(&photo, "files"), ["b_photo.jpg"]);
    assert_eq!(photo["paging"]["totalFileCount"], 1);
    let cap = list(&s, "basepath=/list&name=Photo");
    assert_eq!(names(&cap, "files"), ["a_Photo.jpg"]);
    let folders = list(&s, "basepath=/list&name=other");
    assert_eq!(names(&folders, "files"), ["c_other.gif"]);
    let none = list(&s, "basepath=/list&name=zz");
    assert_eq!(none["paging"]["totalFileCount"], 0);
    assert_eq!(none["files"], json!([]));
}

#[test]
fn list_created_by_filter() {
    let s = listing_fixture();
    let users = list(&s, "basepath=/list&createdBy=U");
    assert_result(&users, 0);
    assert_eq!(users["paging"]["totalFileCount"], 3);
    let ops = list(&s, "basepath=/list&createdBy=P");
    assert_result(&ops, 0);
    assert_eq!(ops["paging"]["totalFileCount"], 0);
    assert_eq!(ops["files"], json!([]));
    let blank = list(&s, "basepath=/list&createdBy=");
    assert_result(&blank, 0);
    assert_eq!(blank["paging"]["totalFileCount"], 3);
}

#[test]
fn list_paging_applies_to_folders_and_files() {
    let s = listing_fixture();
    let p1 = list(&s, "basepath=/list&rows=2&page=1");
    assert_result(&p1, 0);
    assert_eq!(p1["paging"]["page"], 1);
    assert_eq!(p1["paging"]["rows"], 2);
    assert_eq!(names(&p1, "folders"), ["Alpha", "beta"]);
    assert_eq!(names(&p1, "files"), ["a_Photo.jpg", "b_photo.jpg"]);
    let p2 = list(&s, "basepath=/list&rows=2&page=2");
    assert_eq!(p2["paging"]["page"], 2);
    assert_eq!(names(&p2, "folders"), ["gamma"]);
    assert_eq!(names(&p2, "files"), ["c_other.gif"]);
    assert_eq!(p2["paging"]["totalFolderCount"], 3);
    assert_eq!(p2["paging"]["totalFileCount"], 3);
    let p3 = list(&s, "basepath=/list&rows=2&page=3");
    assert_result(&p3, 0);
    assert_eq!(p3["folders"], json!([]));
    assert_eq!(p3["files"], json!([]));
    let max = list(&s, "basepath=/list&rows=10000");
    assert_result(&max, 0);
    assert_eq!(max["paging"]["rows"], 10000);
}

#[test]
fn list_parameter_validation() {
    let s = listing_fixture();
    for bad in [
        "",
        "basepath=/list&rows=0",
        "basepath=/list&rows=-1",
        "basepath=/list&rows=abc",
        "basepath=/list&page=0",
        "basepath=/list&page=x",
        "basepath=/list&sort=size:asc",
        "basepath=/list&sort=name:up",
        "basepath=/list&createdBy=X",
        "basepath=/list&createdBy=UP",
    ] {
        let v = list(&s, bad);
        assert_result_for(&v, 10001, bad);
    }
    let over = "basepath=/list&rows=10001";
    assert_result_for(&list(&s, over), 11003, over);
    assert_result(&list(&s, "basepath=/nowhere"), 20001);
    assert_result(&list(&s, "basepath=/list/beta/deep_photo.gif"), 20001);
}

#[test]
fn list_sort_without_direction_means_ascending() {
    // A bare criterion is read as ascending, as lenient clients send it.
    let s = listing_fixture();
    let bare = names(&list(&s, "basepath=/list&sort=name"), "files");
    let asc = names(&list(&s, "basepath=/list&sort=name:asc"), "files");
    assert!(!bare.is_empty());
    assert_eq!(bare, asc);
    let bare = names(&list(&s, "basepath=/list&sort=date"), "files");
    let asc = names(&list(&s, "basepath=/list&sort=date:asc"), "files");
    assert_eq!(bare, asc);
}

#[test]
fn properties_count_recursively() {
    let s = Server::start();
    let a = corpus(GIF);
    let b = corpus(BMP);
    assert_result(&s.upload("/props/one.gif", a.clone(), ""), 0);
    assert_result(&s.upload("/props/sub/two.bmp", b.clone(), ""), 0);
    assert_result(&s.upload("/props/sub/deeper/three.gif", a.clone(), ""), 0);
    assert_result(&s.mkdir("/props/empty"), 0);
    let full = s.json(Method::GET, "properties?path=/props", None);
    assert_result(&full, 0);
    let f = &full["folder"];
    assert_eq!(f["name"], "props");
    assert_eq!(f["path"], "/props");
    assert_eq!(f["isFolder"], true);
    assert_uuid(&f["id"]);
    assert_date(&f["updatedAt"]);
    assert_eq!(f["bytes"], (2 * a.len() + b.len()) as u64);
    assert_eq!(f["totalFolderCount"], 3);
    assert_eq!(f["totalFileCount"], 3);
    let sub = s.json(Method::GET, "properties?path=/props/sub", None);
    assert_eq!(sub["folder"]["bytes"], (a.len() + b.len()) as u64);
    assert_eq!(sub["folder"]["totalFolderCount"], 1);
    assert_eq!(sub["folder"]["totalFileCount"], 2);

    let simple = s.json(Method::GET, "properties/simple?path=/props", None);
    assert_result(&simple, 0);
    let sf = &simple["folder"];
    assert_eq!(sf["id"], f["id"]);
    assert_eq!(sf["name"], "props");
    assert_eq!(sf["path"], "/props");
    assert_eq!(sf["isFolder"], true);
    assert_date(&sf["updatedAt"]);
    for absent in ["bytes", "totalFolderCount", "totalFileCount"] {
        assert!(sf.get(absent).is_none(), "simple has no {absent}: {sf}");
    }

    assert_result(&s.json(Method::GET, "properties?path=/nope", None), 20001);
    assert_result(
        &s.json(Method::GET, "properties/simple?path=/nope", None),
        20001,
    );
    assert_result(&s.json(Method::GET, "properties", None), 10001);
    assert_result(&s.json(Method::GET, "properties/simple", None), 10001);
}
