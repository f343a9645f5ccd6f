//! Process start and stop for `pictor serve`: open the context, build the services, create the
//! default app on an empty catalog, follow the catalog's change feed, listen, run the task
//! workers, and drain on SIGTERM/SIGINT.

use super::{app_json, open_context, StartError};
use crate::config::Config;
use crate::http;
use crate::variant::Variants;
use std::io::Write;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Runs the server until SIGTERM or SIGINT, then drains and returns.
pub async fn run(config: Config) -> Result<(), StartError> {
    http::api::body_memory::check_budget(&config)?;
    let listener = TcpListener::bind(config.listen_addr()?).await?;
    let bound = listener.local_addr()?;
    let metrics_listener = match config.metrics_addr()? {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    let ctx = Arc::new(open_context(config, Some(bound)).await?);
    let changes = ctx.catalog.subscribe_changes().await?;
    let variants = Arc::new(Variants::new(Arc::clone(&ctx)));
    let state = Arc::new(http::State::new(Arc::clone(&variants)));
    let mut stdout = std::io::stdout();
    if ctx.catalog.apps().await?.is_empty() {
        let app = ctx.create_app("default").await?;
        writeln!(stdout, "created default app {}", app_json(&app))?;
    }
    writeln!(stdout, "listening on http://{bound}")?;
    if let Some(metrics) = &metrics_listener {
        writeln!(
            stdout,
            "metrics on http://{}/metrics",
            metrics.local_addr()?
        )?;
    }
    stdout.flush()?;
    tracing::info!(%bound, public_url = %ctx.public_url, "pictor started");

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = crate::jobs::spawn_workers(&variants, &stop_rx);
    if let Some(feed) = changes {
        workers.push(tokio::spawn(crate::variant::follow_changes(
            Arc::clone(&variants),
            feed,
            stop_rx.clone(),
        )));
    }
    let callback_sender = ctx.callbacks.spawn_sender(stop_rx.clone());
    let (down_tx, down_rx) = watch::channel(false);
    let metrics_server = metrics_listener.map(|metrics| {
        tokio::spawn(http::serve(
            Arc::clone(&state),
            metrics,
            http::Door::Metrics,
            stopped(down_rx.clone()),
        ))
    });
    let door = http::Door::Main {
        metrics: metrics_server.is_none(),
    };
    let main_server = http::serve(state, listener, door, stopped(down_rx));
    tokio::pin!(main_server);
    tokio::select! {
        result = &mut main_server => result?,
        () = shutdown_signal() => {
            let _ = down_tx.send(true);
            main_server.await?;
        }
    }
    let _ = down_tx.send(true);
    if let Some(metrics_server) = metrics_server {
        if let Ok(Err(e)) = metrics_server.await {
            tracing::warn!(error = %e, "metrics listener ended with an error");
        }
    }
    tracing::info!("stopped accepting; in-flight requests drained");
    let _ = stop_tx.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    let _ = callback_sender.await;
    Ok(())
}

/// Resolves once `down` holds `true` (or its sender is gone).
async fn stopped(mut down: watch::Receiver<bool>) {
    let _ = down.wait_for(|down| *down).await;
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
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
        () = ctrl_c => {}
        () = term => {}
    }
}
