//! Pictor: a self-hosted image service with two front doors on one catalog.
//!
//! Layers, each importing only the ones below it (ARCHITECTURE.md lists what each may import):
//! - [`app`]: the composition root: opens the resources, builds the services, runs the commands.
//! - [`http`]: the hyper server. [`http::delivery`] answers `GET /<container>/<path>`;
//!   [`http::api`] is the management API under `/image/v2.0/appkeys/{appKey}/...`, one file
//!   per section of the API guide; [`http::ops`] serves `/metrics`, `/healthz`, `/readyz`.
//! - Services: [`variant`] (operation results: cache tiers, render pool, single flight),
//!   [`ingest`] (uploads and archives: checks, blob first, catalog second) and [`jobs`] (the
//!   persistent task queue, its callbacks and the periodic sweep).
//! - [`context`]: the resources the services share.
//! - Stores and specs: [`catalog`] (metadata behind the [`catalog::Catalog`] trait),
//!   [`storage`] (image bytes in an `object_store`), [`callback`] (callback targets and the
//!   outbox sender), [`operation`] (operation specs, one file per template).
//! - [`imaging`]: pure image work, importing nothing of the crate.
//! - Leaves: [`config`], [`metrics`], [`paths`], [`result_code`], [`lenient_json`],
//!   [`imageinfo`], [`clock`].

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod callback;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod context;
pub mod http;
pub mod imageinfo;
pub mod imaging;
pub mod ingest;
pub mod jobs;
pub mod lenient_json;
pub mod metrics;
pub mod operation;
pub mod paths;
pub mod result_code;
pub mod storage;
pub mod variant;
