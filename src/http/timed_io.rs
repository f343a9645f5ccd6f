//! A socket wrapper that closes connections whose peer stops moving bytes: while the server
//! waits to read, the client must send at least a minimum number of bytes per window, and while
//! the server waits to write, the client must read at least as much. Idle HTTP/2 connections
//! are closed the same way (an HTTP/2 connection with a request in progress is left to the
//! request). One timer per direction is allocated per connection, none per request.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The first bytes of an HTTP/2 connection preface.
const H2_PREFACE_START: &[u8] = b"PRI ";

/// How much progress a peer must make while the server waits on it.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Length of one window.
    pub window: Duration,
    /// Bytes that must move in each window (at least 1).
    pub min_bytes: u64,
}

impl Progress {
    /// `rate` bytes per second over windows of `window`; at least one byte per window.
    pub fn new(window: Duration, rate: u64) -> Self {
        let min_bytes = rate.saturating_mul(window.as_secs()).max(1);
        Self { window, min_bytes }
    }
}

/// Requests in progress on one connection, counted by the service.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    /// Counts one request until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(Arc::clone(self))
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

/// Keeps one request counted in [`InFlight`].
#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One direction's progress window: opened when the server starts waiting, checked when it
/// expires while the server still waits.
#[derive(Debug)]
pub(crate) struct Window {
    rule: Progress,
    timer: Option<Pin<Box<Sleep>>>,
    open: bool,
    moved: u64,
}

impl Window {
    /// A window with no wait begun.
    pub(crate) fn new(rule: Progress) -> Self {
        Self {
            rule,
            timer: None,
            open: false,
            moved: 0,
        }
    }

    /// Counts `n` bytes of progress.
    pub(crate) fn moved(&mut self, n: usize) {
        if self.open {
            self.moved = self.moved.saturating_add(n as u64);
        }
    }

    fn close(&mut self) {
        self.open = false;
    }

    /// Called when an operation is pending: errors when a whole window passed without the
    /// minimum progress, otherwise registers the waker for the window's end.
    /// A window that ended more than a window ago expired while nobody waited on the peer
    /// (the server was busy); it is restarted rather than judged.
    pub(crate) fn waiting(&mut self, cx: &mut Context<'_>, what: &'static str) -> io::Result<()> {
        let now = Instant::now();
        let deadline = now + self.rule.window;
        let stale = self
            .timer
            .as_ref()
            .is_some_and(|t| t.deadline() + self.rule.window <= now);
        if !self.open || stale {
            self.open = true;
            self.moved = 0;
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let Some(timer) = self.timer.as_mut() else {
            return Ok(());
        };
        if timer.as_mut().poll(cx).is_pending() {
            return Ok(());
        }
        if self.moved < self.rule.min_bytes {
            return Err(io::Error::new(io::ErrorKind::TimedOut, what));
        }
        self.moved = 0;
        timer.as_mut().reset(deadline);
        let _ = timer.as_mut().poll(cx);
        Ok(())
    }
}

/// A stream whose reads and writes must keep making progress.
#[derive(Debug)]
pub struct TimedIo<S> {
    inner: S,
    read: Window,
    write: Window,
    in_flight: Arc<InFlight>,
    preface_seen: usize,
    http2: bool,
}

impl<S> TimedIo<S> {
    /// Wraps `inner`; `in_flight` tells whether an HTTP/2 connection has a request running.
    pub fn new(inner: S, read: Progress, write: Progress, in_flight: Arc<InFlight>) -> Self {
        Self {
            inner,
            read: Window::new(read),
            write: Window::new(write),
            in_flight,
            preface_seen: 0,
            http2: false,
        }
    }

    /// Accounts for a write: bytes written count as the client's progress (and a response
    /// under way ends the wait for the client to send); a write that cannot proceed waits
    /// under the write window.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(n)) => {
                self.write.moved(n);
                if n > 0 {
                    self.read.close();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self
                .write
                .waiting(cx, "client read too little for too long")
            {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }

    /// Notes whether the connection opens with the HTTP/2 preface.
    fn sniff(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let Some(&expected) = H2_PREFACE_START.get(self.preface_seen) else {
                return;
            };
            if b != expected {
                self.preface_seen = usize::MAX;
                return;
            }
            self.preface_seen += 1;
            self.http2 = self.preface_seen == H2_PREFACE_START.len();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let got = &buf.filled()[before..];
                if this.preface_seen < H2_PREFACE_START.len() {
                    this.sniff(got);
                }
                this.read.moved(got.len());
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if this.http2 && this.in_flight.any() {
                    this.read.close();
                    return Poll::Pending;
                }
                match this.read.waiting(cx, "client sent too little for too long") {
                    Ok(()) => Poll::Pending,
                    Err(e) => Poll::Ready(Err(e)),
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
