//! Deliveries outstanding for one batch: counted up when a record is handed to the producer,
//! down when the broker acknowledges it (or the producer gives up on it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The broker's answers still due for one batch's records, and the failures among them.
#[derive(Debug, Default)]
pub struct Acks {
    pending: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Acks {
    /// One more record is on its way.
    pub fn sent(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
    }

    /// The broker acknowledged a record.
    pub fn acknowledged(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// A record could not be delivered, for `why`.
    pub fn failed(&self, why: String) {
        self.failed.fetch_add(1, Ordering::AcqRel);
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(why);
        drop(first);
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// Every record sent so far has been answered.
    pub fn settled(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    /// Records answered with a failure.
    pub fn failures(&self) -> u64 {
        self.failed.load(Ordering::Acquire)
    }

    /// Why the first failed record failed.
    pub fn first_error(&self) -> Option<String> {
        self.first_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_once_every_record_is_answered_either_way() {
        let acks = Acks::default();
        assert!(acks.settled());
        acks.sent();
        acks.sent();
        assert!(!acks.settled());
        acks.acknowledged();
        assert!(!acks.settled());
        acks.failed("broker said no".into());
        assert!(acks.settled());
        assert_eq!(acks.failures(), 1);
        assert_eq!(acks.first_error().as_deref(), Some("broker said no"));
    }
}
