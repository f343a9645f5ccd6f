//! TLS to the PostgreSQL server, for a URL with `sslmode=require`: rustls (the `ring` provider),
//! the server's certificate checked against the authorities of `catalog.tls_ca_file` (else the
//! Mozilla roots built in) and against the URL's host, as libpq's `verify-full` checks it.
//! Without `sslmode=require` (`disable`, or the default `prefer`) connections use no TLS.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Why the TLS of the catalog's connections could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The authorities' file could not be read or holds no certificate.
    #[error("catalog.tls_ca_file {path}: {why}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The connector of a URL parsed as `config`: `None` for no TLS.
pub(super) fn connector(
    config: &tokio_postgres::Config,
    ca_file: Option<&Path>,
) -> Result<Option<MakeRustlsConnect>, TlsError> {
    if config.get_ssl_mode() != SslMode::Require {
        return Ok(None);
    }
    let roots = match ca_file {
        Some(path) => authorities(path)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(tls)))
}

/// The certificates of a PEM file, as trusted roots.
fn authorities(path: &Path) -> Result<RootCertStore, TlsError> {
    let bad = |why: String| TlsError::CaFile {
        path: path.to_owned(),
        why,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(bad("no certificate in it".to_owned()));
    }
    Ok(roots)
}
