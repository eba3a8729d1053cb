//! Drift windows as a differential collection.
//!
//! Each worker maps its values to cells ([`Binning`]) and feeds a [`Feed`]. The feed turns the
//! values entering window `j` into updates of a differential collection whose logical time is
//! the window index, whose data is the monitor (its place among the monitors that share the
//! input, see [`SharedInput`]) and whose difference is counts per cell ([`CellDelta`]): at time
//! `j`, the counts of the slide that enters window `j` plus the negated counts of the slide
//! that leaves it (the one that entered at `j − size/every`). The collection at time `j` is
//! exactly the multiset of cells in window `j`, and a slide costs one update per worker,
//! whatever the window length and however many cells it touches. (A late value of an event-time
//! window joins the open windows and leaves when it would have, as its own +1 and −1.)
//!
//! [`window_stats`] exchanges each monitor's updates to its owner worker, accumulates them into
//! [`WindowCounts`] in time order as the frontier passes each index and emits the window's
//! [`Statistics`]: no window is ever rescanned.

use super::binning::Binning;
use super::counts::{Statistics, WindowCounts};
use super::delta::CellDelta;
use super::shared_input::SharedInput;
use super::window::WindowSpec;
use crate::program::Measure;
use differential_dataflow::difference::Semigroup as _;
use differential_dataflow::{AsCollection as _, VecCollection};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator as _;
use timely::dataflow::operators::{Capability, Exchange as _, Inspect as _};
use timely::dataflow::Stream;

/// One evaluated window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowStats {
    /// Window index: the window closes at position `index · every`.
    pub index: u64,
    /// Positions covered, `[start, end)`: event numbers, or event time in ms.
    pub start: u64,
    pub end: u64,
    #[serde(flatten)]
    pub statistics: Statistics,
}

/// The updates of the window collections of monitors that share an input: (monitor, window
/// index, ±counts per cell).
pub type CellUpdates<'s> = VecCollection<'s, u64, u32, CellDelta>;

/// A worker's side of one drift's window collection: pre-aggregates values per window and cell,
/// and hands them to the collection once the worker can no longer add to that window.
pub struct Feed {
    spec: WindowSpec,
    /// The window collection's input, shared with the monitors of the same window shape.
    input: Rc<RefCell<SharedInput>>,
    /// This monitor's place in the shared input.
    slot: u32,
    /// The lowest window index still open to this worker's values; `u64::MAX` once closed.
    open: u64,
    /// Entering updates not yet handed over, by window index.
    pending: BTreeMap<u64, Pending>,
    /// The window most values enter right now, kept out of the map: (index, first position,
    /// end position, counts). Values arrive in order, so most find it without a division.
    hot: Option<(u64, u64, u64, Pending)>,
    /// Number of cells for dense pre-aggregation (numeric targets); 0 for sparse.
    dense: usize,
    /// Highest position seen (event time) or next position expected (events).
    watermark: u64,
    /// Values that arrived after a window they belong to had closed.
    pub late: u64,
    /// Zeroed dense counts of windows already handed over, for the next windows.
    spare: Vec<Vec<u32>>,
    /// Byte counts of slides that have left, for the next slides to be kept in.
    spare_bytes: Vec<Vec<u8>>,
    /// What leaves each later window: the slides handed over, by the window they leave. Each
    /// goes out with the slide that enters the same window, as one update.
    leaving: BTreeMap<u64, Leaving>,
}

/// A slide handed over, kept until the window it leaves.
enum Leaving {
    /// Its dense counts per cell, each below 256: a quarter of the memory of `Counts`. A feed
    /// keeps `size/every` slides; as bytes, writing and reading them back takes less of the
    /// caches the rest of the pipeline uses.
    Bytes(Vec<u8>),
    /// Its dense counts per cell.
    Counts(Vec<u32>),
    /// Its update, negated.
    Delta(CellDelta),
}

impl Leaving {
    /// The counts to keep of a dense slide: as bytes (in `spare`, if one is given) when they
    /// all fit, as they are otherwise.
    #[inline]
    fn keep(counts: &[u32], spare: Option<Vec<u8>>) -> Leaving {
        let mut bytes = spare.unwrap_or_default();
        bytes.resize(counts.len(), 0);
        let mut high = 0;
        for (b, &n) in bytes.iter_mut().zip(counts) {
            *b = n as u8;
            high |= n;
        }
        if high <= u32::from(u8::MAX) {
            Leaving::Bytes(bytes)
        } else {
            Leaving::Counts(counts.to_vec())
        }
    }

    /// Alone, for a window that nothing enters from this worker.
    fn into_update(self) -> CellDelta {
        match self {
            Leaving::Bytes(counts) => CellDelta::leaving_counts(&counts),
            Leaving::Counts(counts) => CellDelta::leaving_counts(&counts),
            Leaving::Delta(delta) => delta,
        }
    }
}

enum Pending {
    /// Counts by cell; with many cells also the cells touched, so a short slide is read off
    /// without scanning them all.
    Dense {
        counts: Vec<u32>,
        touched: Option<Vec<u32>>,
    },
    Sparse(HashMap<u64, isize>),
}

impl Pending {
    /// Counts for `dense` cells (0: sparse), in `spare` (zeroed) if given.
    fn new(dense: usize, spare: Option<Vec<u32>>) -> Pending {
        if dense > 0 {
            let touched = (dense > TRACK_TOUCHED_ABOVE).then(Vec::new);
            Pending::Dense { counts: spare.unwrap_or_else(|| vec![0; dense]), touched }
        } else {
            Pending::Sparse(HashMap::new())
        }
    }

    fn add(&mut self, cell: u64) {
        match self {
            Pending::Dense { counts, touched } => {
                let c = &mut counts[cell as usize];
                *c += 1;
                if let Some(touched) = touched.as_mut().filter(|_| *c == 1) {
                    touched.push(cell as u32);
                }
            }
            Pending::Sparse(map) => *map.entry(cell).or_default() += 1,
        }
    }
}

impl Feed {
    /// A feed into `input` as its monitor `slot`, the window collection's updates: what enters
    /// each window and, at the same moment, its retraction from the window it leaves.
    pub fn new(spec: WindowSpec, binning: &Binning, input: Rc<RefCell<SharedInput>>, slot: u32) -> Feed {
        let dense = match binning {
            Binning::Numeric(b) => b.cells(),
            Binning::Categorical(_) => 0,
        };
        Feed {
            spec,
            input,
            slot,
            open: 0,
            pending: BTreeMap::new(),
            hot: None,
            dense,
            watermark: 0,
            late: 0,
            spare: Vec::new(),
            spare_bytes: Vec::new(),
            leaving: BTreeMap::new(),
        }
    }

    /// Adds a value at `position` in `cell`. Returns false for a late value: one whose first
    /// window had closed. A late value still joins the windows that are open, if any.
    #[inline]
    pub fn offer(&mut self, position: u64, cell: u64) -> bool {
        if let Some((_, lo, hi, pending)) = self.hot.as_mut() {
            if *lo <= position && position < *hi {
                pending.add(cell);
                return true;
            }
        }
        self.offer_elsewhere(position, cell)
    }

    /// [`offer`](Self::offer) for many values in arrival order: while they fall in the hot
    /// window of a dense feed, each costs one count. Returns how many were late.
    #[inline]
    pub fn offer_many(&mut self, mut values: impl Iterator<Item = (u64, u64)>) -> u64 {
        let late_before = self.late;
        loop {
            let mut elsewhere = None;
            if let Some((_, lo, hi, Pending::Dense { counts, touched: None })) = self.hot.as_mut() {
                let (lo, hi) = (*lo, *hi);
                for (position, cell) in values.by_ref() {
                    if lo <= position && position < hi {
                        counts[cell as usize] += 1;
                    } else {
                        elsewhere = Some((position, cell));
                        break;
                    }
                }
            } else {
                elsewhere = values.next();
            }
            match elsewhere {
                Some((position, cell)) => {
                    self.offer(position, cell);
                }
                None => return self.late - late_before,
            }
        }
    }

    /// [`offer_many`](Self::offer_many) for the values `0..n` at strictly ascending positions
    /// (`cell` is `None` for a value without one): the run of values inside the hot window is
    /// found by a binary search on the positions and counted without looking at them.
    #[inline]
    pub fn offer_ascending(
        &mut self,
        n: usize,
        position: impl Fn(usize) -> u64,
        mut cell: impl FnMut(usize) -> Option<u64>,
    ) -> u64 {
        let late_before = self.late;
        let mut i = 0;
        while i < n {
            if let Some((_, lo, hi, Pending::Dense { counts, touched: None })) = self.hot.as_mut() {
                let (lo, hi) = (*lo, *hi);
                if lo <= position(i) {
                    let (mut end, mut above) = (i, n);
                    while end < above {
                        let mid = end + (above - end) / 2;
                        if position(mid) < hi {
                            end = mid + 1;
                        } else {
                            above = mid;
                        }
                    }
                    let counts = counts.as_mut_slice();
                    for k in i..end {
                        if let Some(c) = cell(k) {
                            counts[c as usize] += 1;
                        }
                    }
                    if end > i {
                        i = end;
                        continue;
                    }
                }
            }
            if let Some(c) = cell(i) {
                self.offer(position(i), c);
            }
            i += 1;
        }
        self.late - late_before
    }

    /// Makes window `enters` the hot one.
    fn heat(&mut self, enters: u64) {
        self.cool();
        let dense = self.dense;
        let spare = self.spare.pop();
        let pending = self.pending.remove(&enters).unwrap_or_else(|| Pending::new(dense, spare));
        let lo = (enters - 1) * self.spec.every;
        self.hot = Some((enters, lo, lo + self.spec.every, pending));
    }

    /// A value outside the hot window: switch the hot window, or handle a late value.
    fn offer_elsewhere(&mut self, position: u64, cell: u64) -> bool {
        let enters = self.spec.enters(position);
        let open = self.open;
        if enters >= open {
            self.heat(enters);
            if let Some((_, _, _, p)) = self.hot.as_mut() {
                p.add(cell);
            }
            return true;
        }
        self.late += 1;
        let leaves = self.spec.leaves(enters);
        // It joins the open windows now and leaves when it would have, not `size/every` windows
        // after the window it joins, which would keep it too long.
        if leaves > open && open < u64::MAX {
            let mut input = self.input.borrow_mut();
            input.update_at(self.slot, open, CellDelta::one(cell, 1));
            input.update_at(self.slot, leaves, CellDelta::one(cell, -1));
        }
        false
    }

    /// Tells the feed how far this worker's input has come: for windows of events, the next
    /// event number it can produce; for event time, the newest event time it has seen (the
    /// declared lateness is subtracted here). Windows that can no longer change are handed over.
    pub fn advance(&mut self, position: u64) {
        self.watermark = self.watermark.max(position);
        let watermark = match self.spec.measure {
            Measure::Events => self.watermark,
            Measure::EventTime => self.watermark.saturating_sub(self.spec.lateness),
        };
        let open = self.spec.open_index(watermark);
        if open > self.open && self.open < u64::MAX {
            self.hand_over(open);
            self.open = open;
            self.input.borrow_mut().advance(self.slot, open);
        }
    }

    /// Puts the hot window back with the others.
    fn cool(&mut self) {
        if let Some((enters, _, _, pending)) = self.hot.take() {
            self.pending.insert(enters, pending);
        }
    }

    /// Hands over every window below `open`: ((), window, what enters it and what leaves it).
    fn hand_over(&mut self, open: u64) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.hand_over_avx2(open) };
        }
        self.hand_over_portable(open)
    }

    /// [`Self::hand_over_portable`] compiled for AVX2: building the update, keeping the bytes
    /// and zeroing the counts then take 8 to 32 cells at a time.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn hand_over_avx2(&mut self, open: u64) {
        self.hand_over_portable(open)
    }

    #[inline(always)]
    fn hand_over_portable(&mut self, open: u64) {
        if self.hot.as_ref().is_some_and(|h| h.0 < open) {
            self.cool();
        }
        let slides = self.spec.slides();
        if self.open == u64::MAX {
            return;
        }
        let (slot, mut input) = (self.slot, self.input.borrow_mut());
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() >= open {
                break;
            }
            let (at, pending) = entry.remove_entry();
            // Earlier windows that nothing enters from this worker get only what leaves them.
            while let Some(leaving) = self.leaving.first_entry().filter(|e| *e.key() < at) {
                let (window, leaving) = leaving.remove_entry();
                input.update_at(slot, window, leaving.into_update());
            }
            // What leaves window `at` goes out with what enters it; what enters it leaves
            // window `at + size/every`.
            let mut leaves = self.leaving.remove(&at);
            let (update, kept) = match pending {
                Pending::Dense { mut counts, touched: Some(mut touched) } if touched.len() * 16 <= counts.len() => {
                    // Few of many cells: the touched ones, sorted, as pairs.
                    touched.sort_unstable();
                    let pairs = touched.iter().map(|&c| (u64::from(c), i64::from(counts[c as usize]))).collect();
                    for &c in &touched {
                        counts[c as usize] = 0;
                    }
                    self.spare.push(counts);
                    let entering = CellDelta::from_sorted(pairs);
                    let leaving = entering.leaving();
                    (entering, Leaving::Delta(leaving))
                }
                Pending::Dense { mut counts, .. } => {
                    // The update is built in one pass from the counts and those that leave now.
                    // A compact copy of the counts waits for the window they leave; the counts
                    // themselves are zeroed for the next slide, so the values of every slide
                    // are counted into the same few arrays, which stay in cache, and not into
                    // one last touched `size/every` slides ago.
                    let update = match leaves.take_if(|l| !matches!(l, Leaving::Delta(_))) {
                        Some(Leaving::Bytes(leaving)) => {
                            let update = CellDelta::slide(&counts, Some(&leaving));
                            self.spare_bytes.push(leaving);
                            update
                        }
                        Some(Leaving::Counts(leaving)) => CellDelta::slide(&counts, Some(&leaving)),
                        _ => CellDelta::from_counts(&counts),
                    };
                    let kept = Leaving::keep(&counts, self.spare_bytes.pop());
                    counts.fill(0);
                    self.spare.push(counts);
                    (update, kept)
                }
                Pending::Sparse(map) => {
                    let entering = CellDelta::from_pairs(map.into_iter().map(|(c, n)| (c, n as i64)).collect());
                    let leaving = entering.leaving();
                    (entering, Leaving::Delta(leaving))
                }
            };
            let mut update = update;
            if let Some(leaving) = leaves {
                update.plus_equals(&leaving.into_update());
            }
            self.spare.truncate(4);
            self.leaving.insert(at + slides, kept);
            input.update_at(slot, at, update);
        }
        while let Some(leaving) = self.leaving.first_entry().filter(|e| *e.key() < open) {
            let (window, leaving) = leaving.remove_entry();
            input.update_at(slot, window, leaving.into_update());
        }
    }

    /// The input has ended: hands over everything and closes this worker's side of the collection.
    pub fn close(&mut self) {
        self.hand_over(u64::MAX);
        self.open = u64::MAX;
        self.input.borrow_mut().close(self.slot);
    }

    pub fn is_closed(&self) -> bool {
        self.open == u64::MAX
    }
}

/// Above this many cells a window's pending counts also list the cells they touched.
const TRACK_TOUCHED_ABOVE: usize = 8192;

/// Updates waiting for the frontier to pass their window index, with the capability to report
/// it: (monitor, ±counts) in arrival order.
type Held = (Capability<u64>, Vec<(u32, CellDelta)>);

/// The `drift-window` operator: each monitor's window as a differential collection of cell
/// counts on its owner worker (`owners[monitor]`), timed by window index. The feeds already put
/// in, at each window, the counts of the slide that enters it plus the negated counts of the
/// slide that leaves it (and a late value's +1 and −1 at the windows it joins and leaves), so
/// the collection at time `j` is window `j`; this exchanges it to the owners.
pub fn window_collection<'s>(updates: CellUpdates<'s>, owners: Vec<u64>) -> CellUpdates<'s> {
    let to_owner = move |(monitor, _, _): &(u32, u64, CellDelta)| owners[*monitor as usize];
    updates.inner.exchange(to_owner).as_collection()
}

/// Accumulates the window collections on their owners and emits each window's statistics once
/// the frontier has passed its index: [`window_collection`] then [`window_statistics`].
pub fn window_stats<'s>(
    updates: CellUpdates<'s>,
    binnings: Vec<Arc<Binning>>,
    spec: WindowSpec,
    owners: Vec<u64>,
) -> Stream<'s, u64, Vec<(u32, WindowStats)>> {
    window_statistics(window_collection(updates, owners), binnings, spec)
}

/// The `drift-stats` operator of monitors that share an input (`binnings[monitor]`): applies
/// each monitor's updates to its counts per cell in time order as the frontier passes each
/// window index, and emits every statistic of the window, as (monitor, statistics), for each
/// monitor that had updates at that index. A monitor's windows after the last one any of its
/// values entered (the retractions that drain the window when the input ends) are not
/// reported.
pub fn window_statistics<'s>(
    window: CellUpdates<'s>,
    binnings: Vec<Arc<Binning>>,
    spec: WindowSpec,
) -> Stream<'s, u64, Vec<(u32, WindowStats)>> {
    window.inner.unary_frontier::<CapacityContainerBuilder<Vec<(u32, WindowStats)>>, _, _, _>(
        Pipeline,
        "DriftStats",
        move |_, _| {
            // A monitor's counts exist on its owner only, from its first update.
            let mut counts: Vec<Option<WindowCounts>> = vec![None; binnings.len()];
            let mut last_entry = vec![0u64; binnings.len()];
            let mut pending: BTreeMap<u64, Held> = BTreeMap::new();
            let mut touched: Vec<u32> = Vec::new();
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    for (monitor, time, delta) in data.drain(..) {
                        if delta.adds() {
                            let last = &mut last_entry[monitor as usize];
                            *last = (*last).max(time);
                        }
                        let held = pending.entry(time).or_insert_with(|| (cap.delayed(&time, 0), Vec::new()));
                        held.1.push((monitor, delta));
                    }
                });
                let ended = frontier.frontier().is_empty();
                while let Some(entry) = pending.first_entry() {
                    let time = *entry.key();
                    if frontier.less_equal(&time) {
                        break;
                    }
                    let (cap, updates) = entry.remove();
                    touched.clear();
                    for (monitor, delta) in &updates {
                        let binning = &binnings[*monitor as usize];
                        let c = counts[*monitor as usize].get_or_insert_with(|| WindowCounts::new(binning));
                        c.apply_delta(binning, delta);
                        touched.push(*monitor);
                    }
                    touched.sort_unstable();
                    touched.dedup();
                    let (start, end) = spec.bounds(time);
                    let mut session = output.session(&cap);
                    for &monitor in &touched {
                        if ended && time > last_entry[monitor as usize] {
                            continue;
                        }
                        let Some(c) = counts[monitor as usize].as_mut() else { continue };
                        let statistics = c.statistics(&binnings[monitor as usize]);
                        session.give((monitor, WindowStats { index: time, start, end, statistics }));
                    }
                }
            }
        },
    )
}

/// Runs one drift's windows over `values` — (position, cell) in arrival order, dealt to
/// `workers` threads round-robin — and returns every window's statistics in index order, with
/// the number of late values. The engine builds the same dataflow; this is its test harness.
pub fn run_windows(
    spec: WindowSpec,
    binning: Binning,
    values: Vec<(u64, u64)>,
    workers: usize,
    batch: usize,
) -> (Vec<WindowStats>, u64) {
    run_shared_windows(spec, vec![(binning, values)], workers, batch).remove(0)
}

/// [`run_windows`] for several monitors of one window shape sharing an input, monitor `m`
/// owned by worker `m % workers`: each monitor's windows and late values. As in a run, where
/// they read the same events, the monitors' values should be at the same positions: the input
/// ends for all of them at once, and a monitor whose values stop earlier reports the windows
/// they leave while the others go on, where alone it would have ended.
pub fn run_shared_windows(
    spec: WindowSpec,
    monitors: Vec<(Binning, Vec<(u64, u64)>)>,
    workers: usize,
    batch: usize,
) -> Vec<(Vec<WindowStats>, u64)> {
    use differential_dataflow::input::Input;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    let n = monitors.len();
    let results = Arc::new(Mutex::new(vec![Vec::new(); n]));
    let late: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let (binnings, values): (Vec<_>, Vec<_>) = monitors.into_iter().map(|(b, v)| (Arc::new(b), v)).unzip();
    let values = Arc::new(values);
    let (r, l) = (results.clone(), late.clone());
    let workers = workers.max(1);
    timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let (binnings, results) = (binnings.clone(), r.clone());
        let mut feeds = worker.dataflow::<u64, _, _>(|scope| {
            let (input, updates) = scope.new_collection::<u32, CellDelta>();
            let owners = (0..binnings.len() as u64).map(|m| m % peers as u64).collect();
            let stats = window_stats(updates, binnings.clone(), spec, owners);
            stats.inspect(move |(m, s)| results.lock().expect("results")[*m as usize].push(s.clone()));
            let input = SharedInput::new(input, binnings.len());
            (0..binnings.len()).map(|m| Feed::new(spec, &binnings[m], input.clone(), m as u32)).collect::<Vec<_>>()
        });
        let mine: Vec<Vec<(u64, u64)>> =
            values.iter().map(|v| v.iter().skip(index).step_by(peers).copied().collect()).collect();
        let chunks = mine.iter().map(|v| v.len().div_ceil(batch.max(1))).max().unwrap_or(0);
        for k in 0..chunks {
            for (feed, mine) in feeds.iter_mut().zip(&mine) {
                let from = (k * batch.max(1)).min(mine.len());
                let chunk = &mine[from..(from + batch.max(1)).min(mine.len())];
                let Some(high) = chunk.iter().map(|&(position, _)| position).max() else { continue };
                // As the engine does: ascending positions take the run-counting path.
                if chunk.windows(2).all(|w| w[0].0 < w[1].0) {
                    feed.offer_ascending(chunk.len(), |k| chunk[k].0, |k| Some(chunk[k].1));
                } else {
                    feed.offer_many(chunk.iter().copied());
                }
                // Windows of events: positions arrive in order, so the next one is above `high`.
                feed.advance(if spec.measure == Measure::Events { high + 1 } else { high });
            }
            worker.step();
        }
        for (m, feed) in feeds.iter_mut().enumerate() {
            l[m].fetch_add(feed.late, Ordering::Relaxed);
            feed.close();
        }
        while worker.step() {}
    })
    .expect("timely runs")
    .join()
    .into_iter()
    .for_each(|r| r.expect("worker"));
    let mut out = std::mem::take(&mut *results.lock().expect("results"));
    out.iter_mut().for_each(|windows| windows.sort_by_key(|s| s.index));
    out.into_iter().zip(late.iter()).map(|(windows, late)| (windows, late.load(Ordering::Relaxed))).collect()
}
