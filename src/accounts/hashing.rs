//! The threads that compute password hashes, and the bounded queue in front of them.
//!
//! Each argon2 hash takes 19 MiB and tens of milliseconds of one core; more at once than there
//! are cores adds no speed, only memory. On tokio's blocking pool, a rush of logins (or of wrong
//! passwords sent on purpose) ran hundreds at once and the kernel killed the server for its memory
//! (23 GiB in the rush benchmark); even a few at a time, spread over the pool's many threads, left
//! 19 MiB in each thread's allocator arena (700 MiB). Here the memory is one hash per thread, work
//! waits in a queue of bounded length, and a full queue is answered "busy" at once.
use crate::error::AppError;
use std::sync::{
    mpsc::{sync_channel, SyncSender, TrySendError},
    Arc, Mutex, OnceLock,
};

/// Hashes waiting, at most, per core: about 80 seconds of work at 25 hashes a second (the measured
/// rate), which the ticket-launch rush benchmark stays under (README, "Production"). Past it, a
/// sign-in is answered "busy, try again" at once instead of waiting minutes.
const QUEUED_PER_CORE: usize = 2048;

type Job = Box<dyn FnOnce() + Send>;

/// Worker threads taking jobs from one bounded queue.
pub struct Hashers {
    queue: SyncSender<Job>,
}

impl Hashers {
    /// `threads` threads, and at most `queued` jobs waiting for them.
    pub fn start(threads: usize, queued: usize) -> Hashers {
        let (queue, jobs) = sync_channel::<Job>(queued);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    let job = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panic in one hash fails that request only, never the thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Hashers { queue }
    }

    /// Queues `work` for a hashing thread at once, and answers a future that waits for it. A full
    /// queue answers [`AppError::Busy`] at once; the work of a request whose client has gone (the
    /// future dropped) is skipped when its turn comes.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, AppError>> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        let queued = match self.queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                tracing::debug!("password hashing queue full: a request is answered busy");
                Err(AppError::Busy)
            }
            Err(TrySendError::Disconnected(_)) => Err(AppError::Internal),
        };
        async move {
            queued?;
            result.await.map_err(|_| AppError::Internal)
        }
    }
}

/// The process's hashers: one thread per core.
pub fn hashers() -> &'static Hashers {
    static HASHERS: OnceLock<Hashers> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Hashers::start(cores, cores * QUEUED_PER_CORE)
    })
}

#[cfg(test)]
mod tests {
    use super::Hashers;
    use crate::error::AppError;
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once_and_work_nobody_waits_for_is_skipped() {
        let hashers = Hashers::start(1, 2);
        // The one thread is held busy until `release` is dropped.
        let (started, has_started) = std::sync::mpsc::channel::<()>();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let busy = hashers.run(move || {
            let _ = started.send(());
            held.recv().is_err()
        });
        tokio::task::spawn_blocking(move || has_started.recv())
            .await
            .unwrap()
            .unwrap();
        // Two wait in the queue: one whose client leaves, one that is waited for.
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = |ran: &Arc<AtomicUsize>| {
            let ran = ran.clone();
            move || ran.fetch_add(1, Ordering::SeqCst)
        };
        let gone = hashers.run(counted(&ran));
        let waited = hashers.run(counted(&ran));
        // A third finds the queue full: answered busy, without waiting.
        assert!(matches!(hashers.run(|| 0).await, Err(AppError::Busy)));
        drop(gone);
        drop(release);
        assert!(busy.await.unwrap());
        assert!(waited.await.is_ok());
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "the work of the client gone was skipped"
        );
        // The queue has room again.
        assert_eq!(hashers.run(|| 7).await.unwrap(), 7);
    }
}
