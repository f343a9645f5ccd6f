//! Builds the `object_store` backend a storage URL names: a local directory (fsynced writes),
//! or an S3, Google Cloud Storage or Azure client with bounded timeouts and retries, under the
//! URL's key prefix.
//!
//! Cloud clients take their settings from the standard environment variables (`AWS_*`,
//! `GOOGLE_*`, `AZURE_*`, read by `object_store`); for S3 the `[storage]` settings win over
//! them. With an endpoint, S3 buckets are addressed path-style (`<endpoint>/<bucket>`), as
//! S3-compatible servers (Garage, MinIO, SeaweedFS, Ceph RGW) expect, unless virtual-hosted
//! style is asked for.

use super::settings::{ClientSettings, S3Settings, Settings};
use super::url::{self, Backend, Bucket};
use super::BlobError;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientConfigKey, ClientOptions, ObjectStore, RetryConfig};
use std::path::Path;
use std::sync::Arc;

/// The store `settings.url` names, rooted at its key prefix.
pub fn backend(settings: &Settings) -> Result<Arc<dyn ObjectStore>, BlobError> {
    let backend = url::parse(&settings.url, &settings.default_dir)?;
    if !matches!(backend, Backend::S3(_)) && settings.s3.any_set() {
        return Err(BlobError::UnsupportedUrl {
            url: settings.url.clone(),
            reason: "storage.endpoint, region, access_key_id, secret_access_key, allow_http and \
                     virtual_hosted_style apply to s3:// URLs only"
                .to_owned(),
        });
    }
    let failed = |source| BlobError::Open {
        url: settings.url.clone(),
        source,
    };
    match backend {
        Backend::Local(dir) => local(&dir),
        Backend::S3(bucket) => {
            let store = s3(&bucket.name, &settings.s3, &settings.client)
                .build()
                .map_err(failed)?;
            Ok(under_prefix(store, bucket))
        }
        Backend::Gcs(bucket) => {
            let builder = GoogleCloudStorageBuilder::from_env().with_bucket_name(&bucket.name);
            let allow_http =
                builder.get_config_value(&GoogleConfigKey::Client(ClientConfigKey::AllowHttp));
            let store = builder
                .with_client_options(client_options(&settings.client, allow_http))
                .with_retry(retry(&settings.client))
                .build()
                .map_err(failed)?;
            Ok(under_prefix(store, bucket))
        }
        Backend::Azure(bucket) => {
            let builder = MicrosoftAzureBuilder::from_env().with_container_name(&bucket.name);
            let allow_http =
                builder.get_config_value(&AzureConfigKey::Client(ClientConfigKey::AllowHttp));
            let store = builder
                .with_client_options(client_options(&settings.client, allow_http))
                .with_retry(retry(&settings.client))
                .build()
                .map_err(failed)?;
            Ok(under_prefix(store, bucket))
        }
    }
}

/// A local directory, created if missing. A put returns only once the file and the directory
/// entries leading to it are on stable storage, so an upload is never acknowledged before
/// its bytes are durable.
fn local(dir: &Path) -> Result<Arc<dyn ObjectStore>, BlobError> {
    std::fs::create_dir_all(dir).map_err(|source| BlobError::Directory {
        dir: dir.to_owned(),
        source,
    })?;
    let store = LocalFileSystem::new_with_prefix(dir)
        .map_err(BlobError::Store)?
        .with_automatic_cleanup(true)
        .with_fsync(true);
    Ok(Arc::new(store))
}

/// `store`, or a view of it under the bucket's key prefix.
fn under_prefix<T: ObjectStore>(store: T, bucket: Bucket) -> Arc<dyn ObjectStore> {
    match bucket.prefix {
        Some(prefix) => Arc::new(PrefixStore::new(store, prefix)),
        None => Arc::new(store),
    }
}

/// The S3 client builder: the `AWS_*` variables, then the settings given, which win.
fn s3(bucket: &str, s3: &S3Settings, client: &ClientSettings) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(region) = &s3.region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &s3.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &s3.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    // The S3-specific variable wins over the generic one in the builder; a configured
    // endpoint wins over both.
    let endpoint = s3.endpoint.clone().or_else(|| {
        builder
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint))
    });
    if let Some(endpoint) = endpoint {
        let endpoint = if s3.virtual_hosted_style {
            virtual_hosted(&endpoint, bucket)
        } else {
            endpoint
        };
        builder = builder
            .with_config(AmazonS3ConfigKey::S3Endpoint, endpoint.clone())
            .with_endpoint(endpoint);
    }
    let allow_http = s3.allow_http.map(|b| b.to_string()).or_else(|| {
        builder.get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
    });
    builder
        .with_virtual_hosted_style_request(s3.virtual_hosted_style)
        .with_client_options(client_options(client, allow_http))
        .with_retry(retry(client))
}

/// `endpoint` with the bucket as the first label of its host: `https://bucket.host:port`.
fn virtual_hosted(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, host)) => format!("{scheme}://{bucket}.{host}"),
        None => format!("{bucket}.{endpoint}"),
    }
}

/// The HTTP client's bounds; `allow_http` is the textual setting, when one is given.
fn client_options(client: &ClientSettings, allow_http: Option<String>) -> ClientOptions {
    let options = ClientOptions::new()
        .with_connect_timeout(client.connect_timeout)
        .with_timeout(client.request_timeout);
    match allow_http {
        Some(value) => options.with_config(ClientConfigKey::AllowHttp, value),
        None => options,
    }
}

/// Retries: at most `max_retries`, none started after `retry_timeout`.
fn retry(client: &ClientSettings) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: client.max_retries,
        retry_timeout: client.retry_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn client() -> ClientSettings {
        ClientSettings {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(7),
            max_retries: 1,
            retry_timeout: Duration::from_secs(9),
        }
    }

    #[test]
    fn configured_settings_override_the_builder() {
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:3900".to_owned()),
            region: Some("garage".to_owned()),
            access_key_id: Some("GK1".to_owned()),
            secret_access_key: Some("secret".to_owned()),
            allow_http: Some(true),
            virtual_hosted_style: false,
        };
        let b = s3("images", &settings, &client());
        let value = |key| b.get_config_value(&key);
        assert_eq!(value(AmazonS3ConfigKey::Bucket).as_deref(), Some("images"));
        assert_eq!(
            value(AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("http://127.0.0.1:3900")
        );
        assert_eq!(value(AmazonS3ConfigKey::Region).as_deref(), Some("garage"));
        assert_eq!(
            value(AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("GK1")
        );
        assert_eq!(
            value(AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref(),
            Some("false")
        );
        let client_value = |key| b.get_config_value(&AmazonS3ConfigKey::Client(key));
        assert_eq!(
            client_value(ClientConfigKey::AllowHttp).as_deref(),
            Some("true")
        );
        assert_eq!(
            client_value(ClientConfigKey::ConnectTimeout).as_deref(),
            Some("2s")
        );
        assert_eq!(
            client_value(ClientConfigKey::Timeout).as_deref(),
            Some("7s")
        );
    }

    #[test]
    fn virtual_hosted_style_puts_the_bucket_in_the_host() {
        let settings = S3Settings {
            endpoint: Some("https://s3.example.test:8443".to_owned()),
            virtual_hosted_style: true,
            ..S3Settings::default()
        };
        let b = s3("images", &settings, &client());
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("https://images.s3.example.test:8443")
        );
        assert_eq!(
            b.get_config_value(&AmazonS3ConfigKey::VirtualHostedStyleRequest)
                .as_deref(),
            Some("true")
        );
    }

    #[test]
    fn s3_settings_with_another_backend_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = Settings {
            url: format!("file://{}", dir.path().display()),
            default_dir: dir.path().to_owned(),
            s3: S3Settings {
                endpoint: Some("http://127.0.0.1:9000".to_owned()),
                ..S3Settings::default()
            },
            client: client(),
            multipart: super::super::settings::MultipartSettings {
                threshold: 1,
                part_size: 1,
            },
        };
        let refused = backend(&settings).map(drop);
        assert!(
            matches!(&refused, Err(BlobError::UnsupportedUrl { reason, .. }) if reason.contains("s3:// URLs only")),
            "{refused:?}"
        );
    }
}
