//! Result callbacks: a JSON body POSTed to the client's `callbackUrl`, retried with backoff in
//! the background so that a slow or dead receiver never holds up a worker.

use crate::result_code::ResultCode;
use http::Uri;
use prometheus::IntCounter;
use serde_json::Value;
use std::time::Duration;

/// A checked callback URL and the `id` its query carries (echoed back in the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The URL to POST to.
    pub url: String,
    /// The `id` query parameter, or empty.
    pub id: String,
}

/// Checks a callback URL: http or https, on one of `allowed_ports` (80 and 443 by default,
/// answering 11051 otherwise).
pub fn parse_target(raw: &str, allowed_ports: &[u16]) -> Result<CallbackTarget, ResultCode> {
    let uri: Uri = raw.trim().parse().map_err(|_| ResultCode::InvalidUrl)?;
    let default_port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return Err(ResultCode::InvalidUrl),
    };
    if uri.host().is_none_or(str::is_empty) {
        return Err(ResultCode::InvalidUrl);
    }
    let port = uri.port_u16().unwrap_or(default_port);
    if !allowed_ports.contains(&port) {
        return Err(ResultCode::InvalidUrl);
    }
    let id = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("id="))
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    Ok(CallbackTarget {
        url: raw.trim().to_owned(),
        id,
    })
}

/// Sends callbacks.
#[derive(Clone)]
pub struct Callbacks {
    /// HTTP client with the configured timeout.
    client: reqwest::Client,
    /// Attempts per callback.
    max_tries: u32,
    /// Delay before the second attempt; doubled for each further one.
    first_backoff: Duration,
    /// Callbacks that failed every attempt.
    failures: IntCounter,
}

impl Callbacks {
    /// A sender with a per-request `timeout`, `max_tries` attempts and exponential backoff.
    pub fn new(
        timeout: Duration,
        max_tries: u32,
        first_backoff: Duration,
        failures: IntCounter,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            max_tries: max_tries.max(1),
            first_backoff,
            failures,
        })
    }

    /// POSTs `body` to the target in the background, retrying on failure.
    pub fn send(&self, target: &CallbackTarget, body: Value) {
        let this = self.clone();
        let url = target.url.clone();
        tokio::spawn(async move {
            let mut backoff = this.first_backoff;
            for attempt in 1..=this.max_tries {
                match this.client.post(&url).json(&body).send().await {
                    Ok(resp) if resp.status().is_success() => return,
                    Ok(resp) => {
                        tracing::warn!(%url, status = %resp.status(), attempt, "callback refused");
                    }
                    Err(e) => tracing::warn!(%url, error = %e, attempt, "callback failed"),
                }
                if attempt < this.max_tries {
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
            }
            this.failures.inc();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ids() {
        let t = parse_target("http://example.com/cb?id=100&x=1", &[80, 443]).expect("ok");
        assert_eq!(t.id, "100");
        assert!(parse_target("https://example.com/cb", &[80, 443]).is_ok());
        assert_eq!(
            parse_target("http://example.com:8080/cb", &[80, 443]),
            Err(ResultCode::InvalidUrl)
        );
        assert!(parse_target("http://127.0.0.1:8080/cb", &[80, 443, 8080]).is_ok());
        assert_eq!(
            parse_target("ftp://example.com/cb", &[80, 443]),
            Err(ResultCode::InvalidUrl)
        );
        assert_eq!(
            parse_target("not a url", &[80]),
            Err(ResultCode::InvalidUrl)
        );
    }
}
