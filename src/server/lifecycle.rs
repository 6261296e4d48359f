//! A process's end: SIGTERM (or Ctrl-C) stops taking connections, lets the requests in flight
//! finish (at most `SHUTDOWN_GRACE_SECONDS`), then stops the background workers between two pieces
//! of work (a mail being sent is sent, a sweep's transaction commits) and closes the database.
use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::watch, task::JoinHandle};

/// A running worker: its name (for the log) and its task.
type Worker = (&'static str, JoinHandle<()>);

/// The stop signal the workers watch, and their handles (to wait for them).
#[derive(Clone, Debug)]
pub struct Shutdown {
    stop: Arc<watch::Sender<bool>>,
    workers: Arc<Mutex<Vec<Worker>>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            stop: Arc::new(watch::channel(false).0),
            workers: Default::default(),
        }
    }
}

impl Shutdown {
    /// Asks every worker to stop after its current piece of work.
    pub fn begin(&self) {
        self.stop.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once [`Shutdown::begin`] has been called.
    pub async fn stopping(&self) {
        let mut rx = self.stop.subscribe();
        // An error means the sender is gone: nobody can ask any more, so never resolve.
        if rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Runs a worker; [`Shutdown::stop_workers`] waits for it.
    pub fn spawn(&self, name: &'static str, work: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(work);
        if let Ok(mut w) = self.workers.lock() {
            w.push((name, handle));
        }
    }

    /// Sleeps `period`, or less if the process is stopping: says whether to go on.
    pub async fn pause(&self, period: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(period) => !self.is_stopping(),
            _ = self.stopping() => false,
        }
    }

    /// Stops the workers and waits for them, at most `within`; a worker still busy then is
    /// aborted (and named in the log). Answers whether all stopped on their own.
    pub async fn stop_workers(&self, within: Duration) -> bool {
        self.begin();
        let workers: Vec<_> = self
            .workers
            .lock()
            .map(|mut w| w.drain(..).collect())
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + within;
        let mut clean = true;
        for (name, mut handle) in workers {
            if tokio::time::timeout_at(deadline, &mut handle)
                .await
                .is_err()
            {
                tracing::warn!(worker = name, "worker still busy at the deadline: stopped");
                handle.abort();
                clean = false;
            }
        }
        clean
    }
}

/// Resolves at SIGTERM or Ctrl-C.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::Shutdown;
    use std::time::Duration;

    #[tokio::test]
    async fn workers_stop_between_two_pieces_of_work() {
        let shutdown = Shutdown::default();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, d) = (shutdown.clone(), done.clone());
        shutdown.spawn("counter", async move {
            while s.pause(Duration::from_millis(5)).await {
                d.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(shutdown.stop_workers(Duration::from_secs(2)).await);
        let after = done.load(std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), after);
        assert!(after > 0);
    }

    #[tokio::test]
    async fn a_worker_stuck_past_the_deadline_is_aborted() {
        let shutdown = Shutdown::default();
        shutdown.spawn("stuck", std::future::pending());
        assert!(!shutdown.stop_workers(Duration::from_millis(20)).await);
    }
}
