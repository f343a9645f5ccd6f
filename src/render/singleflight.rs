//! Miss coalescing: concurrent requests for one key share one computation.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Runs at most one computation per key at a time; callers arriving meanwhile get its result.
pub struct SingleFlight<K, V> {
    /// Computations in flight, by key.
    inflight: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> SingleFlight<K, V> {
    /// Returns the result of `compute` for `key`, running it only if no other caller is.
    /// If the running caller is cancelled, a waiting one takes over.
    pub async fn run<F, Fut>(&self, key: &K, compute: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = match self.inflight.lock() {
            Ok(mut map) => Arc::clone(
                map.entry(key.clone())
                    .or_insert_with(|| Arc::new(OnceCell::new())),
            ),
            Err(_) => Arc::new(OnceCell::new()),
        };
        let value = cell.get_or_init(compute).await.clone();
        if let Ok(mut map) = self.inflight.lock() {
            if map.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(key);
            }
        }
        value
    }

    /// Number of keys being computed.
    pub fn in_flight(&self) -> usize {
        self.inflight.lock().map_or(0, |m| m.len())
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
                    .run(&"k".to_owned(), || async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 100
                    })
                    .await
            }));
        }
        for h in handles {
            assert_eq!(h.await.expect("join"), 100);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flight.in_flight(), 0);
        let again = flight.run(&"k".to_owned(), || async { 5 }).await;
        assert_eq!(again, 5, "a finished key computes anew");
    }
}
