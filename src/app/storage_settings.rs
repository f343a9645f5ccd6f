//! The blob store's settings, read from the configuration: `[storage]` and the data directory.

use crate::config::{Config, ConfigError};
use crate::storage::{ClientSettings, MultipartSettings, S3Settings, Settings};
use std::time::Duration;

/// The settings `BlobStore::open` takes; empty S3 keys leave their `AWS_*` variables in force.
pub fn from_config(config: &Config) -> Result<Settings, ConfigError> {
    let storage = &config.storage;
    let given = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    let part_size = usize::try_from(storage.multipart_part_bytes).map_err(|_| {
        ConfigError::Invalid("storage.multipart_part_bytes: too large for this machine".into())
    })?;
    Ok(Settings {
        url: storage.url.clone(),
        default_dir: config.server.data_dir.join(super::BLOB_DIR),
        s3: S3Settings {
            endpoint: given(&storage.endpoint),
            region: given(&storage.region),
            access_key_id: given(&storage.access_key_id),
            secret_access_key: given(&storage.secret_access_key),
            allow_http: storage.allow_http.get(),
            virtual_hosted_style: storage.virtual_hosted_style,
        },
        client: ClientSettings {
            connect_timeout: Duration::from_secs(storage.connect_timeout_secs),
            request_timeout: Duration::from_secs(storage.request_timeout_secs),
            max_retries: storage.max_retries,
            retry_timeout: Duration::from_secs(storage.retry_timeout_secs),
        },
        multipart: MultipartSettings {
            threshold: storage.multipart_threshold_bytes,
            part_size,
        },
    })
}

/// The settings of a local blob directory `dir`, with the client and multipart bounds of
/// `config` (the source of `pictor migrate`).
pub fn local(config: &Config, dir: &std::path::Path) -> Result<Settings, ConfigError> {
    Ok(Settings {
        url: String::new(),
        default_dir: dir.to_owned(),
        s3: S3Settings::default(),
        ..from_config(config)?
    })
}
