//! Window arithmetic. A window is indexed by the slide `j` at whose end it closes: window `j`
//! covers positions `[j·every − size, j·every)`, where a position is an event's sequence number
//! (windows of events) or its event time in milliseconds (windows of time). Tumbling windows are
//! the case `every == size`.
//!
//! A value at position `p` enters the window index `enters(p) = ⌊p / every⌋ + 1` and leaves it
//! `size / every` indexes later: that pair of updates (+1 at `enters`, −1 at `leaves`) is the whole
//! cost of a value, whatever the window length.

use crate::program::{Measure, Window, WindowShape};
use serde::Serialize;

/// A window as the drift dataflow uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WindowSpec {
    pub measure: Measure,
    /// Length, in events or milliseconds.
    pub size: u64,
    /// Slide, in the same unit; `size` is a whole number of slides.
    pub every: u64,
    /// Event-time windows: how far behind the newest event time a value may still arrive, in ms.
    pub lateness: u64,
}

impl WindowSpec {
    /// From a checked window (whose length the checker made a whole number of slides).
    pub fn from_window(w: &Window) -> WindowSpec {
        let every = match w.shape {
            WindowShape::Tumbling => w.size,
            WindowShape::Sliding => w.every,
        }
        .max(1);
        WindowSpec { measure: w.measure, size: w.size.max(every), every, lateness: w.lateness_ms }
    }

    /// Windows of `size` events sliding by `every` events.
    pub fn events(size: u64, every: u64) -> WindowSpec {
        WindowSpec { measure: Measure::Events, size, every, lateness: 0 }
    }

    /// Windows of `size` ms of event time sliding by `every` ms, accepting values `lateness` ms late.
    pub fn event_time(size: u64, every: u64, lateness: u64) -> WindowSpec {
        WindowSpec { measure: Measure::EventTime, size, every, lateness }
    }

    /// How many windows each value belongs to.
    pub fn slides(&self) -> u64 {
        self.size / self.every
    }

    /// The first window a value at `position` belongs to.
    pub fn enters(&self, position: u64) -> u64 {
        position / self.every + 1
    }

    /// The first window after `enters` that no longer holds the value.
    pub fn leaves(&self, enters: u64) -> u64 {
        enters + self.slides()
    }

    /// The positions window `index` covers: `[start, end)`, the start clamped at 0.
    pub fn bounds(&self, index: u64) -> (u64, u64) {
        let end = index * self.every;
        (end.saturating_sub(self.size), end)
    }

    /// The lowest window index still open once every value before `watermark` has arrived:
    /// windows below it are closed.
    pub fn open_index(&self, watermark: u64) -> u64 {
        watermark / self.every + 1
    }

    /// The position of an event: its sequence number, or its event time (negative times clamp to 0).
    pub fn position(&self, seq: u64, ts_ms: i64) -> u64 {
        match self.measure {
            Measure::Events => seq,
            Measure::EventTime => ts_ms.max(0) as u64,
        }
    }

    /// Human form, as the language writes it.
    pub fn describe(&self) -> String {
        let len = |v: u64| match self.measure {
            Measure::Events => format!("{v} events"),
            Measure::EventTime => format!("{}s", v as f64 / 1e3),
        };
        if self.every == self.size {
            format!("tumbling({})", len(self.size))
        } else {
            format!("sliding({}, every: {})", len(self.size), len(self.every))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_belongs_to_exactly_the_windows_covering_it() {
        let w = WindowSpec::events(10, 2);
        for p in 0..40u64 {
            let (a, b) = (w.enters(p), w.leaves(w.enters(p)));
            for j in 0..30 {
                let (s, e) = w.bounds(j);
                let covers = j * w.every >= w.size.min(j * w.every) && s <= p && p < e;
                assert_eq!(covers, (a..b).contains(&j), "p {p} window {j}");
            }
        }
    }

    #[test]
    fn tumbling_windows_hold_each_value_once() {
        let w = WindowSpec::events(5, 5);
        assert_eq!(w.slides(), 1);
        assert_eq!((w.enters(0), w.enters(4), w.enters(5)), (1, 1, 2));
        assert_eq!(w.bounds(2), (5, 10));
    }

    #[test]
    fn open_index_closes_windows_whose_end_has_passed() {
        let w = WindowSpec::event_time(60_000, 10_000, 5_000);
        // Everything before 20 s has arrived: windows ending at 10 s and 20 s are closed.
        assert_eq!(w.open_index(20_000), 3);
        assert_eq!(w.open_index(19_999), 2);
        assert_eq!(w.describe(), "sliding(60s, every: 10s)");
    }
}
