//! Changes that make rendered variants stale, as a shared catalog announces them to every
//! node. A node drops its own cached variants at once when it makes a change; the other nodes
//! learn of it through the catalog's change feed ([`super::Catalog::subscribe_changes`]).

use serde::{Deserialize, Serialize};

/// A change to what a cached variant is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A file was replaced or deleted: variants made from it (as source or as watermark) are
    /// stale.
    Source {
        /// Owning app.
        app_key: String,
        /// Path of the file.
        path: String,
    },
    /// A folder was deleted: variants of every file below it are stale.
    Below {
        /// Owning app.
        app_key: String,
        /// Path of the folder.
        folder: String,
    },
    /// An operation was replaced or deleted: its variants are stale.
    Operation {
        /// Owning app.
        app_key: String,
        /// Name of the operation.
        operation_id: String,
    },
    /// An app's settings changed (its real-time service flag): all its variants are stale.
    App {
        /// The app.
        app_key: String,
    },
}

/// What a change feed delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A change committed by some node.
    Change(Change),
    /// Changes may have been missed (the feed's connection was lost and is back, or the
    /// receiver fell behind): everything cached may be stale.
    Gap,
}

/// The receiving end of a change feed, bounded; a backend that finds it full drops the
/// event and sends [`FeedEvent::Gap`] as soon as there is room.
pub type ChangeFeed = tokio::sync::mpsc::Receiver<FeedEvent>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_travel_as_tagged_json() {
        let change = Change::Source {
            app_key: "k".to_owned(),
            path: "/a/b.jpg".to_owned(),
        };
        let text = serde_json::to_string(&change).expect("serialise");
        assert_eq!(text, r#"{"kind":"source","app_key":"k","path":"/a/b.jpg"}"#);
        let back: Change = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, change);
        let op: Change =
            serde_json::from_str(r#"{"kind":"operation","app_key":"k","operation_id":"t"}"#)
                .expect("parse");
        assert_eq!(
            op,
            Change::Operation {
                app_key: "k".to_owned(),
                operation_id: "t".to_owned()
            }
        );
        assert!(serde_json::from_str::<Change>(r#"{"kind":"nope"}"#).is_err());
    }
}
