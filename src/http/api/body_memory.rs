//! The memory that the request bodies of this node's API calls may hold at once
//! (`limits.request_memory_bytes`). A call holds a share of it for the bytes it keeps in
//! memory: a buffered upload or JSON body, or the parts a streamed tus PATCH has in flight.
//! The share grows as the body is read and is given back when the call ends. A call that
//! would take the node past the budget is refused at once ("busy"), before it allocates.
//! It never waits: a call waiting while holding part of the budget could keep others from
//! finishing.

use crate::config::{Config, ConfigError};
use crate::storage::put_stream_memory;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes of one permit. A share is rounded up to whole units.
const UNIT: u64 = 1024;

/// Least growth of a share, so a body read in small frames takes few permits.
const STEP: u64 = 64 * UNIT;

/// Checks that `limits.request_memory_bytes` holds what one call may hold: a multipart body
/// and one archive entry inflated beside it, or a resumable upload's file (at most
/// `limits.max_upload_bytes`) read back while its parts stream into one blob. A smaller budget
/// would refuse such a call even on an idle node.
pub fn check_budget(config: &Config) -> Result<(), ConfigError> {
    let limits = &config.limits;
    let one_call = limits.max_upload_bytes.saturating_add(
        limits
            .max_request_bytes
            .max(put_stream_memory(config.storage.multipart_part_bytes)),
    );
    if limits.request_memory_bytes < one_call {
        return Err(ConfigError::Invalid(format!(
            "limits.request_memory_bytes: must be at least {one_call}: \
             limits.max_upload_bytes plus the more of limits.max_request_bytes and of three \
             storage.multipart_part_bytes and 1 MiB"
        )));
    }
    Ok(())
}

/// The node's budget of request body memory.
#[derive(Clone)]
pub struct BodyMemory {
    /// One permit per [`UNIT`] bytes.
    permits: Arc<Semaphore>,
    /// The whole budget, in units.
    units: u64,
}

/// The budget has no room for more bytes of this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body memory of this node is taken")]
pub struct Busy;

impl BodyMemory {
    /// A budget of `bytes` (rounded down to whole KiB, at least one KiB).
    pub fn new(bytes: u64) -> Self {
        let units = (bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS as u64);
        Self {
            permits: Arc::new(Semaphore::new(units as usize)),
            units,
        }
    }

    /// Bytes held by calls now.
    pub fn held_bytes(&self) -> u64 {
        let free = self.permits.available_permits() as u64;
        self.units.saturating_sub(free).saturating_mul(UNIT)
    }

    /// An empty share for one call.
    pub fn share(&self) -> Share {
        Share {
            memory: self.clone(),
            permit: None,
            units: 0,
        }
    }
}

/// One call's part of the budget; given back when dropped.
pub struct Share {
    memory: BodyMemory,
    permit: Option<OwnedSemaphorePermit>,
    units: u64,
}

impl Share {
    /// Makes the share cover at least `bytes`, taking at least [`STEP`] more when it grows.
    /// Refuses, keeping what it had, when the node's budget lacks the difference.
    pub fn cover(&mut self, bytes: u64) -> Result<(), Busy> {
        let needed = bytes.div_ceil(UNIT);
        if needed <= self.units {
            return Ok(());
        }
        let least = self.units.saturating_add(STEP / UNIT);
        let wanted = needed.max(least).min(self.memory.units.max(needed));
        let extra = u32::try_from(wanted - self.units).map_err(|_| Busy)?;
        let taken = Arc::clone(&self.memory.permits)
            .try_acquire_many_owned(extra)
            .or_else(|_| {
                let exact = u32::try_from(needed - self.units).map_err(|_| Busy)?;
                Arc::clone(&self.memory.permits)
                    .try_acquire_many_owned(exact)
                    .map_err(|_| Busy)
            })?;
        self.units += taken.num_permits() as u64;
        match &mut self.permit {
            Some(permit) => permit.merge(taken),
            None => self.permit = Some(taken),
        }
        Ok(())
    }

    /// Bytes the share covers.
    pub fn bytes(&self) -> u64 {
        self.units.saturating_mul(UNIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_take_from_one_budget_and_give_back_when_dropped() {
        let memory = BodyMemory::new(256 * 1024);
        let mut a = memory.share();
        a.cover(100).expect("room");
        assert_eq!(a.bytes(), STEP, "a share grows by at least one step");
        a.cover(STEP).expect("already covered");
        assert_eq!(a.bytes(), STEP);
        a.cover(150 * 1024).expect("room");
        assert_eq!(a.bytes(), 150 * 1024);
        let mut b = memory.share();
        b.cover(106 * 1024).expect("the rest of the budget");
        assert_eq!(memory.held_bytes(), 256 * 1024);
        let mut c = memory.share();
        assert_eq!(c.cover(1), Err(Busy), "the budget is taken");
        assert_eq!(c.bytes(), 0);
        assert_eq!(b.cover(200 * 1024), Err(Busy));
        assert_eq!(b.bytes(), 106 * 1024, "a refused growth keeps what it had");
        drop(a);
        assert_eq!(memory.held_bytes(), 106 * 1024);
        c.cover(1).expect("room again");
        drop((b, c));
        assert_eq!(memory.held_bytes(), 0);
    }

    #[test]
    fn the_budget_must_hold_one_call() {
        let mib = 1024 * 1024;
        let mut config = Config::default();
        config.limits.max_upload_bytes = 10 * mib;
        config.limits.max_request_bytes = 100 * mib;
        config.storage.multipart_part_bytes = 8 * mib;
        config.limits.request_memory_bytes = 110 * mib;
        assert!(check_budget(&config).is_ok(), "a request and one entry");
        config.limits.request_memory_bytes -= 1;
        let err = check_budget(&config).expect_err("one byte short");
        assert!(err.to_string().contains(&(110 * mib).to_string()), "{err}");
        config.limits.max_request_bytes = 10 * mib;
        config.limits.request_memory_bytes = 10 * mib + 3 * 8 * mib + mib;
        assert!(check_budget(&config).is_ok(), "a file beside three parts");
        config.limits.request_memory_bytes -= 1;
        assert!(check_budget(&config).is_err());
        assert!(check_budget(&Config::default()).is_ok(), "the defaults");
    }

    #[test]
    fn a_share_larger_than_the_budget_is_refused() {
        let memory = BodyMemory::new(64 * 1024);
        let mut a = memory.share();
        assert_eq!(a.cover(64 * 1024 + 1), Err(Busy));
        assert_eq!(memory.held_bytes(), 0);
        a.cover(64 * 1024).expect("the whole budget");
        assert_eq!(memory.held_bytes(), 64 * 1024);
    }
}
