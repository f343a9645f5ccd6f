//! The body of a management API request. Handlers borrow it and read what they need; the
//! dispatcher drains whatever they left before answering, so a client that is still sending
//! reads the answer instead of a reset connection. Whatever the protocol, a client must keep
//! sending the body at the configured minimum rate (`server.read_timeout_secs`,
//! `server.min_read_bytes_per_sec`); HTTP/2 streams are not covered by the socket's own rule.

use crate::http::timed_io::{Progress, Window};
use bytes::Bytes;
use http::HeaderMap;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed or the client sent a malformed body.
    #[error(transparent)]
    Read(#[from] hyper::Error),
    /// The client sent less than the minimum for a whole window.
    #[error("{0}")]
    Stalled(std::io::Error),
}

/// A request body that counts the bytes read from it.
pub struct RequestBody {
    inner: Incoming,
    progress: Window,
    announced: Option<u64>,
    expects_continue: bool,
    polled: bool,
    ended: bool,
    read: u64,
}

impl RequestBody {
    /// Wraps the body of a request with `headers`, which must arrive with `progress`.
    pub fn new(inner: Incoming, headers: &HeaderMap, progress: Progress) -> Self {
        let announced = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let expects_continue = headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        Self {
            inner,
            progress: Window::new(progress),
            announced,
            expects_continue,
            polled: false,
            ended: false,
            read: 0,
        }
    }

    /// The length the client announced in `Content-Length`.
    pub fn announced(&self) -> Option<u64> {
        self.announced
    }

    /// Body bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The next chunk of data, `None` at the end of the body.
    pub async fn data(&mut self) -> Option<Result<Bytes, BodyError>> {
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut *self).poll_frame(cx)).await?;
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        return Some(Ok(data));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Reads and drops the rest of the body while the whole of it stays within `cap` bytes.
    /// Returns whether the body was read to its end, so the connection can serve another
    /// request; `false` when it is larger than `cap`, broken, or was never asked for by a
    /// client waiting for `100 Continue` (which then does not send it at all).
    pub async fn drain(&mut self, cap: u64) -> bool {
        if self.is_end_stream() {
            return true;
        }
        if self.announced.is_some_and(|n| n > cap) || (self.expects_continue && !self.polled) {
            return false;
        }
        while self.read <= cap {
            match self.data().await {
                None => return true,
                Some(Ok(_)) => {}
                Some(Err(_)) => return false,
            }
        }
        false
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        this.polled = true;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read += data.len() as u64;
                    this.progress.moved(data.len());
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => match this.progress.waiting(
                cx,
                "the client sent too little of its request body for too long",
            ) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Some(Err(BodyError::Stalled(e)))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
