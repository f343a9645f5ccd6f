//! Callback URLs: syntax, scheme and port checks, the address check of IP literals, and the
//! bounded name lookup that keeps only the addresses a callback may reach.

use super::address;
use crate::result_code::ResultCode;
use reqwest::Url;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A checked callback URL and the `id` its query carries (echoed back in the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The URL to POST to.
    pub url: String,
    /// The `id` query parameter, or empty.
    pub id: String,
}

/// What a callback URL may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Ports a callback URL may use.
    pub allowed_ports: Vec<u16>,
    /// Whether loopback, private and other internal addresses may be reached.
    pub allow_private_networks: bool,
}

impl TargetPolicy {
    /// Whether a callback may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private_networks || address::is_public(ip)
    }
}

/// The host of a callback URL as the HTTP client will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IP literal (in any of the forms URLs accept, such as `2130706433` or `[::1]`).
    Ip(IpAddr),
    /// A name to resolve.
    Name(String),
}

/// Parses a callback URL the way the HTTP client will: its host (normalised) and port.
pub fn host_and_port(url: &Url) -> Option<(Host, u16)> {
    let port = url.port_or_known_default()?;
    let host = url.host_str().filter(|h| !h.is_empty())?;
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host = match bare.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Name(host.to_owned()),
    };
    Some((host, port))
}

/// Checks a callback URL without any lookup: http or https, on one of the allowed ports (80 and
/// 443 by default), and, when its host is an IP literal, an address the policy allows. Answers
/// 11051 otherwise.
pub fn parse_target(raw: &str, policy: &TargetPolicy) -> Result<CallbackTarget, ResultCode> {
    let trimmed = raw.trim();
    let url = Url::parse(trimmed).map_err(|_| ResultCode::InvalidUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ResultCode::InvalidUrl);
    }
    let (host, port) = host_and_port(&url).ok_or(ResultCode::InvalidUrl)?;
    if !policy.allowed_ports.contains(&port) {
        return Err(ResultCode::InvalidUrl);
    }
    if let Host::Ip(ip) = host {
        if !policy.allows(ip) {
            return Err(ResultCode::InvalidUrl);
        }
    }
    let id = url
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
        url: trimmed.to_owned(),
        id,
    })
}

/// Why a name lookup gave no address to connect to.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The lookup did not answer in time.
    #[error("lookup of {0} timed out")]
    Timeout(String),
    /// The lookup failed.
    #[error("lookup of {0} failed: {1}")]
    Failed(String, String),
    /// Every address of the name is refused.
    #[error("{0} resolves only to refused addresses")]
    Refused(String),
}

/// Bounded name lookups: at most as many at once as the semaphore holds (each lookup holds its
/// permit until the system resolver returns, even after the caller gave up waiting), each
/// awaited for at most `timeout`.
#[derive(Debug, Clone)]
pub struct Lookups {
    /// Permits for lookups in flight.
    permits: Arc<Semaphore>,
    /// How long a caller waits for one lookup.
    timeout: Duration,
}

impl Lookups {
    /// At most `concurrent` lookups at once, each awaited for at most `timeout`.
    pub fn new(concurrent: usize, timeout: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            timeout,
        }
    }

    /// Resolves `name` and keeps the addresses `policy` allows, waiting for a free lookup slot
    /// (within the timeout) when `wait` is set and giving up at once otherwise (`Ok(None)`).
    pub async fn allowed_addrs(
        &self,
        name: &str,
        port: u16,
        policy: &TargetPolicy,
        wait: bool,
    ) -> Result<Option<Vec<SocketAddr>>, LookupError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let permit = if wait {
            tokio::time::timeout_at(deadline, Arc::clone(&self.permits).acquire_owned())
                .await
                .map_err(|_| LookupError::Timeout(name.to_owned()))?
                .map_err(|e| LookupError::Failed(name.to_owned(), e.to_string()))?
        } else {
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => return Ok(None),
            }
        };
        let host = name.to_owned();
        let lookup = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            (host.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
        });
        let addrs = tokio::time::timeout_at(deadline, lookup)
            .await
            .map_err(|_| LookupError::Timeout(name.to_owned()))?
            .map_err(|e| LookupError::Failed(name.to_owned(), e.to_string()))?
            .map_err(|e| LookupError::Failed(name.to_owned(), e.to_string()))?;
        let allowed: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| policy.allows(a.ip()))
            .collect();
        if allowed.is_empty() {
            return Err(LookupError::Refused(name.to_owned()));
        }
        Ok(Some(allowed))
    }
}

/// The HTTP client's resolver: only the addresses the policy allows are handed to the
/// connector, so the address that was checked is the one connected to.
pub struct FilteringResolver {
    /// What may be reached.
    pub policy: TargetPolicy,
    /// Bounded lookups.
    pub lookups: Lookups,
}

impl reqwest::dns::Resolve for FilteringResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let lookups = self.lookups.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = lookups
                .allowed_addrs(&name, 0, &policy, true)
                .await?
                .unwrap_or_default();
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ports: &[u16], allow_private_networks: bool) -> TargetPolicy {
        TargetPolicy {
            allowed_ports: ports.to_vec(),
            allow_private_networks,
        }
    }

    #[test]
    fn ports_and_ids() {
        let p = policy(&[80, 443], false);
        let t = parse_target("http://example.com/cb?id=100&x=1", &p).expect("ok");
        assert_eq!(t.id, "100");
        assert!(parse_target("https://example.com/cb", &p).is_ok());
        assert_eq!(
            parse_target("http://example.com:8080/cb", &p),
            Err(ResultCode::InvalidUrl)
        );
        assert!(parse_target("http://127.0.0.1:8080/cb", &policy(&[8080], true)).is_ok());
        assert_eq!(
            parse_target("ftp://example.com/cb", &p),
            Err(ResultCode::InvalidUrl)
        );
        assert_eq!(parse_target("not a url", &p), Err(ResultCode::InvalidUrl));
    }

    #[test]
    fn internal_literals_are_refused_in_every_spelling() {
        let p = policy(&[80, 443], false);
        for url in [
            "http://127.0.0.1/cb",
            "http://127.1/cb",
            "http://2130706433/cb",
            "http://0x7f000001/cb",
            "http://0/cb",
            "http://10.0.0.1/cb",
            "https://192.168.0.10/cb",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/cb",
            "http://[::ffff:127.0.0.1]/cb",
            "http://[::ffff:7f00:1]/cb",
            "http://[64:ff9b::a00:1]/cb",
            "http://[fd00::1]/cb",
            "http://[fe80::1]/cb",
        ] {
            assert_eq!(parse_target(url, &p), Err(ResultCode::InvalidUrl), "{url}");
        }
        assert!(parse_target("http://93.184.215.14/cb", &p).is_ok());
        assert!(parse_target("http://[2606:4700:4700::1111]/cb", &p).is_ok());
        assert!(parse_target("http://127.0.0.1/cb", &policy(&[80], true)).is_ok());
    }

    #[tokio::test]
    async fn lookups_keep_only_allowed_addresses() {
        let lookups = Lookups::new(2, Duration::from_secs(5));
        let refused = lookups
            .allowed_addrs("localhost", 80, &policy(&[80], false), true)
            .await;
        assert!(
            matches!(refused, Err(LookupError::Refused(_))),
            "{refused:?}"
        );
        let allowed = lookups
            .allowed_addrs("localhost", 80, &policy(&[80], true), true)
            .await
            .expect("lookup")
            .expect("a slot was free");
        assert!(allowed.iter().all(|a| a.ip().is_loopback()), "{allowed:?}");
    }
}
