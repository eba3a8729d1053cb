//! One differential input for the monitors whose windows have the same shape (measure, size,
//! step, lateness): their window indices are the same logical times, so one input, one
//! exchange and one statistics operator carry them all, keyed by the monitor's place in the
//! group. Timely's progress tracking then moves once per window for the group instead of once
//! per monitor, and one channel between workers carries every monitor's slides.
//!
//! Each monitor's [`Feed`](super::Feed) tells the input how far it has come; the input's time
//! is the lowest of them, so no monitor can be handed a window that another may still add to.

use super::delta::CellDelta;
use differential_dataflow::input::InputSession;
use std::cell::RefCell;
use std::rc::Rc;

/// A worker's input handle to a group's window collection: (monitor, window index, ±counts).
pub type CellInput = InputSession<u64, u32, CellDelta>;

/// The input of a group of monitors, shared by their feeds on one worker.
pub struct SharedInput {
    /// `None` once every monitor has closed.
    session: Option<CellInput>,
    /// Each monitor's lowest open window; `u64::MAX` once it closed.
    open: Vec<u64>,
}

impl SharedInput {
    /// The input of `monitors` monitors, to be shared by their feeds.
    pub fn new(session: CellInput, monitors: usize) -> Rc<RefCell<SharedInput>> {
        Rc::new(RefCell::new(SharedInput { session: Some(session), open: vec![0; monitors] }))
    }

    /// Adds `delta` to monitor `monitor`'s window `window`, which must still be open to it.
    pub fn update_at(&mut self, monitor: u32, window: u64, delta: CellDelta) {
        debug_assert!(window >= self.open[monitor as usize], "window {window} has closed to monitor {monitor}");
        if let Some(session) = self.session.as_mut() {
            session.update_at(monitor, window, delta);
        }
    }

    /// Monitor `monitor` adds nothing more below window `open`. Once every monitor has said so,
    /// the input moves on, and what the monitors handed over goes out.
    pub fn advance(&mut self, monitor: u32, open: u64) {
        let slot = &mut self.open[monitor as usize];
        *slot = (*slot).max(open);
        let lowest = self.open.iter().copied().min().unwrap_or(u64::MAX);
        let Some(session) = self.session.as_mut() else { return };
        if lowest == u64::MAX {
            // Every monitor has closed: dropping the session flushes and closes it.
            self.session = None;
        } else if lowest > *session.time() {
            session.advance_to(lowest);
            session.flush();
        }
    }

    /// Monitor `monitor` has ended; the input closes with the last of them.
    pub fn close(&mut self, monitor: u32) {
        self.advance(monitor, u64::MAX);
    }

    /// Whether every monitor has closed.
    pub fn is_closed(&self) -> bool {
        self.session.is_none()
    }
}
