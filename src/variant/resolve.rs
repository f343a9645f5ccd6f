//! `GET /<container>/<path>?<operationId>` resolved in order: L1 memory cache -> the stored `P`
//! file (L2) -> single flight -> render -> store -> L1. Each step is its own function;
//! [`Variants::resolve`] runs them.

use super::cache::Variant;
use super::key;
use super::produce::{self, ProduceError, Urgency};
use super::Variants;
use crate::catalog::{AppRecord, CreatedBy, FileRecord, OperationRecord};
use crate::operation::OperationSpec;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Why a real-time request cannot be answered with an image.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RealtimeError {
    /// No such container, file or operation (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// The app's or the operation's real-time service is off (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Producing the variant failed; its kind decides the answer.
    #[error(transparent)]
    Produce(#[from] ProduceError),
}

impl From<crate::catalog::CatalogError> for RealtimeError {
    fn from(e: crate::catalog::CatalogError) -> Self {
        Self::Produce(e.into())
    }
}

/// Whether a raw query string names an operation (a bare item); other queries, such as a
/// cache-busting `?v=2`, leave the original to be served.
pub fn names_operation(raw_query: &str) -> bool {
    raw_query
        .split('&')
        .any(|item| !item.is_empty() && !item.contains('='))
}

/// The operation id named by a raw query string: its first `&`-separated item without `=`.
pub fn operation_of(raw_query: &str) -> Option<String> {
    raw_query
        .split('&')
        .find(|item| !item.is_empty() && !item.contains('='))
        .map(|item| {
            percent_encoding::percent_decode_str(item)
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// What a real-time request is made of, once looked up.
struct Inputs {
    app: AppRecord,
    source: FileRecord,
    op: OperationRecord,
    spec: OperationSpec,
    marks: Vec<(String, FileRecord)>,
    stamp: String,
}

impl Variants {
    /// Step 1: the request in L1, counting the outcome; `None` with the result cache off.
    /// Costs one hash and no allocation.
    pub async fn cached(&self, raw_path: &str, raw_query: &str) -> Option<Arc<Variant>> {
        if !self.config.render.result_cache {
            return None;
        }
        let hit = self
            .l1
            .get(key::l1(raw_path, raw_query), raw_path, raw_query)
            .await;
        if hit.is_some() {
            self.metrics.hot.l1_hit.inc();
        } else {
            self.metrics.hot.l1_miss.inc();
        }
        hit
    }

    /// Answers a real-time request that missed L1: looks its inputs up, then serves the
    /// stored `P` file when current, else renders once for every concurrent request, and keeps
    /// the result in L1. `container` and `path` are the decoded, normalised request path;
    /// `raw_path` and `raw_query` the request as sent (the L1 key).
    pub async fn resolve(
        self: &Arc<Self>,
        container: &str,
        path: &str,
        raw_path: &str,
        raw_query: &str,
    ) -> Result<Arc<Variant>, RealtimeError> {
        let generation = self.l1.generation();
        let inputs = self.inputs(container, path, raw_query).await?;
        let request: Box<str> = format!("{raw_path}?{raw_query}").into();
        let caching = self.config.render.result_cache;
        let stored = if caching {
            let stored = self.stored(&inputs, &request).await?;
            if stored.is_some() {
                self.metrics.hot.l2_hit.inc();
            } else {
                self.metrics.hot.l2_miss.inc();
            }
            stored
        } else {
            None
        };
        let variant = match stored {
            Some(v) => v,
            None => self.render_once(inputs, request).await?,
        };
        if caching {
            let l1_key = key::l1(raw_path, raw_query);
            self.l1
                .insert(l1_key, Arc::clone(&variant), generation)
                .await;
        }
        Ok(variant)
    }

    /// The app, operation, source and watermarks of a request, with the refusals of the
    /// real-time switches and of results used as sources.
    async fn inputs(
        &self,
        container: &str,
        path: &str,
        raw_query: &str,
    ) -> Result<Inputs, RealtimeError> {
        let op_id = operation_of(raw_query).ok_or(RealtimeError::NotFound("unknown operation"))?;
        let app = self
            .catalog
            .app_by_container(container)
            .await?
            .ok_or(RealtimeError::NotFound("not found"))?;
        if !app.realtime_service {
            return Err(RealtimeError::Forbidden(
                "real-time service is off for this app",
            ));
        }
        let op = self
            .catalog
            .operation(&app.app_key, &op_id)
            .await?
            .ok_or(RealtimeError::NotFound("unknown operation"))?;
        if !op.realtime_service {
            return Err(RealtimeError::Forbidden(
                "real-time service is off for this operation",
            ));
        }
        let spec = OperationSpec::parse(&op.operation_id, op.jobs.as_bytes())
            .map_err(ProduceError::Operation)?;
        if !spec.realtime_capable() {
            return Err(RealtimeError::NotFound(
                "slice and grid operations are not available in real time",
            ));
        }
        let source = self
            .catalog
            .file_by_path(&app.app_key, path)
            .await?
            .ok_or(RealtimeError::NotFound("not found"))?;
        if source.created_by != CreatedBy::User {
            // Results are never sources: a result of a result would be stored in turn, so
            // anonymous URLs could add files without end.
            return Err(RealtimeError::NotFound("a stored result is not a source"));
        }
        let marks = produce::watermark_files(self, &app, &spec).await?;
        let stamp = key::stamp(&source, &op, &marks);
        Ok(Inputs {
            app,
            source,
            op,
            spec,
            marks,
            stamp,
        })
    }

    /// Step 2: the stored `P` file of this variant (L2), when it was made from the current
    /// versions. Unreadable bytes count as a miss: the render that follows replaces them.
    async fn stored(
        &self,
        inputs: &Inputs,
        request: &str,
    ) -> Result<Option<Arc<Variant>>, RealtimeError> {
        let ext = inputs.spec.output_extension(&inputs.source.content_type);
        let path =
            crate::paths::output_path(&inputs.source.path, &inputs.op.operation_id, &ext, None);
        let Some(file) = self
            .catalog
            .file_by_path(&inputs.app.app_key, &path)
            .await?
        else {
            return Ok(None);
        };
        if file.variant != inputs.stamp {
            return Ok(None);
        }
        let Ok(bytes) = self.blob.read(&file.blob_key).await else {
            return Ok(None);
        };
        let content_type = crate::imageinfo::sniff(&bytes).unwrap_or("application/octet-stream");
        Ok(Some(Arc::new(made(
            inputs,
            request.into(),
            bytes,
            content_type,
        ))))
    }

    /// Steps 3 and 4: one render per variant however many requests miss at once, stored as
    /// the `P` file when the result cache is on. The leader's render and store run as a task of
    /// their own, so a client that hangs up does not throw the finished render away. Such a
    /// task first takes one of the `claim_waits` places (refused at once when all are taken)
    /// while it looks for a result another node stored or is rendering, then trades it for a
    /// place in the render pool to render here: the two bound how many such tasks exist, and a
    /// wait on another node never holds a place a local render could use.
    async fn render_once(
        self: &Arc<Self>,
        inputs: Inputs,
        request: Box<str>,
    ) -> Result<Arc<Variant>, RealtimeError> {
        let flight_key = key::flight(
            &inputs.app.app_key,
            &inputs.source.path,
            &inputs.op.operation_id,
            &inputs.stamp,
        );
        let this = Arc::clone(self);
        let claim_key = flight_key.clone();
        self.flight
            .run(&flight_key, move || {
                let flight_key = claim_key;
                let waiting = Arc::clone(&this.claim_waits).try_acquire_owned();
                async move {
                    let waiting = waiting.map_err(|_| ProduceError::Overloaded)?;
                    let caching = this.config.render.result_cache;
                    if caching {
                        // A render that finished between this request's L2 miss and its
                        // joining the flight has stored the result: serve it instead.
                        if let Some(v) =
                            this.stored(&inputs, &request).await.map_err(|e| match e {
                                RealtimeError::Produce(p) => p,
                                _ => ProduceError::Aborted,
                            })?
                        {
                            return Ok(v);
                        }
                        if let Some(v) = this
                            .wait_for_other_node(&flight_key, &inputs, &request)
                            .await
                        {
                            return Ok(v);
                        }
                    }
                    drop(waiting);
                    let Ok(admission) = this.pool.admit() else {
                        if caching {
                            this.release_claim(&flight_key).await;
                        }
                        return Err(ProduceError::Overloaded);
                    };
                    let urgency = Urgency::Request(&admission);
                    let rendered = produce::render(
                        &this,
                        &inputs.source,
                        &inputs.spec,
                        &inputs.marks,
                        urgency,
                    )
                    .await;
                    let first = match rendered
                        .and_then(|o| o.into_iter().next().ok_or(ProduceError::Aborted))
                    {
                        Ok(first) => first,
                        Err(e) => {
                            if caching {
                                this.release_claim(&flight_key).await;
                            }
                            return Err(e);
                        }
                    };
                    if caching {
                        let stored = std::slice::from_ref(&first);
                        let Inputs {
                            app,
                            source,
                            op,
                            stamp,
                            ..
                        } = &inputs;
                        let kept =
                            produce::store_outputs(&this, app, source, op, stamp, stored).await;
                        this.release_claim(&flight_key).await;
                        match kept {
                            Ok(_) | Err(ProduceError::NameTaken(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(Arc::new(made(
                        &inputs,
                        request,
                        first.bytes,
                        first.content_type,
                    )))
                }
            })
            .await
            .map_err(|_| ProduceError::Aborted)?
            .map_err(RealtimeError::from)
    }
}

impl Variants {
    /// Claims the render of a variant among the nodes sharing the catalog. When another node
    /// holds the claim, waits for the result it stores (polling L2 and the claim every
    /// [`CLAIM_POLL`]) and returns it; `None` when this node should render: it got the claim
    /// (free, or freed by a holder whose render failed, or lapsed because its holder died), it
    /// waited [`CLAIM`] in vain, or the catalog could not say.
    async fn wait_for_other_node(
        &self,
        flight_key: &str,
        inputs: &Inputs,
        request: &str,
    ) -> Option<Arc<Variant>> {
        let deadline = tokio::time::Instant::now() + CLAIM;
        loop {
            if self.claim(flight_key).await {
                return None;
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(CLAIM_POLL).await;
            match self.stored(inputs, request).await {
                Ok(Some(v)) => return Some(v),
                Ok(None) => {}
                Err(_) => return None,
            }
        }
    }

    /// Whether this node may render the variant now: it got the claim (free, lapsed or
    /// released by a holder whose render failed), or the catalog could not say.
    async fn claim(&self, flight_key: &str) -> bool {
        let now = crate::clock::now_ms();
        let claim_ms = i64::try_from(CLAIM.as_millis()).unwrap_or(i64::MAX);
        match self
            .catalog
            .claim_render(flight_key, &self.node, now, now.saturating_add(claim_ms))
            .await
        {
            Ok(granted) => granted,
            Err(e) => {
                tracing::warn!(error = %e, "render claim failed; rendering here");
                true
            }
        }
    }
}

impl Variants {
    /// Ends this node's claim on a render (a failure only delays other nodes until it lapses).
    async fn release_claim(&self, flight_key: &str) {
        if let Err(e) = self.catalog.release_render(flight_key, &self.node).await {
            tracing::warn!(error = %e, "could not release a render claim");
        }
    }
}

/// How long a node's claim on a render lasts: longer than a render under load takes, short
/// enough that the requests waiting on a node that died render themselves soon.
const CLAIM: Duration = Duration::from_secs(10);

/// How often a request waiting on another node's render looks for its stored result.
const CLAIM_POLL: Duration = Duration::from_millis(25);

/// Builds a cache entry with its validators ([`key::etag`]; `Last-Modified` is the later of the
/// source's and the operation's last change).
fn made(inputs: &Inputs, request: Box<str>, body: Bytes, content_type: &'static str) -> Variant {
    let Inputs {
        app,
        source,
        op,
        marks,
        stamp,
        ..
    } = inputs;
    let modified_ms = source.updated_at.max(op.updated_at);
    let modified =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(modified_ms).unwrap_or(0));
    Variant {
        request,
        app_key: app.app_key.clone(),
        source_path: source.path.clone(),
        operation_id: op.operation_id.clone(),
        watermarks: marks.iter().map(|(_, f)| f.path.clone()).collect(),
        body,
        content_type,
        etag: Bytes::from(key::etag(source, &op.operation_id, stamp)),
        last_modified: Bytes::from(httpdate::fmt_http_date(modified)),
        modified,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_is_the_bare_query_item() {
        assert_eq!(super::operation_of("small400").as_deref(), Some("small400"));
        assert_eq!(super::operation_of("v=2&thumb").as_deref(), Some("thumb"));
        assert_eq!(super::operation_of("v=2"), None);
        assert_eq!(super::operation_of(""), None);
        assert!(super::names_operation("v=2&thumb"));
        assert!(!super::names_operation("v=2"));
        assert!(!super::names_operation("&"));
    }
}
