//! Long-running services of `vaarta serve` (HTTP API now; SIP listener and job workers later),
//! started together and stopped together on SIGTERM / Ctrl-C or when any of them fails.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// A future that completes when the process is shutting down. Pass it to each service.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// The set of named services; see [`Services::spawn`].
pub struct Services {
    tasks: JoinSet<(&'static str, Result<()>)>,
    stop: watch::Sender<bool>,
}

impl Services {
    pub fn new() -> Self {
        Self {
            tasks: JoinSet::new(),
            stop: watch::channel(false).0,
        }
    }

    /// Starts service `name`. `make` gets a [`Shutdown`] future and must return once it fires
    /// (after draining its work). Returning early, with or without error, stops all others.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, make: F)
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let fut = make(Shutdown(self.stop.subscribe()));
        self.tasks.spawn(async move {
            tracing::info!(service = name, "service started");
            (name, fut.await)
        });
    }

    /// Runs until a signal or until one service ends, then asks all to stop and waits up to
    /// `grace` for them. Returns the first service error, if any.
    pub async fn run(mut self, grace: Duration) -> Result<()> {
        let mut first_error = None;
        tokio::select! {
            sig = shutdown_signal() => tracing::info!(signal = sig, "shutting down"),
            Some(done) = self.tasks.join_next() => {
                let (name, result) = done.context("service task panicked")?;
                match result {
                    Ok(()) => tracing::warn!(service = name, "service stopped by itself; shutting down"),
                    Err(e) => {
                        tracing::error!(service = name, error = %format!("{e:#}"), "service failed; shutting down");
                        first_error = Some(e.context(format!("service {name}")));
                    }
                }
            }
        }
        let _ = self.stop.send(true);
        let drain = async {
            while let Some(done) = self.tasks.join_next().await {
                match done {
                    Ok((name, Ok(()))) => tracing::info!(service = name, "service stopped"),
                    Ok((name, Err(e))) => {
                        tracing::error!(service = name, error = %format!("{e:#}"), "service failed while stopping");
                        first_error.get_or_insert(e.context(format!("service {name}")));
                    }
                    Err(e) => tracing::error!(error = %e, "service task panicked"),
                }
            }
        };
        if tokio::time::timeout(grace, drain).await.is_err() {
            tracing::warn!(?grace, "services did not stop in time; aborting them");
        }
        first_error.map_or(Ok(()), Err)
    }
}

async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
        "SIGTERM"
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<&'static str>();
    tokio::select! { s = ctrl_c => s, s = term => s }
}
