//! The bounded CPU pool for image work. At most `workers` jobs run at once, at most `queue`
//! more wait; anything beyond is refused at once ([`PoolError::Overloaded`]), so overload
//! costs a fast 503 instead of memory.

use prometheus::IntGauge;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Why a job did not run to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full.
    #[error("render pool overloaded")]
    Overloaded,
    /// The job panicked or was cancelled.
    #[error("render job aborted")]
    Aborted,
}

/// A bounded pool running blocking jobs off the async reactor.
#[derive(Clone)]
pub struct RenderPool {
    /// Permits to run: one per worker.
    running: Arc<Semaphore>,
    /// Permits to be admitted at all: workers plus queue slots.
    admitted: Arc<Semaphore>,
    /// Jobs admitted but waiting for a worker.
    queued: IntGauge,
}

impl RenderPool {
    /// A pool of `workers` concurrent jobs with `queue` waiting slots; `queued` reports the
    /// number waiting.
    pub fn new(workers: usize, queue: usize, queued: IntGauge) -> Self {
        let workers = workers.max(1);
        Self {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + queue)),
            queued,
        }
    }

    /// Runs `job` on a worker when one is free, or refuses it if the queue is full.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let admission = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| PoolError::Overloaded)?;
        self.execute(job, Some(admission)).await
    }

    /// Runs `job` on a worker, waiting as long as it takes: for background tasks, whose number
    /// is already bounded by the task workers, so they never meet the 503 of an HTTP request.
    pub async fn run_waiting<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.execute(job, None).await
    }

    async fn execute<T, F>(
        &self,
        job: F,
        admission: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.queued.inc();
        let worker = Arc::clone(&self.running).acquire_owned().await;
        self.queued.dec();
        let worker = worker.map_err(|_| PoolError::Aborted)?;
        let out = tokio::task::spawn_blocking(move || {
            let _worker = worker;
            job()
        })
        .await
        .map_err(|_| PoolError::Aborted);
        drop(admission);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_beyond_workers_plus_queue() {
        let gauge = IntGauge::new("q", "q").expect("gauge");
        let pool = RenderPool::new(1, 1, gauge.clone());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let blocker = {
            let pool = pool.clone();
            let rx = Arc::clone(&rx);
            tokio::spawn(async move {
                pool.run(move || rx.lock().map(|r| r.recv().is_ok()).unwrap_or(false))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gauge.get(), 1, "one job waits");
        assert_eq!(pool.run(|| 1).await, Err(PoolError::Overloaded));
        let background = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run_waiting(|| 9).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            gauge.get(),
            2,
            "a background job waits instead of being refused"
        );
        tx.send(()).expect("unblock");
        assert_eq!(background.await.expect("join"), Ok(9));
        assert_eq!(blocker.await.expect("join"), Ok(true));
        assert_eq!(waiting.await.expect("join"), Ok(7));
        assert_eq!(pool.run(|| 3).await, Ok(3), "capacity is returned");
        assert_eq!(gauge.get(), 0);
    }
}
