//! Large objects are uploaded in parts: fixed-size parts (the last one shorter), a few in
//! flight at once, then one completion that makes the whole object visible at once. A part or
//! the completion that fails aborts the upload, so the store keeps no parts and no object
//! appears under the key.

use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, PutMultipartOptions, PutPayload};

/// Parts uploaded at once. The object is in memory already, so this bounds connections and
/// the server's buffers, not this process's memory.
const PARTS_IN_FLIGHT: usize = 4;

/// Uploads `bytes` to `location` in parts of `part_size` bytes; aborts the upload on failure.
pub async fn put(
    store: &dyn ObjectStore,
    location: &ObjectPath,
    bytes: Bytes,
    part_size: usize,
) -> Result<(), object_store::Error> {
    let upload = store
        .put_multipart_opts(location, PutMultipartOptions::default())
        .await?;
    finish(upload, location, bytes, part_size).await
}

/// Sends the parts and completes `upload`, or aborts it when a part or the completion fails.
async fn finish(
    mut upload: Box<dyn MultipartUpload>,
    location: &ObjectPath,
    bytes: Bytes,
    part_size: usize,
) -> Result<(), object_store::Error> {
    match send(upload.as_mut(), bytes, part_size).await {
        Ok(()) => Ok(()),
        Err(e) => {
            if let Err(abort) = upload.abort().await {
                tracing::warn!(%location, error = %abort, "aborting a failed multipart upload failed");
            }
            Err(e)
        }
    }
}

/// Sends every part, then completes the upload.
async fn send(
    upload: &mut dyn MultipartUpload,
    bytes: Bytes,
    part_size: usize,
) -> Result<(), object_store::Error> {
    let parts = split(&bytes, part_size);
    // `put_part` numbers the parts in call order; only their transfers run concurrently.
    stream::iter(parts.map(|part| upload.put_part(PutPayload::from_bytes(part))))
        .buffer_unordered(PARTS_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    upload.complete().await.map(drop)
}

/// `bytes` cut into parts of `part_size` (at least one byte each), the last one shorter.
fn split(bytes: &Bytes, part_size: usize) -> impl Iterator<Item = Bytes> + '_ {
    let part_size = part_size.max(1);
    (0..bytes.len())
        .step_by(part_size)
        .map(move |start| bytes.slice(start..bytes.len().min(start + part_size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutResult, UploadPart};
    use std::sync::{Arc, Mutex};

    /// What a fake upload saw.
    #[derive(Debug, Default)]
    struct Seen {
        parts: Vec<usize>,
        completed: bool,
        aborted: bool,
    }

    /// An upload that records its calls and fails the part numbered `fail_part`, if any.
    #[derive(Debug)]
    struct Fake {
        seen: Arc<Mutex<Seen>>,
        fail_part: Option<usize>,
    }

    #[async_trait::async_trait]
    impl MultipartUpload for Fake {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            let mut seen = self.seen.lock().expect("lock");
            let number = seen.parts.len();
            seen.parts.push(data.content_length());
            let fail = self.fail_part == Some(number);
            Box::pin(async move {
                if fail {
                    Err(object_store::Error::Generic {
                        store: "fake",
                        source: "part refused".into(),
                    })
                } else {
                    Ok(())
                }
            })
        }

        async fn complete(&mut self) -> object_store::Result<PutResult> {
            self.seen.lock().expect("lock").completed = true;
            Ok(PutResult {
                e_tag: None,
                version: None,
                extensions: object_store::Extensions::default(),
            })
        }

        async fn abort(&mut self) -> object_store::Result<()> {
            self.seen.lock().expect("lock").aborted = true;
            Ok(())
        }
    }

    fn fake(fail_part: Option<usize>) -> (Fake, Arc<Mutex<Seen>>) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let upload = Fake {
            seen: Arc::clone(&seen),
            fail_part,
        };
        (upload, seen)
    }

    #[test]
    fn parts_are_fixed_size_but_the_last() {
        let bytes = Bytes::from(vec![7u8; 25]);
        let sizes: Vec<usize> = split(&bytes, 10).map(|p| p.len()).collect();
        assert_eq!(sizes, [10, 10, 5]);
        let exact: Vec<usize> = split(&bytes, 25).map(|p| p.len()).collect();
        assert_eq!(exact, [25]);
        assert_eq!(split(&Bytes::new(), 10).count(), 0);
    }

    #[tokio::test]
    async fn every_part_is_sent_then_the_upload_completes() {
        let (mut upload, seen) = fake(None);
        send(&mut upload, Bytes::from(vec![1u8; 23]), 10)
            .await
            .expect("upload");
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.parts, [10, 10, 3]);
        assert!(seen.completed && !seen.aborted, "{seen:?}");
    }

    #[tokio::test]
    async fn a_failed_part_aborts_the_upload_and_never_completes_it() {
        let (upload, seen) = fake(Some(1));
        let location = ObjectPath::from("c/ab/key");
        let sent = finish(Box::new(upload), &location, Bytes::from(vec![1u8; 30]), 10).await;
        assert!(sent.is_err());
        let seen = seen.lock().expect("lock");
        assert!(seen.aborted && !seen.completed, "{seen:?}");
    }

    #[tokio::test]
    async fn a_complete_upload_is_not_aborted() {
        let (upload, seen) = fake(None);
        let location = ObjectPath::from("c/ab/key");
        finish(Box::new(upload), &location, Bytes::from(vec![1u8; 30]), 10)
            .await
            .expect("upload");
        let seen = seen.lock().expect("lock");
        assert!(seen.completed && !seen.aborted, "{seen:?}");
    }

    #[tokio::test]
    async fn parts_are_joined_in_order_under_the_key() {
        let store = InMemory::new();
        let location = ObjectPath::from("c/ab/key");
        let bytes: Bytes = (0..=255u8).cycle().take(10_000).collect::<Vec<u8>>().into();
        put(&store, &location, bytes.clone(), 4096)
            .await
            .expect("multipart put");
        let stored = store.get(&location).await.expect("get");
        assert_eq!(stored.bytes().await.expect("bytes"), bytes);
    }
}
