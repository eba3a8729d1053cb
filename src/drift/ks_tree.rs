//! The KS distance of a window, kept up to date as counts change: a segment tree over the cells.
//!
//! Cell `c` has a window count `w_c` and a reference weight `r_c`, the reference CDF at the
//! cell's upper bound being `R_c / q` (`R_c` the sum of `r` through `c`) and the window's
//! `P_c / m` (`P_c` the sum of `w`, `m` the window's size). The distance is
//! `D = max |P_c/m − R_c/q|` over the cells that are evaluation points, which is
//! `max |q·P_c − m·R_c| / (q·m)`: the largest absolute prefix sum of the leaf values
//! `v_c = q·w_c − m·r_c`. Each node keeps its sum and the largest and smallest prefix sum over
//! its evaluation points, so the root answers D, in exact integers until the one division.
//!
//! A count change touches one leaf and its log₂(cells) ancestors. A change of `m` changes every
//! leaf; that happens while a window of events fills up and for windows of event time, whose
//! size varies. Then, or when so many leaves changed that walking their ancestors would cost
//! more, D comes from one pass over the cells instead, and the tree is rebuilt (O(cells)) the
//! next time few leaves change.
//!
//! With the reference quantile grid (`q` = cells, `r_c` the grid values at the cell's bound)
//! this is the grid distance of [`ks_grid`](super::ks::ks_grid); with the reference sample
//! itself (`q` = its size, a cell bound at every reference value and just below it) it is the
//! exact two-sample statistic of [`ks_exact`](super::ks::ks_exact).

/// No evaluation point in the node: prefix extremes that any real value beats.
const NO_MAX: i64 = i64::MIN / 4;
const NO_MIN: i64 = i64::MAX / 4;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    sum: i64,
    max: i64,
    min: i64,
}

impl Node {
    const EMPTY: Node = Node { sum: 0, max: NO_MAX, min: NO_MIN };

    fn join(l: Node, r: Node) -> Node {
        Node {
            sum: l.sum + r.sum,
            max: if r.max == NO_MAX { l.max } else { l.max.max(l.sum + r.max) },
            min: if r.min == NO_MIN { l.min } else { l.min.min(l.sum + r.min) },
        }
    }
}

/// The reference side of a KS distance: per cell, its weight and whether the CDFs are compared
/// at its upper bound; and the weights' denominator.
#[derive(Clone, Debug, PartialEq)]
pub struct KsReference {
    pub q: u64,
    pub weights: Vec<u32>,
    pub evaluated: Vec<bool>,
}

/// The window's side, and the tree over both.
#[derive(Clone, Debug)]
pub struct KsTree {
    q: i64,
    weights: Vec<i64>,
    evaluated: Vec<bool>,
    counts: Vec<i64>,
    total: i64,
    /// The window size the leaves were computed for.
    built_for: i64,
    /// Leaves start at `size` (a power of two); node `i` has children `2i` and `2i + 1`.
    size: usize,
    nodes: Vec<Node>,
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    /// Levels of the tree: what one leaf's change costs to bring up to the root.
    depth: usize,
    /// So many leaves changed that rebuilding is cheaper than walking up from each.
    rebuild_due: bool,
    /// The window size at the previous distance.
    last_total: i64,
}

impl KsTree {
    pub fn new(reference: &KsReference) -> KsTree {
        let cells = reference.weights.len();
        assert_eq!(cells, reference.evaluated.len(), "one evaluation flag per cell");
        let size = cells.next_power_of_two().max(2);
        let mut tree = KsTree {
            q: reference.q as i64,
            weights: reference.weights.iter().map(|&w| i64::from(w)).collect(),
            evaluated: reference.evaluated.clone(),
            counts: vec![0; cells],
            total: 0,
            built_for: -1,
            size,
            nodes: vec![Node::EMPTY; 2 * size],
            dirty: Vec::new(),
            is_dirty: vec![false; cells],
            depth: size.trailing_zeros() as usize + 1,
            rebuild_due: false,
            last_total: 0,
        };
        tree.rebuild();
        tree
    }

    /// Adds `diff` values to `cell`.
    #[inline]
    pub fn apply(&mut self, cell: usize, diff: i64) {
        let Some(c) = self.counts.get_mut(cell) else { return };
        *c += diff;
        self.total += diff;
        // Once a rebuild is due, which leaves changed no longer matters.
        if !self.is_dirty[cell] && !self.rebuild_due {
            self.is_dirty[cell] = true;
            self.dirty.push(cell as u32);
            self.rebuild_due = self.dirty.len() * self.depth >= self.counts.len();
        }
    }

    /// Adds counts per cell (cell `c` at index `c`; at most one per cell), as a slide that
    /// touched many cells does: the next distance is one pass over the cells.
    pub fn add_dense(&mut self, counts: &[i16]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.add_dense_avx2(counts) };
        }
        self.add_dense_portable(counts)
    }

    /// [`Self::add_dense_portable`] compiled for AVX2 (four cells at a time).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn add_dense_avx2(&mut self, counts: &[i16]) {
        self.add_dense_portable(counts)
    }

    #[inline(always)]
    fn add_dense_portable(&mut self, counts: &[i16]) {
        let mut added = 0;
        for (c, &n) in self.counts.iter_mut().zip(counts) {
            *c += i64::from(n);
            added += i64::from(n);
        }
        self.total += added;
        self.rebuild_due = true;
    }

    /// Counts per cell.
    pub fn counts(&self) -> &[i64] {
        &self.counts
    }

    /// Values in the window.
    pub fn total(&self) -> u64 {
        self.total.max(0) as u64
    }

    /// The distance D; `None` for an empty window or a reference without evaluation points.
    pub fn distance(&mut self) -> Option<f64> {
        let resized = std::mem::replace(&mut self.last_total, self.total) != self.total;
        let root = if self.rebuild_due || resized {
            // Most leaves changed, or all of them (a new window size): one pass over the cells
            // answers without writing the tree, which is rebuilt only once changes are few again.
            self.scan()
        } else {
            self.refresh();
            self.nodes[1]
        };
        if self.total <= 0 || root.max == NO_MAX {
            return None;
        }
        let largest = root.max.max(-root.min);
        Some(largest as f64 / (self.q as f64 * self.total as f64))
    }

    /// D and the Wasserstein-1 distance in one pass over the cells, for a tree over the refined
    /// cells of a reference quantile grid: `q` grid points, `weights[c]` of them equal to the
    /// upper bound `bounds[c]` of cell `c`. Both are `None` for an empty window; the
    /// Wasserstein distance also for a grid of fewer than two points.
    ///
    /// The Wasserstein distance is [`wasserstein_value`](super::wasserstein::wasserstein_value)
    /// of the counts per grid cell: between two successive distinct grid values, the width
    /// times the mean of |R − W| at both ends, where R at a grid value is the level just after
    /// the grid values below it on the left end of an interval, and after all those equal to it
    /// on the right end (the grid's cells between equal values have no width).
    pub fn distance_and_area(&mut self, bounds: &[f64]) -> (Option<f64>, Option<f64>) {
        debug_assert_eq!(bounds.len() + 1, self.counts.len(), "a bound per cell but the last");
        let (q, m) = (self.q, self.total);
        if m <= 0 || q <= 0 {
            return (self.distance(), None);
        }
        // At an evaluation point with R grid values at or below it, q·P − m·R (the prefix, in
        // exact integers) is q·m times W − R/q: the KS distance's term, and |R − W| for the
        // Wasserstein distance at the point's right end. At its left end R counts only the first
        // of the grid values equal to it, one more than those below: prefix + m·(r − 1).
        let (mut max, mut min, mut prefix) = (NO_MAX, NO_MIN, 0i64);
        // The previous grid value, and q·m·|R − W| just after it. The area goes to four sums in
        // turn, so that the additions overlap instead of each waiting for the one before.
        let (mut last, mut area) = (None::<(f64, i64)>, [0.0; 4]);
        let cells = bounds.len();
        let (counts, weights, evaluated) = (&self.counts[..cells], &self.weights[..cells], &self.evaluated[..cells]);
        for c in 0..cells {
            let r = weights[c];
            prefix += q * counts[c] - m * r;
            if evaluated[c] {
                max = max.max(prefix);
                min = min.min(prefix);
                let left = (prefix + m * (r - 1)).abs();
                let bound = bounds[c];
                if let Some((from, gap)) = last {
                    area[c % 4] += (bound - from) * (gap + left) as f64;
                }
                last = Some((bound, prefix.abs()));
            }
        }
        // The cell above the last bound is never an evaluation point on a grid.
        self.scanned();
        self.last_total = self.total;
        let qm = q as f64 * m as f64;
        let d = (max != NO_MAX).then(|| max.max(-min) as f64 / qm);
        (d, (q >= 2).then_some(0.5 * ((area[0] + area[1]) + (area[2] + area[3])) / qm))
    }

    /// The tree no longer matches the counts after a pass that answered without it.
    fn scanned(&mut self) {
        for c in self.dirty.drain(..) {
            self.is_dirty[c as usize] = false;
        }
        self.rebuild_due = false;
        // Built for no size: the next refresh rebuilds.
        self.built_for = -1;
    }

    /// The root's prefix extremes by one pass over the leaves; leaves the tree out of date.
    fn scan(&mut self) -> Node {
        let (q, m) = (self.q, self.total);
        let (mut max, mut min, mut prefix) = (NO_MAX, NO_MIN, 0i64);
        for ((&w, &r), &evaluated) in self.counts.iter().zip(&self.weights).zip(&self.evaluated) {
            prefix += q * w - m * r;
            // Selected, not branched on, so the extremes stay in registers.
            let (high, low) = if evaluated { (prefix, prefix) } else { (NO_MAX, NO_MIN) };
            max = max.max(high);
            min = min.min(low);
        }
        let node = Node { sum: prefix, max, min };
        self.scanned();
        node
    }

    fn leaf(&self, c: usize) -> Node {
        let v = self.q * self.counts[c] - self.total * self.weights[c];
        if self.evaluated[c] {
            Node { sum: v, max: v, min: v }
        } else {
            Node { sum: v, max: NO_MAX, min: NO_MIN }
        }
    }

    /// Brings the tree up to date with the counts.
    fn refresh(&mut self) {
        if self.dirty.is_empty() && !self.rebuild_due && self.built_for == self.total {
            return;
        }
        if self.built_for != self.total || self.rebuild_due {
            self.rebuild();
            return;
        }
        let mut level: Vec<usize> = Vec::with_capacity(self.dirty.len());
        for &c in &self.dirty {
            let c = c as usize;
            self.is_dirty[c] = false;
            self.nodes[self.size + c] = self.leaf(c);
            level.push((self.size + c) / 2);
        }
        self.dirty.clear();
        level.sort_unstable();
        level.dedup();
        while !level.is_empty() {
            for &i in &level {
                self.nodes[i] = Node::join(self.nodes[2 * i], self.nodes[2 * i + 1]);
            }
            if level[0] == 1 {
                break;
            }
            for i in level.iter_mut() {
                *i /= 2;
            }
            level.dedup();
        }
    }

    fn rebuild(&mut self) {
        for c in self.dirty.drain(..) {
            self.is_dirty[c as usize] = false;
        }
        self.rebuild_due = false;
        for c in 0..self.counts.len() {
            self.nodes[self.size + c] = self.leaf(c);
        }
        for i in (1..self.size).rev() {
            self.nodes[i] = Node::join(self.nodes[2 * i], self.nodes[2 * i + 1]);
        }
        self.built_for = self.total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// D straight from the definition.
    fn direct(reference: &KsReference, counts: &[i64]) -> Option<f64> {
        let m: i64 = counts.iter().sum();
        let (mut p, mut r, mut d, mut any) = (0i64, 0i64, 0f64, false);
        for (c, &count) in counts.iter().enumerate() {
            p += count;
            r += i64::from(reference.weights[c]);
            if reference.evaluated[c] {
                any = true;
                d = d.max((p as f64 / m as f64 - r as f64 / reference.q as f64).abs());
            }
        }
        (m > 0 && any).then_some(d)
    }

    #[test]
    fn empty_window_and_no_points() {
        let reference = KsReference { q: 2, weights: vec![1, 1], evaluated: vec![true, true] };
        assert_eq!(KsTree::new(&reference).distance(), None);
        let blind = KsReference { q: 2, weights: vec![1, 1], evaluated: vec![false, false] };
        let mut tree = KsTree::new(&blind);
        tree.apply(0, 3);
        assert_eq!(tree.distance(), None);
    }

    #[test]
    fn all_in_the_last_cell() {
        let reference = KsReference { q: 4, weights: vec![1, 1, 1, 1, 0], evaluated: vec![true; 5] };
        let mut tree = KsTree::new(&reference);
        tree.apply(4, 10);
        // The reference CDF reaches 1 at cell 3, where the window's is still 0.
        assert_eq!(tree.distance(), Some(1.0));
    }

    proptest! {
        /// After any sequence of changes, in any batches, D is the direct one.
        #[test]
        fn matches_the_definition(
            cells in 1usize..200,
            weights in prop::collection::vec(0u32..5, 200),
            evaluated in prop::collection::vec(prop::bool::weighted(0.8), 200),
            steps in prop::collection::vec(prop::collection::vec((0usize..200, 1i64..6), 0..30), 1..12),
        ) {
            let weights: Vec<u32> = weights[..cells].to_vec();
            let q = weights.iter().map(|&w| u64::from(w)).sum::<u64>().max(1);
            let reference = KsReference { q, weights, evaluated: evaluated[..cells].to_vec() };
            let mut tree = KsTree::new(&reference);
            let mut counts = vec![0i64; cells];
            for (s, step) in steps.iter().enumerate() {
                for &(c, n) in step {
                    let c = c % cells;
                    // Every other step takes values out again where there are some.
                    let n = if s % 2 == 1 { -n.min(counts[c]) } else { n };
                    counts[c] += n;
                    tree.apply(c, n);
                }
                let (got, want) = (tree.distance(), direct(&reference, &counts));
                match (got, want) {
                    (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-12, "{} vs {}", a, b),
                    (a, b) => prop_assert_eq!(a, b),
                }
            }
        }
    }
}
