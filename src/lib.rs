//! Pictor: a self-hosted image service with two front doors on one catalog.
//!
//! Layout:
//! - [`http`]: the hyper server. [`http::delivery`] answers `GET /<container>/<path>`;
//!   [`http::api`] is the management API under `/image/v2.0/appkeys/{appKey}/...`, one file
//!   per section of the API guide; [`http::ops`] serves `/metrics`, `/healthz`, `/readyz`.
//! - [`catalog`]: the metadata model (apps, folders, files, tasks) behind the [`catalog::Catalog`]
//!   trait; [`catalog::sqlite`] is the embedded default.
//! - [`blob`]: image bytes in an `object_store`, written under never-reused keys.
//! - [`ingest`]: the upload path (checks, blob first, catalog second).
//! - [`tasks`]: workers of the persistent task queue; [`maintenance`] its periodic sweep; [`produce`] renders operations and
//!   [`task_callback`] builds the callbacks of their tasks.
//! - [`imageinfo`]: header-only facts about an image (type, size, EXIF date, GPS).
//! - [`paths`]: path normalisation and naming rules; [`result_code`]: the API's result codes.
//! - [`lenient_json`]: JSON bodies in strict form or the single-quoted form older clients send.
//! - [`check`]: `pictor check`, which compares the catalog with the object store.
//! - [`config`], [`context`], [`metrics`], [`server`]: configuration, shared state,
//!   Prometheus metrics, and process start/stop.

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod blob;
pub mod callback;
pub mod catalog;
pub mod check;
pub mod config;
pub mod context;
pub mod http;
pub mod imageinfo;
pub mod imaging;
pub mod ingest;
pub mod lenient_json;
pub mod maintenance;
pub mod metrics;
pub mod operation;
pub mod paths;
pub mod produce;
pub mod realtime;
pub mod render;
pub mod result_code;
pub mod server;
pub mod task_callback;
pub mod tasks;
pub mod transform;
