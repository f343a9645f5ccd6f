//! Result callbacks: a JSON body POSTed to the client's `callbackUrl`.
//!
//! A callback is first stored in the catalog's outbox, so a restart does not lose it; a
//! background sender ([`sender`]) claims due rows under a lease, delivers them with bounded
//! concurrency overall and per host, retries with backoff and deletes them once delivered or
//! given up. Callback URLs only reach public addresses unless
//! `callbacks.allow_private_networks` is set ([`target`], [`address`]).

pub mod address;
pub mod sender;
pub mod target;

pub use target::{parse_target, CallbackTarget, TargetPolicy};

use crate::catalog::{Catalog, NewCallback};
use crate::config::CallbacksConfig;
use crate::result_code::ResultCode;
use prometheus::IntCounter;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use target::{FilteringResolver, Host, LookupError, Lookups};
use tokio::sync::Notify;

/// Queues callbacks in the outbox and checks callback URLs.
#[derive(Clone)]
pub struct Callbacks {
    /// Where pending callbacks are kept.
    catalog: Arc<dyn Catalog>,
    /// What callback URLs may name.
    policy: TargetPolicy,
    /// Bounded name lookups of request-time checks; deliveries have their own in the client's
    /// resolver, so names that clients make slow cannot starve deliveries.
    lookups: Lookups,
    /// HTTP client: configured timeout, no redirects, no proxy, filtering resolver.
    client: reqwest::Client,
    /// Wakes the sender when a callback is queued.
    queued: Arc<Notify>,
    /// Callbacks given up or dropped.
    failures: IntCounter,
    /// The `[callbacks]` settings.
    config: CallbacksConfig,
}

impl Callbacks {
    /// A queue over `catalog`'s outbox with the `[callbacks]` settings; given-up and dropped
    /// callbacks are counted in `failures`.
    pub fn new(
        config: &CallbacksConfig,
        catalog: Arc<dyn Catalog>,
        failures: IntCounter,
    ) -> Result<Self, reqwest::Error> {
        let policy = TargetPolicy {
            allowed_ports: config.allowed_ports.clone(),
            allow_private_networks: config.allow_private_networks,
        };
        let lookups = || {
            Lookups::new(
                config.concurrency.max(1),
                Duration::from_millis(config.resolve_timeout_ms.max(1)),
            )
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(FilteringResolver {
                policy: policy.clone(),
                lookups: lookups(),
            }))
            .build()?;
        Ok(Self {
            catalog,
            policy,
            lookups: lookups(),
            client,
            queued: Arc::new(Notify::new()),
            failures,
            config: config.clone(),
        })
    }

    /// Checks a callback URL without any lookup (see [`parse_target`]).
    pub fn parse(&self, raw: &str) -> Result<CallbackTarget, ResultCode> {
        parse_target(raw, &self.policy)
    }

    /// Checks a callback URL given in a request: [`parse_target`], then, for a host name, a
    /// lookup bounded by `callbacks.resolve_timeout_ms`; a name whose every address is refused
    /// answers 11051. A lookup that fails, times out or finds no free slot does not refuse the
    /// URL: each delivery resolves again and connects only to allowed addresses.
    pub async fn check(&self, raw: &str) -> Result<CallbackTarget, ResultCode> {
        let checked = self.parse(raw)?;
        if self.policy.allow_private_networks {
            return Ok(checked);
        }
        let url = reqwest::Url::parse(&checked.url).map_err(|_| ResultCode::InvalidUrl)?;
        if let Some((Host::Name(name), port)) = target::host_and_port(&url) {
            match self
                .lookups
                .allowed_addrs(&name, port, &self.policy, false)
                .await
            {
                Err(LookupError::Refused(_)) => return Err(ResultCode::InvalidUrl),
                Err(e) => tracing::debug!(error = %e, "callback host not checked at request time"),
                Ok(_) => {}
            }
        }
        Ok(checked)
    }

    /// Stores a callback in the outbox for the sender. When the outbox is full or the catalog
    /// fails, the callback is dropped, logged and counted as failed.
    pub async fn send(&self, target: &CallbackTarget, body: Value) {
        let callback = NewCallback {
            url: target.url.clone(),
            body: body.to_string(),
            max_tries: self.config.max_tries.max(1),
            backoff_ms: self.config.backoff_ms,
            created_at: crate::clock::now_ms(),
        };
        match self
            .catalog
            .add_callback(&callback, self.config.max_pending)
            .await
        {
            Ok(true) => self.queued.notify_one(),
            Ok(false) => {
                self.failures.inc();
                tracing::warn!(url = %target.url, max_pending = self.config.max_pending,
                    "callback outbox full; callback dropped");
            }
            Err(e) => {
                self.failures.inc();
                tracing::warn!(url = %target.url, error = %e, "callback not queued");
            }
        }
    }
}
