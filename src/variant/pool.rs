//! The bounded CPU pool for image work: `workers` threads of its own, at most `workers` jobs
//! running and at most `queue` more waiting; anything beyond is refused at once
//! ([`PoolError::Overloaded`]), so overload costs a fast 503 instead of memory.
//!
//! The threads run at a lower scheduling priority (`render.nice`) than the threads that serve
//! requests, so a saturated pool never makes a cache hit, an upload or the next request's
//! catalog lookup wait for a render's time slice to end.

use prometheus::IntGauge;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

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

/// A job as the worker threads receive it.
type Job = Box<dyn FnOnce() + Send>;

/// A bounded pool running blocking jobs on its own threads, off the async reactor.
#[derive(Clone)]
pub struct RenderPool {
    /// Permits to run: one per worker thread.
    running: Arc<Semaphore>,
    /// Permits to be admitted at all: workers plus queue slots.
    admitted: Arc<Semaphore>,
    /// Jobs admitted but waiting for a worker.
    queued: IntGauge,
    /// Hands jobs to the worker threads; holds at most one per worker (a job is sent only
    /// with a running permit). The threads end when the last pool clone is dropped.
    jobs: crossbeam_channel::Sender<Job>,
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
    /// A pool of `workers` threads with `queue` waiting slots; `queued` reports the number
    /// waiting. The threads run at nice value `nice` (see [`worker`]).
    pub fn new(workers: usize, queue: usize, queued: IntGauge, nice: i32) -> Self {
        let workers = workers.max(1);
        let (jobs, inbox) = crossbeam_channel::bounded::<Job>(workers);
        for i in 0..workers {
            let inbox = inbox.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("pictor-render-{i}"))
                .spawn(move || worker(&inbox, nice));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a render thread");
            }
        }
        Self {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + queue)),
            queued,
            jobs,
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
        let (done, result) = oneshot::channel();
        let run: Job = Box::new(move || {
            // Declared before the places, so that a panicking job frees them (dropped in
            // reverse order) before its caller sees `Aborted`; a job that returns frees them
            // before its result is sent. Either way the caller finds its place free again.
            let done = done;
            let places = (worker, admission);
            let out = job();
            drop(places);
            // The receiver may be gone (the caller stopped waiting); the work still counts.
            let _ = done.send(out);
        });
        self.jobs.send(run).map_err(|_| PoolError::Aborted)?;
        result.await.map_err(|_| PoolError::Aborted)
    }
}

/// A worker thread: takes the nice value `nice` (unless the process already runs nicer), then
/// runs jobs until the pool is gone. A panicking job is contained here (its caller sees
/// [`PoolError::Aborted`]) and the thread goes on.
fn worker(inbox: &crossbeam_channel::Receiver<Job>, nice: i32) {
    let me = rustix::thread::gettid();
    let current = rustix::process::getpriority_process(Some(me)).unwrap_or(0);
    if nice > current {
        if let Err(e) = rustix::process::setpriority_process(Some(me), nice) {
            tracing::warn!(error = %e, nice, "could not lower the render thread's priority");
        }
    }
    while let Ok(job) = inbox.recv() {
        if std::panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("a render job panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_beyond_workers_plus_queue() {
        let gauge = IntGauge::new("q", "q").expect("gauge");
        let pool = RenderPool::new(1, 1, gauge.clone(), 0);
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
        let pool = RenderPool::new(1, 0, gauge.clone(), 0);
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

    #[tokio::test]
    async fn a_panicking_job_is_aborted_and_the_thread_goes_on() {
        let gauge = IntGauge::new("q", "q").expect("gauge");
        let pool = RenderPool::new(1, 0, gauge, 0);
        let panicked = pool.run(|| -> u32 { panic!("decoder bug") }).await;
        assert_eq!(panicked, Err(PoolError::Aborted));
        assert_eq!(
            pool.run(|| 5).await,
            Ok(5),
            "the one worker still runs jobs"
        );
    }

    #[tokio::test]
    async fn workers_run_on_their_own_threads_at_the_configured_nice_value() {
        let gauge = IntGauge::new("q", "q").expect("gauge");
        let pool = RenderPool::new(2, 0, gauge, 19);
        let (name, nice) = pool
            .run(|| {
                let me = rustix::thread::gettid();
                (
                    std::thread::current().name().map(str::to_owned),
                    rustix::process::getpriority_process(Some(me)).ok(),
                )
            })
            .await
            .expect("job");
        assert!(name.is_some_and(|n| n.starts_with("pictor-render-")));
        assert_eq!(nice, Some(19));
        let mine = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        assert_ne!(
            mine.ok(),
            Some(19),
            "the caller's thread keeps its priority"
        );
    }
}
