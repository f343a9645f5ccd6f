//! Miss coalescing: concurrent requests for one key share one computation. The computation
//! runs as a task of its own, so a caller that goes away (a client hanging up) neither cancels
//! it nor leaves its key behind.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// The computation ended without a result: it panicked or the runtime shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the shared computation ended without a result")]
pub struct Abandoned;

/// Computations in flight, by key: each publishes its result once on a watch channel.
type Flights<K, V> = Arc<Mutex<HashMap<K, watch::Receiver<Option<V>>>>>;

/// Runs at most one computation per key at a time; callers arriving meanwhile get its result.
pub struct SingleFlight<K, V> {
    /// Computations in flight, by key.
    inflight: Flights<K, V>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            inflight: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// Owned by the computation's task: publishes the result and, however the task ends (done,
/// panicked, dropped at shutdown), removes the key so the next caller computes anew.
struct Landing<K: Hash + Eq, V> {
    flights: Flights<K, V>,
    key: K,
    result: watch::Sender<Option<V>>,
}

impl<K: Hash + Eq, V> Drop for Landing<K, V> {
    fn drop(&mut self) {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Returns the result of the computation for `key`. The first caller starts it with
    /// `start` and spawns it; it runs to its end even if every caller stops waiting.
    pub async fn run<F, Fut>(&self, key: &K, start: F) -> Result<V, Abandoned>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V> + Send + 'static,
    {
        let (mut waiting, leader) = {
            let mut flights = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
            match flights.get(key) {
                Some(flight) => (flight.clone(), None),
                None => {
                    let (tx, rx) = watch::channel(None);
                    flights.insert(key.clone(), rx.clone());
                    (rx, Some(tx))
                }
            }
        };
        if let Some(result) = leader {
            let landing = Landing {
                flights: Arc::clone(&self.inflight),
                key: key.clone(),
                result,
            };
            let computation = start();
            tokio::spawn(async move {
                let value = computation.await;
                landing.result.send_replace(Some(value));
                drop(landing);
            });
        }
        let value = waiting
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Abandoned)?;
        value.clone().ok_or(Abandoned)
    }

    /// Number of keys being computed.
    pub fn in_flight(&self) -> usize {
        self.inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_computation() {
        let flight = Arc::new(SingleFlight::<String, usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..16 {
            let (flight, runs) = (Arc::clone(&flight), Arc::clone(&runs));
            handles.push(tokio::spawn(async move {
                flight
                    .run(&"k".to_owned(), || async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 100
                    })
                    .await
            }));
        }
        for h in handles {
            assert_eq!(h.await.expect("join"), Ok(100));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flight.in_flight(), 0);
        let again = flight.run(&"k".to_owned(), || async { 5 }).await;
        assert_eq!(again, Ok(5), "a finished key computes anew");
    }

    #[tokio::test]
    async fn a_computation_outlives_its_cancelled_callers() {
        let flight = Arc::new(SingleFlight::<String, usize>::default());
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let finished = Arc::new(AtomicUsize::new(0));
        let leader = {
            let (flight, finished) = (Arc::clone(&flight), Arc::clone(&finished));
            tokio::spawn(async move {
                flight
                    .run(&"k".to_owned(), || async move {
                        let _ = released.await;
                        finished.fetch_add(1, Ordering::SeqCst);
                        42
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(flight.in_flight(), 1);
        leader.abort();
        assert!(leader.await.is_err(), "the leader was cancelled");
        let follower = {
            let flight = Arc::clone(&flight);
            tokio::spawn(async move { flight.run(&"k".to_owned(), || async { 0 }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        release.send(()).expect("release");
        assert_eq!(
            follower.await.expect("join"),
            Ok(42),
            "the follower gets the result"
        );
        assert_eq!(finished.load(Ordering::SeqCst), 1, "computed once");
        for _ in 0..100 {
            if flight.in_flight() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(flight.in_flight(), 0, "the key is removed");
    }

    #[tokio::test]
    async fn a_panicking_computation_is_abandoned_and_its_key_removed() {
        let flight = SingleFlight::<String, usize>::default();
        let got = flight
            .run(&"k".to_owned(), || async { panic!("boom") })
            .await;
        assert_eq!(got, Err(Abandoned));
        assert_eq!(flight.in_flight(), 0);
        assert_eq!(flight.run(&"k".to_owned(), || async { 1 }).await, Ok(1));
    }
}
