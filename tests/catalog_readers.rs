//! Lookups do not wait for catalog writes: while a write is stuck behind a lock held by
//! another process, delivery and listings still answer.

mod common;

use common::{assert_code, corpus, Server};
use reqwest::Method;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PHOTO: &str = "photos/photo_small_nikon-p6000_gps_640x480.jpg";

#[test]
fn delivery_and_listings_answer_while_a_write_waits_for_the_catalog() {
    let s = Server::start();
    let bytes = corpus(PHOTO);
    s.upload_ok("/shop/photo.jpg", PHOTO);

    // Another process holds the catalog's write lock, so the server's next write waits
    // (up to its busy timeout) while holding the server's writer connection.
    let lock = rusqlite::Connection::open(s.data_dir.join("catalog.sqlite3")).expect("open");
    lock.execute_batch("BEGIN IMMEDIATE; UPDATE apps SET name = name;")
        .expect("hold the write lock");

    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let v = s.mkdir("/blocked");
            let _ = done_tx.send((Instant::now(), v));
        });
        std::thread::sleep(Duration::from_millis(500));

        let started = Instant::now();
        let got = s.get(&s.url("/shop/photo.jpg"));
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().expect("body").to_vec(), bytes);
        let listing = s.json(Method::GET, "folders?basepath=/shop", None);
        assert_code(&listing, 0);
        let read_done = Instant::now();
        assert!(
            done_rx.try_recv().is_err(),
            "the reads finished while the write still waited ({:?} after they started)",
            read_done - started
        );
        lock.execute_batch("ROLLBACK").expect("release the lock");
        let (write_done, v) = done_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the write answers");
        assert!(read_done < write_done);
        assert_code(&v, 0);
    });
}
