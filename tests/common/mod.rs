//! Test harness: starts the real `pictor` binary on an ephemeral port with a temporary data
//! directory, and helpers to drive it over HTTP. Each file holds one concern; everything is
//! re-exported here so tests write `use common::{...}`.
//!
//! Every test binary includes this module and uses only part of it, so unused helpers are
//! allowed here, once, for the whole tree, and unused re-exported names once, below.
#![allow(dead_code)]

mod api;
mod assert;
pub mod callback_receiver;
mod cli;
mod corpus;
mod images;
mod metrics;
mod raw_http;
mod s3;
mod server;
mod tasks;
mod tus;

#[allow(unused_imports)]
pub use self::{
    assert::*, cli::*, corpus::*, images::*, metrics::*, raw_http::*, s3::*, server::*, tasks::*,
    tus::*,
};
