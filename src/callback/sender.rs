//! The outbox sender: a background loop that claims due callbacks under a lease, delivers them
//! with at most `callbacks.concurrency` in flight overall and `callbacks.per_host_concurrency`
//! per host and port, and records each outcome: delivered and given-up rows are deleted, failed
//! attempts are due again after an exponential backoff, rows whose host is busy wait briefly
//! without an attempt being counted.

use super::Callbacks;
use crate::catalog::{CallbackOutcome, PendingCallback};
use crate::clock::now_ms;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

/// How often the sender looks for due callbacks when nothing wakes it.
const POLL: Duration = Duration::from_millis(500);
/// How long a callback whose host is busy waits before it can be claimed again.
const HOST_BUSY_DELAY_MS: i64 = 250;
/// Margin of a claim's lease over the longest delivery (lookup plus request).
const LEASE_MARGIN_MS: u64 = 5_000;
/// The backoff stops doubling after this many failed attempts.
const MAX_DOUBLINGS: u32 = 20;

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    /// The URL is no longer allowed (port, or an internal address).
    #[error("callback URL refused")]
    Refused,
    /// The request failed (lookup, connection, timeout).
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The receiver answered with a status other than 2xx.
    #[error("receiver answered {0}")]
    Status(reqwest::StatusCode),
}

impl Callbacks {
    /// Starts the sender. It stops when `stop` turns true; deliveries still in flight are
    /// abandoned, and their rows are sent again once their lease ends (at least once).
    pub fn spawn_sender(&self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.run_sender(stop).await })
    }

    async fn run_sender(self, mut stop: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let hosts = HostSlots::new(self.config.per_host_concurrency.max(1));
        let mut deliveries = JoinSet::new();
        while !*stop.borrow() {
            while deliveries.try_join_next().is_some() {}
            self.start_due(&slots, &hosts, &mut deliveries).await;
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = self.queued.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                Some(_) = deliveries.join_next(), if !deliveries.is_empty() => {}
            }
        }
        deliveries.shutdown().await;
    }

    /// How long a claim holds a row: the longest a delivery can take, plus a margin.
    fn lease_ms(&self) -> i64 {
        let longest = self
            .config
            .timeout_secs
            .max(1)
            .saturating_mul(1000)
            .saturating_add(self.config.resolve_timeout_ms)
            .saturating_add(LEASE_MARGIN_MS);
        i64::try_from(longest).unwrap_or(i64::MAX / 2)
    }

    /// Claims as many due rows as there are free delivery slots and starts their deliveries.
    async fn start_due(
        &self,
        slots: &Arc<Semaphore>,
        hosts: &HostSlots,
        deliveries: &mut JoinSet<()>,
    ) {
        let free = slots.available_permits();
        if free == 0 {
            return;
        }
        let now = now_ms();
        let claimed = match self
            .catalog
            .claim_callbacks(now, now.saturating_add(self.lease_ms()), free)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim callbacks");
                return;
            }
        };
        for row in claimed {
            let key = host_key(&row.url);
            let (Ok(slot), Some(host)) = (Arc::clone(slots).try_acquire_owned(), hosts.take(&key))
            else {
                let at = now.saturating_add(HOST_BUSY_DELAY_MS);
                self.record(&row, CallbackOutcome::Postpone(at)).await;
                continue;
            };
            let this = self.clone();
            deliveries.spawn(async move {
                let _held = (slot, host);
                let outcome = this.attempt(&row).await;
                this.record(&row, outcome).await;
            });
        }
    }

    /// One delivery attempt and what it means for the row.
    async fn attempt(&self, row: &PendingCallback) -> CallbackOutcome {
        let why = match self.deliver(row).await {
            Ok(()) => return CallbackOutcome::Remove,
            Err(why) => why,
        };
        let attempts = row.attempts.saturating_add(1);
        tracing::warn!(url = %row.url, attempt = attempts, error = %chain(&why), "callback failed");
        if attempts >= row.max_tries {
            self.failures.inc();
            tracing::warn!(url = %row.url, attempts, "callback given up");
            return CallbackOutcome::Remove;
        }
        CallbackOutcome::Retry(now_ms().saturating_add(backoff_ms(row.backoff_ms, attempts)))
    }

    /// POSTs the row's body. The URL is checked again (ports and IP literals); host names go
    /// through the client's filtering resolver.
    async fn deliver(&self, row: &PendingCallback) -> Result<(), DeliveryError> {
        self.parse(&row.url).map_err(|_| DeliveryError::Refused)?;
        let resp = self
            .client
            .post(row.url.trim())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(row.body.clone())
            .send()
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Status(resp.status()))
        }
    }

    /// Stores the outcome of a claimed row.
    async fn record(&self, row: &PendingCallback, outcome: CallbackOutcome) {
        if let Err(e) = self.catalog.finish_callback(row, outcome).await {
            tracing::warn!(url = %row.url, error = %e, "cannot record callback outcome");
        }
    }
}

/// An error and its sources, joined by `: ` (the HTTP client's own message omits the cause,
/// such as a refused address).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The wait after `attempts` failed attempts: `first`, doubled for each further attempt.
fn backoff_ms(first: u64, attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(MAX_DOUBLINGS);
    i64::try_from(first.saturating_mul(1u64 << doublings)).unwrap_or(i64::MAX / 2)
}

/// The host and port a callback URL is delivered to.
fn host_key(url: &str) -> String {
    reqwest::Url::parse(url.trim())
        .ok()
        .and_then(|u| {
            let port = u.port_or_known_default()?;
            Some(format!("{}:{port}", u.host_str()?))
        })
        .unwrap_or_else(|| url.to_owned())
}

/// Deliveries in flight per host and port; an entry exists only while a delivery holds it,
/// so the map never holds more entries than deliveries in flight.
#[derive(Clone)]
struct HostSlots {
    /// Deliveries allowed at once per host.
    per_host: usize,
    /// Deliveries in flight per host.
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl HostSlots {
    fn new(per_host: usize) -> Self {
        Self {
            per_host,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for `key`, or `None` when its deliveries are at the limit.
    fn take(&self, key: &str) -> Option<HostSlot> {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = map.entry(key.to_owned()).or_insert(0);
        if *count >= self.per_host {
            return None;
        }
        *count += 1;
        Some(HostSlot {
            slots: self.clone(),
            key: key.to_owned(),
        })
    }
}

/// One delivery's hold on its host; released on drop.
struct HostSlot {
    /// The table it came from.
    slots: HostSlots,
    /// Its host and port.
    key: String,
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let mut map = self
            .slots
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_saturates() {
        assert_eq!(backoff_ms(1000, 1), 1000);
        assert_eq!(backoff_ms(1000, 3), 4000);
        assert_eq!(backoff_ms(1000, 500), 1000 << MAX_DOUBLINGS);
        assert_eq!(backoff_ms(u64::MAX, 5), i64::MAX / 2);
    }

    #[test]
    fn host_slots_are_bounded_and_released() {
        let hosts = HostSlots::new(2);
        let a = hosts.take("h:80").expect("first");
        let b = hosts.take("h:80").expect("second");
        assert!(hosts.take("h:80").is_none(), "third refused");
        assert!(hosts.take("other:80").is_some());
        drop(a);
        assert!(hosts.take("h:80").is_some());
        drop(b);
        assert!(hosts.in_flight.lock().expect("lock").is_empty());
    }

    #[test]
    fn host_keys_name_host_and_port() {
        assert_eq!(host_key("http://Example.COM/cb"), "example.com:80");
        assert_eq!(host_key("https://h:8443/x"), "h:8443");
    }
}
