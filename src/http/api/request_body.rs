//! The body of a management API request. Handlers borrow it and read what they need; the
//! dispatcher drains whatever they left before answering, so a client that is still sending
//! reads the answer instead of a reset connection.

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A request body that counts the bytes read from it.
pub struct RequestBody {
    inner: Incoming,
    announced: Option<u64>,
    expects_continue: bool,
    polled: bool,
    ended: bool,
    read: u64,
}

impl RequestBody {
    /// Wraps the body of a request with `headers`.
    pub fn new(inner: Incoming, headers: &HeaderMap) -> Self {
        let announced = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let expects_continue = headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        Self {
            inner,
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
    pub async fn data(&mut self) -> Option<Result<Bytes, hyper::Error>> {
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
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        this.polled = true;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read += data.len() as u64;
                }
            }
            Poll::Ready(None) => this.ended = true,
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
