//! The change feed: changes announced with `NOTIFY` in the transaction that makes them, and
//! received on a connection of its own that `LISTEN`s.
//!
//! A change is sent with `pg_notify` as the JSON of [`Change`]. PostgreSQL delivers it to every
//! listening connection when (and only if) the transaction commits, so a node never hears of a
//! change that was rolled back, nor of one before it is visible.
//!
//! Each feed is one task that owns one connection (not from the pool, which recycles its
//! connections): it forwards each notification into the bounded channel the caller receives.
//! When the channel is full, the change is dropped and a [`FeedEvent::Gap`] follows as soon as
//! there is room. When the connection is lost, the task connects again (waiting 100 ms, doubled
//! up to 5 s between attempts), listens again and sends a gap: changes may have been missed
//! meanwhile. The task ends when the receiver is dropped.

use super::{backend, execute, PgCatalog};
use crate::catalog::{CatalogError, CatalogResult, Change, ChangeFeed, FeedEvent};
use deadpool_postgres::Transaction;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Config, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The channel changes are announced on.
const CHANNEL: &str = "pictor_changes";

/// The statement that subscribes a connection to [`CHANNEL`].
const LISTEN: &str = "LISTEN pictor_changes";

/// Events a feed holds for a receiver that falls behind.
pub(super) const FEED_CAPACITY: usize = 1024;

/// Payloads PostgreSQL accepts are shorter than 8000 bytes.
const MAX_PAYLOAD: usize = 7999;

/// The first wait before connecting again.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between attempts to connect again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Idle time of the feed's connection before TCP probes it, then the time between probes and
/// the probes lost before the connection counts as dead: a silent network loss is found in
/// about half a minute rather than the system's default of hours.
const KEEPALIVE: (Duration, Duration, u32) = (Duration::from_secs(10), Duration::from_secs(5), 3);

/// Why a feed's connection ended.
#[derive(Debug, thiserror::Error)]
enum FeedError {
    /// Connecting, listening or reading failed.
    #[error("change feed connection: {0}")]
    Connection(#[source] tokio_postgres::Error),
    /// The server closed the connection.
    #[error("the server closed the change feed connection")]
    Closed,
    /// The feed's task ended before it was listening.
    #[error("the change feed ended before it was listening")]
    Ended,
}

/// Announces `change` to every node's feed when `tx` commits. A payload too long for `NOTIFY`
/// (a path longer than the default `limits.max_path_bytes`, full of characters JSON escapes)
/// is announced as the change of the whole app, which makes every variant the change touches
/// stale too.
pub(super) async fn announce(tx: &Transaction<'_>, change: &Change) -> CatalogResult<()> {
    execute(
        tx,
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &payload(change)?],
    )
    .await?;
    Ok(())
}

/// The JSON `NOTIFY` carries for `change`: the change's own, or its app's when that is too long.
fn payload(change: &Change) -> CatalogResult<String> {
    let own = serde_json::to_string(change).map_err(CatalogError::backend)?;
    if own.len() <= MAX_PAYLOAD {
        return Ok(own);
    }
    let whole_app = Change::App {
        app_key: app_of(change).to_owned(),
    };
    serde_json::to_string(&whole_app).map_err(CatalogError::backend)
}

/// The app a change belongs to.
fn app_of(change: &Change) -> &str {
    match change {
        Change::Source { app_key, .. }
        | Change::Below { app_key, .. }
        | Change::Operation { app_key, .. }
        | Change::App { app_key } => app_key,
    }
}

/// Opens a feed of `capacity` events: returns once its connection listens, so every change
/// committed after this returns is delivered (or followed by a gap).
pub(super) async fn subscribe(catalog: &PgCatalog, capacity: usize) -> CatalogResult<ChangeFeed> {
    let (sender, feed) = mpsc::channel(capacity.max(1));
    let (ready, listening) = oneshot::channel();
    let mut config = catalog.config.clone();
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE.0)
        .keepalives_interval(KEEPALIVE.1)
        .keepalives_retries(KEEPALIVE.2);
    tokio::spawn(follow(config, catalog.tls.clone(), sender, ready));
    match listening.await {
        Ok(Ok(())) => Ok(feed),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(CatalogError::backend(FeedError::Ended)),
    }
}

/// Feeds `sender` from one connection after another until the receiver is dropped. The first
/// connection's outcome goes to `ready`: when it fails, the task ends there.
async fn follow(
    config: Config,
    tls: Option<MakeRustlsConnect>,
    sender: mpsc::Sender<FeedEvent>,
    ready: oneshot::Sender<CatalogResult<()>>,
) {
    let mut out = Forwarder {
        sender,
        missed: false,
    };
    let mut ready = Some(ready);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let session = match &tls {
            None => session(&config, NoTls, &mut out, &mut ready, &mut backoff).await,
            Some(tls) => session(&config, tls.clone(), &mut out, &mut ready, &mut backoff).await,
        };
        let lost = match session {
            Ok(()) => return,
            Err(lost) => lost,
        };
        if let Some(ready) = ready.take() {
            let failure = match lost {
                FeedError::Connection(e) => backend(e),
                other => CatalogError::backend(other),
            };
            let _ = ready.send(Err(failure));
            return;
        }
        tracing::warn!(error = %lost, retry_in_ms = backoff.as_millis(), "change feed lost; connecting again");
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = out.sender.closed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection of a feed: connects, listens, then forwards notifications until the
/// connection fails (the error) or the receiver is dropped (`Ok`). Once it listens, it answers
/// `ready` if nobody has been answered yet, else sends a gap, and resets `backoff`.
async fn session<T>(
    config: &Config,
    tls: T,
    out: &mut Forwarder,
    ready: &mut Option<oneshot::Sender<CatalogResult<()>>>,
    backoff: &mut Duration,
) -> Result<(), FeedError>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, mut connection) = tokio::select! {
        connected = config.connect(tls) => connected.map_err(FeedError::Connection)?,
        () = out.sender.closed() => return Ok(()),
    };
    let listen = client.batch_execute(LISTEN);
    tokio::pin!(listen);
    // Waits for room for the gap owed; a handle of its own, as its permit outlives the poll.
    let room = out.sender.clone();
    let mut listening = false;
    loop {
        tokio::select! {
            done = &mut listen, if !listening => {
                done.map_err(FeedError::Connection)?;
                listening = true;
                *backoff = FIRST_BACKOFF;
                match ready.take() {
                    Some(ready) => {
                        let _ = ready.send(Ok(()));
                    }
                    None => {
                        tracing::info!("change feed listening again");
                        out.send(FeedEvent::Gap);
                    }
                }
            }
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(note))) => out.forward(note.payload()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(FeedError::Connection(e)),
                None => return Err(FeedError::Closed),
            },
            permit = room.reserve(), if out.missed => match permit {
                Ok(permit) => {
                    permit.send(FeedEvent::Gap);
                    out.missed = false;
                }
                Err(_) => return Ok(()),
            },
            () = out.sender.closed() => return Ok(()),
        }
    }
}

/// The sending end of a feed, with the gap it owes.
struct Forwarder {
    /// The channel the receiver reads.
    sender: mpsc::Sender<FeedEvent>,
    /// Whether events were dropped since the last gap was sent.
    missed: bool,
}

impl Forwarder {
    /// Forwards a notification's payload as its change; one that does not parse is a gap.
    fn forward(&mut self, payload: &str) {
        match serde_json::from_str::<Change>(payload) {
            Ok(change) => self.send(FeedEvent::Change(change)),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable change on the feed; treated as a gap");
                self.send(FeedEvent::Gap);
            }
        }
    }

    /// Sends an event now, after the gap owed if any; when the channel is full, drops it and
    /// owes a gap.
    fn send(&mut self, event: FeedEvent) {
        if self.missed {
            match self.sender.try_send(FeedEvent::Gap) {
                Ok(()) => self.missed = false,
                Err(_) => return,
            }
            if event == FeedEvent::Gap {
                return;
            }
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = self.sender.try_send(event) {
            self.missed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_too_long_to_announce_is_announced_as_its_apps() {
        let short = Change::Source {
            app_key: "A".to_owned(),
            path: "/a/b.jpg".to_owned(),
        };
        let text = payload(&short).expect("payload");
        assert_eq!(serde_json::from_str::<Change>(&text).expect("parse"), short);
        // A path beyond the default limit, of a character JSON writes as six.
        let long = Change::Below {
            app_key: "A".to_owned(),
            folder: format!("/{}", "\u{1}".repeat(1400)),
        };
        assert!(serde_json::to_string(&long).expect("json").len() > MAX_PAYLOAD);
        let text = payload(&long).expect("payload");
        assert_eq!(
            serde_json::from_str::<Change>(&text).expect("parse"),
            Change::App {
                app_key: "A".to_owned()
            }
        );
    }
}
