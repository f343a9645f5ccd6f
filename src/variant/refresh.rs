//! Produced files asked for by their stored name (`photo_thumb.jpg`) are kept current: when
//! the stamp they were made with (source, operation and watermark versions) no longer matches
//! what they are made of now, they are rendered again from the current versions, stored under
//! the same names (the replaced bytes wait for the release delay like any replaced file), and
//! the fresh file is served.

use super::produce::{self, ProduceError, Urgency};
use super::resolve::RealtimeError;
use super::{key, Variants};
use crate::catalog::{AppRecord, CreatedBy, FileRecord, OperationRecord, StoredFile};
use crate::context::Context;
use crate::operation::OperationSpec;
use crate::paths;
use std::collections::HashSet;
use std::sync::Arc;

/// The file to serve for a stored name: the file itself, unless it is a produced file made
/// from older versions of its source, operation or watermarks, which is rendered again first.
///
/// A produced file whose source or operation was deleted is served as it is: deleting either
/// without its results (no `includeThumbnail` / `deleteThumbnail`) keeps them, and there is
/// nothing to render them from. The real-time switches do not apply: the owner made this file
/// exist, and it is rendered at most once per change of what it is made of.
pub async fn current(
    ctx: &Arc<Variants>,
    app: &AppRecord,
    stored: StoredFile,
) -> Result<FileRecord, RealtimeError> {
    let StoredFile {
        file,
        source,
        operation,
    } = stored;
    if file.created_by != CreatedBy::Operation {
        return Ok(file);
    }
    let (Some(source), Some(op)) = (source, operation) else {
        return Ok(file);
    };
    // An unchanged operation names the same watermarks as when the file was made, so a stamp
    // without watermark versions that matches the source and the operation is current: the
    // common case needs no further lookup.
    let base = key::base_stamp(&source, &op);
    if file.variant == base {
        return Ok(file);
    }
    let spec = OperationSpec::parse(&op.operation_id, op.jobs.as_bytes())
        .map_err(ProduceError::Operation)?;
    let marks = produce::watermark_files(ctx, app, &spec).await?;
    let stamp = key::stamp(&source, &op, &marks);
    if file.variant == stamp {
        return Ok(file);
    }
    let asked = file.path.clone();
    let made = render_again(ctx, app, file, source, op, spec, marks, stamp).await?;
    made.into_iter()
        .find(|f| f.path == asked)
        .ok_or(RealtimeError::NotFound("not found"))
}

/// Renders every output of (source, operation) again, at most once at a time per stamp, and
/// returns the stored files.
#[allow(clippy::too_many_arguments)]
async fn render_again(
    ctx: &Arc<Variants>,
    app: &AppRecord,
    file: FileRecord,
    source: FileRecord,
    op: OperationRecord,
    spec: OperationSpec,
    marks: Vec<(String, FileRecord)>,
    stamp: String,
) -> Result<Vec<FileRecord>, RealtimeError> {
    let flight_key = key::flight(&app.app_key, &source.path, &op.operation_id, &stamp);
    let ctx2 = Arc::clone(ctx);
    let app = app.clone();
    ctx.refresh
        .run(&flight_key, move || {
            let admission = ctx2.pool.admit();
            async move {
                let admission = admission.map_err(|_| ProduceError::Overloaded)?;
                // A render that finished between this request's lookup and its joining the
                // flight has stored the file: serve it instead of rendering again.
                let again = ctx2
                    .catalog
                    .stored_file(&app.app_key, &file.path)
                    .await
                    .map_err(ProduceError::from)?;
                if let Some(now) = again.filter(|s| s.file.variant == stamp) {
                    return Ok(vec![now.file]);
                }
                let urgency = Urgency::Request(&admission);
                let mut outputs = produce::render(&ctx2, &source, &spec, &marks, urgency).await?;
                // The names stay those the files were asked by, where they are (the source
                // may have moved since, or the file been copied or moved away from it), even
                // when the new source's format would give a result another extension.
                let (_, ext) = paths::split_ext(paths::name(&file.path));
                let multiple = spec.multiple_outputs();
                for out in &mut outputs {
                    out.path = with_extension(&beside(&file.path, &out.path, multiple), ext);
                }
                let stored =
                    produce::store_outputs(&ctx2, &app, &source, &op, &stamp, &outputs).await?;
                let fresh: Vec<FileRecord> = stored.into_iter().map(|(f, _)| f).collect();
                if multiple {
                    drop_leftover_pieces(&ctx2, &app, &source, &op, &file.path, &fresh).await?;
                }
                Ok(fresh)
            }
        })
        .await
        .map_err(|_| ProduceError::Aborted)?
        .map_err(RealtimeError::from)
}

/// Deletes the pieces of an earlier render that the new one did not make (a smaller new
/// original cut in fewer slices), among those of the series of the asked piece (same folder,
/// same name before the number): left stale, each request for them would render again.
async fn drop_leftover_pieces(
    ctx: &Context,
    app: &AppRecord,
    source: &FileRecord,
    op: &OperationRecord,
    asked: &str,
    fresh: &[FileRecord],
) -> Result<(), ProduceError> {
    let made: HashSet<&str> = fresh.iter().map(|f| f.path.as_str()).collect();
    let produced = ctx
        .catalog
        .produced_from(&app.app_key, &source.id)
        .await
        .map_err(ProduceError::from)?;
    for old in produced.iter().filter(|f| {
        f.operation_id == op.operation_id
            && !made.contains(f.path.as_str())
            && series(&f.path) == series(asked)
    }) {
        match ctx.catalog.delete_file(&app.app_key, &old.id, false).await {
            Ok(_) | Err(crate::catalog::CatalogError::NotFound(_)) => {}
            Err(e) => return Err(ProduceError::from(e)),
        }
    }
    Ok(())
}

/// Where the output `rendered` (named beside the source) is stored when the file `asked` is
/// rendered again: a single result at the asked path; a piece in the asked piece's folder,
/// under its name before the number, with the piece's own number.
fn beside(asked: &str, rendered: &str, multiple: bool) -> String {
    if !multiple {
        return asked.to_owned();
    }
    match (numbered(asked), numbered(rendered)) {
        (Some((prefix, _)), Some((_, number))) => {
            let name = match paths::split_ext(paths::name(rendered)) {
                (_, Some(ext)) => format!("{prefix}_{number}.{ext}"),
                (_, None) => format!("{prefix}_{number}"),
            };
            paths::join(paths::parent(asked), &name)
        }
        _ => rendered.to_owned(),
    }
}

/// The series of a piece: its folder and its name before the number.
fn series(path: &str) -> Option<(&str, &str)> {
    numbered(path).map(|(prefix, _)| (paths::parent(path), prefix))
}

/// The name of a piece before its number, and its number: `photo_slice` and `0001` for
/// `/f/photo_slice_0001.png`.
fn numbered(path: &str) -> Option<(&str, &str)> {
    let (stem, _) = paths::split_ext(paths::name(path));
    let (prefix, number) = stem.rsplit_once('_')?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some((prefix, number))
}

/// `path` with its file name's extension replaced by `ext` (or removed, without one).
fn with_extension(path: &str, ext: Option<&str>) -> String {
    let (stem, _) = paths::split_ext(paths::name(path));
    let name = match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem.to_owned(),
    };
    paths::join(paths::parent(path), &name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn extension_is_replaced_in_the_name_only() {
        assert_eq!(
            super::with_extension("/a.b/photo_s_0001.png", Some("jpg")),
            "/a.b/photo_s_0001.jpg"
        );
        assert_eq!(super::with_extension("/photo_w.png", None), "/photo_w");
    }

    #[test]
    fn results_are_rendered_again_where_they_are() {
        use super::beside;
        assert_eq!(
            beside("/old/photo_w.png", "/new/moved_w.png", false),
            "/old/photo_w.png",
            "a single result at the asked path"
        );
        assert_eq!(
            beside("/old/photo_s_0001.png", "/new/moved_s_0002.png", true),
            "/old/photo_s_0002.png",
            "a piece in the asked series, with its own number"
        );
        assert_eq!(
            beside("/a/photo_s_0001(1).png", "/a/photo_s_0000.png", true),
            "/a/photo_s_0000.png",
            "a renamed piece names no series: the pieces go beside the source"
        );
        assert_eq!(super::numbered("/f/x_s_0012.jpg"), Some(("x_s", "0012")));
        assert_eq!(super::numbered("/f/x_w.jpg"), None);
    }
}
