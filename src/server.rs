//! Process start and stop for `pictor serve`: open the context, create the default app on an
//! empty catalog, listen, run the task workers, and drain on SIGTERM/SIGINT.

use crate::catalog::AppRecord;
use crate::config::Config;
use crate::context::{Context, StartError};
use crate::http;
use std::io::Write;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The JSON line printed for an app: its keys and container.
pub fn app_json(app: &AppRecord) -> serde_json::Value {
    serde_json::json!({
        "appKey": app.app_key,
        "secretKey": app.secret_key,
        "container": app.container,
        "name": app.name,
        "realtimeService": app.realtime_service,
    })
}

/// Runs the server until SIGTERM or SIGINT, then drains and returns.
pub async fn run(config: Config) -> Result<(), StartError> {
    let listener = TcpListener::bind(config.listen_addr()?).await?;
    let bound = listener.local_addr()?;
    let ctx = Arc::new(Context::open(config, Some(bound))?);
    let mut stdout = std::io::stdout();
    if ctx.catalog.apps().await?.is_empty() {
        let app = ctx.create_app("default").await?;
        writeln!(stdout, "created default app {}", app_json(&app))?;
    }
    writeln!(stdout, "listening on http://{bound}")?;
    stdout.flush()?;
    tracing::info!(%bound, public_url = %ctx.public_url, "pictor started");

    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = crate::tasks::spawn_workers(&ctx, &stop_rx);
    let callback_sender = ctx.callbacks.spawn_sender(stop_rx.clone());
    http::serve(Arc::clone(&ctx), listener, shutdown_signal()).await?;
    tracing::info!("stopped accepting; in-flight requests drained");
    let _ = stop_tx.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    let _ = callback_sender.await;
    Ok(())
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
