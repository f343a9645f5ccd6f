//! The bounded CPU pool for image work. At most `workers` jobs run at once, at most `queue`
//! more wait; anything beyond is refused at once ([`PoolError::Overloaded`]), so overload
//! costs a fast 503 instead of memory.

use prometheus::IntGauge;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// A place in the pool (running or queued), taken before a request loads its inputs and held
/// until it has stored its result, so everything requests have started is bounded by the
/// pool's size.
#[derive(Debug)]
pub struct Admission {
    _permit: OwnedSemaphorePermit,
}

/// Counts a job as waiting for a worker for as long as it lives, however the wait ends.
struct Waiting<'a>(&'a IntGauge);

impl<'a> Waiting<'a> {
    fn new(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
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

    /// Takes a place in the pool, or refuses at once if every worker and queue slot is taken.
    pub fn admit(&self) -> Result<Admission, PoolError> {
        Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map(|permit| Admission { _permit: permit })
            .map_err(|_| PoolError::Overloaded)
    }

    /// Runs `job` on a worker when one is free, or refuses it if the queue is full.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let admission = self.admit()?;
        self.execute(job, Some(admission)).await
    }

    /// Runs `job` in the place `_admission` holds, taken earlier with [`RenderPool::admit`];
    /// the caller keeps it until its work is complete, beyond this job.
    pub async fn run_admitted<T, F>(&self, _admission: &Admission, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.execute(job, None).await
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

    /// Waits for a worker and runs `job` there. The admission moves into the job, so a caller
    /// that stops waiting for the result does not free its place while the job still runs.
    async fn execute<T, F>(&self, job: F, admission: Option<Admission>) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let waiting = Waiting::new(&self.queued);
        let worker = Arc::clone(&self.running).acquire_owned().await;
        drop(waiting);
        let worker = worker.map_err(|_| PoolError::Aborted)?;
        tokio::task::spawn_blocking(move || {
            let _places = (worker, admission);
            job()
        })
        .await
        .map_err(|_| PoolError::Aborted)
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

    #[tokio::test]
    async fn an_abandoned_wait_leaves_no_count_and_keeps_its_place_until_the_job_ends() {
        let gauge = IntGauge::new("q", "q").expect("gauge");
        let pool = RenderPool::new(1, 0, gauge.clone());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || rx.recv().is_ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiter = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run_waiting(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gauge.get(), 1, "one job waits");
        waiter.abort();
        assert!(waiter.await.is_err(), "the waiter was cancelled");
        assert_eq!(gauge.get(), 0, "the cancelled wait is no longer counted");
        busy.abort();
        let _ = busy.await;
        assert_eq!(
            pool.admit().map(drop),
            Err(PoolError::Overloaded),
            "the abandoned running job still holds its place"
        );
        tx.send(()).expect("unblock");
        let mut admitted = None;
        for _ in 0..100 {
            if let Ok(a) = pool.admit() {
                admitted = Some(a);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let admission = admitted.expect("the place is returned when the job ends");
        assert_eq!(pool.run_admitted(&admission, || 3).await, Ok(3));
        assert_eq!(gauge.get(), 0);
    }
}
