//! Evaluation of the flat arrays: one row at a time, or a batch in blocks.
//!
//! Batch evaluation goes tree by tree over blocks of rows copied column-major, so that a
//! tree's nodes are loaded once per block and each row still adds its trees up in order:
//! - a tree of one split (the usual linear-tree model) is one straight-line, vectorisable
//!   pass over the block's columns;
//! - a deeper tree is evaluated level by level: each node splits its list of rows between
//!   its children without branching on the data, so every row takes exactly the steps of
//!   its own path, and the branch predictor only sees one loop per node.

use super::{CompiledModel, Node, TreeInfo};
use super::{CATEGORICAL, K_ZERO, NAN_RIGHT, ZERO_MISSING};
use crate::model::error::{check_shape, ModelError};
use crate::model::predictor::Predictor;
use std::hint::select_unpredictable;

/// Rows evaluated together, tree by tree. Large blocks spread each node's fixed cost over
/// more rows; the block's columns then live in L2, which the access pattern tolerates.
const BLOCK_ROWS: usize = 2048;
// Positions within a block are kept as u16.
const _: () = assert!(BLOCK_ROWS <= u16::MAX as usize);
/// Trees one row walks at the same time in `predict_one`.
const TREES_AT_ONCE: usize = 8;

/// The value LightGBM's dense-row reader passes on: `|x| <= kZeroThreshold` reads as 0.
#[inline(always)]
fn zero_rounded(x: f64) -> f64 {
    if x.abs() <= K_ZERO {
        0.0
    } else {
        x
    }
}

/// What LightGBM's objective does to the raw score (`ObjectiveFunction::ConvertOutput`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Transform {
    Identity,
    /// `sqrt` regression: sign(x)·x·x.
    SignSquare,
    /// Poisson, gamma, tweedie.
    Exp,
    /// Binary: 1 / (1 + exp(-sigmoid·x)).
    Sigmoid(f64),
    /// Cross-entropy: 1 / (1 + exp(-x)).
    Logistic,
    /// Cross-entropy lambda: log(1 + exp(x)).
    Log1pExp,
}

impl Transform {
    #[inline]
    fn apply(self, x: f64) -> f64 {
        match self {
            Transform::Identity => x,
            Transform::SignSquare => {
                // Common::Sign returns an int: 0 for zero and NaN.
                let sign = if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                sign * x * x
            }
            Transform::Exp => x.exp(),
            Transform::Sigmoid(s) => 1.0 / (1.0 + (-s * x).exp()),
            Transform::Logistic => 1.0 / (1.0 + (-x).exp()),
            Transform::Log1pExp => x.exp().ln_1p(),
        }
    }
}

/// Working memory for one block of rows.
struct Block {
    /// Rows per column: the block size, or fewer for a small batch.
    stride: usize,
    /// The block's rows, column-major: feature `f` of the row at position `p` is at
    /// `f * stride + p`. Plain rows come first (see `load`).
    cols: Vec<f64>,
    /// The caller's row at each position.
    order: Vec<u32>,
    sums: Vec<f64>,
    /// Per position, its leaf in the current tree (linear trees).
    leaves: Vec<u32>,
    /// Lists of positions, as nodes split them.
    index: [Vec<u16>; 2],
    /// Nodes of the current and the next level, with their part of `index`.
    level: [Vec<(u32, u16, u16)>; 2],
    /// Linear leaves' sums and NaN flags, for both sides of a split.
    side_sum: [Vec<f64>; 2],
    side_nan: [Vec<u64>; 2],
}

impl Block {
    fn new(n_features: usize, stride: usize) -> Self {
        Block {
            stride,
            cols: vec![0.0; n_features * stride],
            order: vec![0; stride],
            sums: vec![0.0; stride],
            leaves: vec![0; stride],
            index: [vec![0; stride], vec![0; stride]],
            level: [Vec::new(), Vec::new()],
            side_sum: [vec![0.0; stride], vec![0.0; stride]],
            side_nan: [vec![0; stride], vec![0; stride]],
        }
    }

    /// Copies the rows in and returns how many are plain: no NaN, and no value that
    /// LightGBM would round to zero or (if `zero_missing`) treat as missing, so every
    /// numerical split is just `x > threshold` and every value is used as it is. Plain rows
    /// take the first positions.
    fn load(&mut self, rows: &[f64], zero_missing: bool) -> usize {
        let nf = self.cols.len() / self.stride;
        let n = rows.len() / nf;
        let (mut front, mut back) = (0, n);
        for (i, row) in rows.chunks_exact(nf).enumerate() {
            // +0.0 passes through LightGBM's reader unchanged; it only matters to Zero splits.
            let special = |x: f64| x.is_nan() | ((x.abs() <= K_ZERO) & (zero_missing | (x.to_bits() != 0)));
            let at = if row.iter().any(|&x| special(x)) {
                back -= 1;
                back
            } else {
                front += 1;
                front - 1
            };
            self.order[at] = i as u32;
            for (f, &x) in row.iter().enumerate() {
                self.cols[f * self.stride + at] = x;
            }
        }
        front
    }
}

/// The decision at a node: 1 to go right, 0 to go left.
trait Decide {
    fn right(model: &CompiledModel, node: &Node, x: f64) -> u32;
}

/// Numerical nodes with missing type None or NaN only.
struct Numerical;

impl Decide for Numerical {
    #[inline(always)]
    fn right(_: &CompiledModel, node: &Node, x: f64) -> u32 {
        // NaN compares false, so it goes right only by the flag.
        ((x > node.threshold) | (x.is_nan() & (node.feature & NAN_RIGHT != 0))) as u32
    }
}

/// Any node: numerical with any missing type, or categorical.
struct General;

impl Decide for General {
    #[inline(always)]
    fn right(model: &CompiledModel, node: &Node, x: f64) -> u32 {
        if node.feature & CATEGORICAL != 0 {
            return model.categorical_right(node, x) as u32;
        }
        let special = x.is_nan() | ((node.feature & ZERO_MISSING != 0) & (x.abs() <= K_ZERO));
        if special {
            (node.feature & NAN_RIGHT != 0) as u32
        } else {
            (x > node.threshold) as u32
        }
    }
}

/// Splits the positions `src` by `right(x)` into `dst`: those going left from the front,
/// those going right from the back; returns how many go left. Each position is written at
/// both ends and only the matching end's count moves, so nothing branches on the data.
///
/// Unchecked indexing here is worth 10-15% of deep-tree throughput (measured), as this
/// loop is most of the work.
///
/// # Safety
/// Every position in `src` must be a valid index into `col`.
#[inline(always)]
unsafe fn partition(src: &[u16], dst: &mut [u16], col: &[f64], right: impl Fn(f64) -> bool) -> usize {
    assert_eq!(src.len(), dst.len());
    debug_assert!(src.iter().all(|&i| (i as usize) < col.len()));
    let last = src.len().wrapping_sub(1);
    let (mut n_left, mut n_right) = (0, 0);
    let mut step = |i: u16| {
        // SAFETY: `i` indexes `col` (the caller's promise). n_left + n_right positions have
        // been placed so far, fewer than `src.len() == dst.len()`, so `n_left` and
        // `last - n_right` are both in `dst`.
        unsafe {
            let r = right(*col.get_unchecked(i as usize));
            *dst.get_unchecked_mut(n_left) = i;
            *dst.get_unchecked_mut(last - n_right) = i;
            n_left += !r as usize;
            n_right += r as usize;
        }
    };
    // Two at a time: the loop's own bookkeeping is a good part of the work per position.
    let mut pairs = src.chunks_exact(2);
    for pair in &mut pairs {
        step(pair[0]);
        step(pair[1]);
    }
    if let [i] = pairs.remainder() {
        step(*i);
    }
    n_left
}

impl CompiledModel {
    /// Predicts `out.len()` rows of `rows` (row-major, `n_features` wide).
    ///
    /// # Panics
    /// If `n_features` is not [`Self::num_features`] or the buffers disagree with it; use
    /// [`Predictor::predict`] for a checked call.
    pub fn predict(&self, rows: &[f64], n_features: usize, out: &mut [f64]) {
        if let Err(e) = check_shape(self.num_features, rows.len(), n_features, out.len()) {
            panic!("CompiledModel::predict: {e}");
        }
        if out.is_empty() {
            return;
        }
        // One row (an HTTP request): walk it directly rather than set up a column block.
        if out.len() == 1 {
            out[0] = self.predict_one(rows);
            return;
        }
        self.in_blocks(rows, n_features, out, Self::predict_block);
    }

    /// [`Self::predict`] in blocks without the CPU-specific code, for checking that both give
    /// the same bits.
    #[doc(hidden)]
    pub fn predict_portable(&self, rows: &[f64], n_features: usize, out: &mut [f64]) {
        if let Err(e) = check_shape(self.num_features, rows.len(), n_features, out.len()) {
            panic!("CompiledModel::predict_portable: {e}");
        }
        self.in_blocks(rows, n_features, out, |model, rows, out, block| model.predict_block_portable(rows, out, block));
    }

    /// Runs `each` over blocks of up to [`BLOCK_ROWS`] rows, with one block's working memory.
    fn in_blocks(
        &self,
        rows: &[f64],
        n_features: usize,
        out: &mut [f64],
        each: impl Fn(&Self, &[f64], &mut [f64], &mut Block),
    ) {
        let mut block = Block::new(n_features, out.len().clamp(1, BLOCK_ROWS));
        for (rows, out) in rows.chunks(BLOCK_ROWS * n_features).zip(out.chunks_mut(BLOCK_ROWS)) {
            each(self, rows, out, &mut block);
        }
    }

    /// Predicts one row.
    ///
    /// # Panics
    /// If `row.len()` is not [`Self::num_features`].
    pub fn predict_one(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.num_features, "CompiledModel::predict_one: row length");
        if self.shallow {
            return self.finish(self.shallow_one(row));
        }
        let mut sum = 0.0;
        // Several trees at a time, so that their independent walks overlap.
        for trees in self.trees.chunks(TREES_AT_ONCE) {
            let leaves = if trees.iter().any(|tree| tree.general) {
                self.walk::<General>(trees, row)
            } else {
                self.walk::<Numerical>(trees, row)
            };
            for (tree, &leaf) in trees.iter().zip(&leaves) {
                sum += if tree.linear { self.linear_output(leaf, |f| row[f]) } else { self.values[leaf as usize] };
            }
        }
        self.finish(sum)
    }

    /// The sum over trees of at most one split for one row, in tree order: each leaf straight
    /// from its root, with no walk to set up (the models `linear_tree` trains with two leaves).
    #[inline]
    fn shallow_one(&self, row: &[f64]) -> f64 {
        // A row with no NaN and no value that rounds to zero (other than +0) needs neither check
        // in a linear leaf: `constant + Σ c·x` in the same order is the same number.
        let plain = row.iter().all(|&x| !x.is_nan() && (x.abs() > K_ZERO || x.to_bits() == 0));
        let tree_output = |tree: &TreeInfo| {
            let leaf = if tree.depth == 0 {
                tree.root
            } else {
                let node = &self.nodes[tree.root as usize];
                let x = row[node.feature()];
                node.left + if tree.general { General::right(self, node, x) } else { Numerical::right(self, node, x) }
            };
            match (tree.linear, plain) {
                (false, _) => self.values[leaf as usize],
                (true, true) => {
                    let lin = self.linear[leaf as usize];
                    let terms = &self.lin_terms[lin.start as usize..(lin.start + lin.len) as usize];
                    terms.iter().fold(lin.constant, |acc, &(f, c)| acc + c * row[f as usize])
                }
                (true, false) => self.linear_output(leaf, |f| row[f]),
            }
        };
        if !plain || self.linear_stumps.is_empty() {
            return self.trees.iter().fold(0.0, |sum, tree| sum + tree_output(tree));
        }
        // The same leaf and the same `constant + c·x` from one flat record for the trees that
        // have one; which trees those are is the same for every row, so the branch predicts well.
        self.trees.iter().zip(&self.linear_stumps).fold(0.0, |sum, (tree, stump)| {
            sum + match stump {
                Some(s) => {
                    let right = (row[s.split as usize] > s.threshold) as usize;
                    s.constant[right] + s.coefficient[right] * row[s.term as usize]
                }
                None => tree_output(tree),
            }
        })
    }

    /// The leaves one row reaches in up to `TREES_AT_ONCE` trees, walked together until
    /// all stand on a leaf (a leaf leads to itself).
    #[inline(always)]
    fn walk<D: Decide>(&self, trees: &[TreeInfo], row: &[f64]) -> [u32; TREES_AT_ONCE] {
        // Missing trees (a short last chunk) stand on the first tree's root: a valid node.
        let mut at = [trees[0].root; TREES_AT_ONCE];
        for (at, tree) in at.iter_mut().zip(trees) {
            *at = tree.root;
        }
        loop {
            let mut done = true;
            for at in &mut at {
                let node = &self.nodes[*at as usize];
                let right = D::right(self, node, row[node.feature()]);
                done &= node.child_is_leaf(right);
                *at = node.left + right;
            }
            if done {
                return at;
            }
        }
    }

    /// All trees over one block of rows, in tree order, with the widest vector instructions
    /// this CPU has (chosen at run time; the results are the same bits either way, as no
    /// multiply and add is fused).
    fn predict_block(&self, rows: &[f64], out: &mut [f64], block: &mut Block) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.predict_block_avx2(rows, out, block) };
        }
        self.predict_block_portable(rows, out, block)
    }

    /// [`Self::predict_block_portable`] compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn predict_block_avx2(&self, rows: &[f64], out: &mut [f64], block: &mut Block) {
        self.predict_block_portable(rows, out, block)
    }

    #[inline(always)]
    fn predict_block_portable(&self, rows: &[f64], out: &mut [f64], block: &mut Block) {
        let n = out.len();
        let plain = block.load(rows, self.zero_missing);
        block.sums[..n].fill(0.0);
        for tree in &self.trees {
            match tree.depth {
                0 => self.add_single_leaf(tree, n, block),
                1 => self.add_stump(tree, n, plain, block),
                _ => self.add_tree(tree, n, block),
            }
        }
        for (&sum, &row) in block.sums[..n].iter().zip(&block.order) {
            out[row as usize] = self.finish(sum);
        }
    }

    /// A one-leaf tree: its value, or its linear model, for every row.
    #[inline(always)]
    fn add_single_leaf(&self, tree: &TreeInfo, n: usize, block: &mut Block) {
        let leaf = tree.root;
        let value = self.values[leaf as usize];
        if !tree.linear {
            block.sums[..n].iter_mut().for_each(|y| *y += value);
            return;
        }
        let [sum, _] = &mut block.side_sum;
        let [nan, _] = &mut block.side_nan;
        self.linear_rows(leaf, &block.cols, block.stride, 0..n, sum, nan);
        for ((y, &s), &bad) in block.sums[..n].iter_mut().zip(&sum[..n]).zip(&nan[..n]) {
            *y += if bad != 0 { value } else { s };
        }
    }

    /// A tree of one split, in straight-line passes over the block's columns: plain rows
    /// with the bare comparison, the others with the full decision.
    #[inline(always)]
    fn add_stump(&self, tree: &TreeInfo, n: usize, plain: usize, block: &mut Block) {
        let node = self.nodes[tree.root as usize];
        if node.feature & CATEGORICAL != 0 {
            let right = |x| self.categorical_right(&node, x);
            self.stump_rows::<true>(tree, &node, 0..plain, block, right);
            self.stump_rows::<false>(tree, &node, plain..n, block, right);
        } else {
            let threshold = node.threshold;
            let zero_missing = node.feature & ZERO_MISSING != 0;
            let nan_right = node.feature & NAN_RIGHT != 0;
            self.stump_rows::<true>(tree, &node, 0..plain, block, |x| x > threshold);
            self.stump_rows::<false>(tree, &node, plain..n, block, |x: f64| {
                let special = x.is_nan() | (zero_missing & (x.abs() <= K_ZERO));
                select_unpredictable(special, nan_right, x > threshold)
            });
        }
    }

    /// A stump over the positions `rows`, splitting by `goes_right`; `PLAIN` rows need no
    /// NaN or zero handling in linear leaves.
    #[inline(always)]
    fn stump_rows<const PLAIN: bool>(
        &self,
        tree: &TreeInfo,
        node: &Node,
        rows: std::ops::Range<usize>,
        block: &mut Block,
        goes_right: impl Fn(f64) -> bool,
    ) {
        let split = &block.cols[node.feature() * block.stride..][rows.clone()];
        let sums = &mut block.sums[rows.clone()];
        let (left, right) = (node.left, node.left + 1);
        let values = [self.values[left as usize], self.values[right as usize]];
        if !tree.linear {
            for (y, &x) in sums.iter_mut().zip(split) {
                *y += if goes_right(x) { values[1] } else { values[0] };
            }
            return;
        }
        let cols = &block.cols[..];
        let stride = block.stride;
        match tree.shared_terms {
            0 => self.linear_stump::<0, PLAIN>(left, cols, stride, rows, split, sums, goes_right),
            1 => self.linear_stump::<1, PLAIN>(left, cols, stride, rows, split, sums, goes_right),
            2 => self.linear_stump::<2, PLAIN>(left, cols, stride, rows, split, sums, goes_right),
            3 => self.linear_stump::<3, PLAIN>(left, cols, stride, rows, split, sums, goes_right),
            _ => {
                let [sum_left, sum_right] = &mut block.side_sum;
                let [nan_left, nan_right] = &mut block.side_nan;
                self.linear_rows(left, cols, stride, rows.clone(), sum_left, nan_left);
                self.linear_rows(right, cols, stride, rows.clone(), sum_right, nan_right);
                for (p, (y, &x)) in rows.zip(sums.iter_mut().zip(split)) {
                    *y += if !goes_right(x) {
                        if nan_left[p] != 0 {
                            values[0]
                        } else {
                            sum_left[p]
                        }
                    } else if nan_right[p] != 0 {
                        values[1]
                    } else {
                        sum_right[p]
                    };
                }
            }
        }
    }

    /// A linear stump whose two leaves use the same `K` features in the same order (as
    /// LightGBM's linear trees do: a leaf's features are the numerical splits above it), so
    /// that each row evaluates just its own leaf's model, with selects the compiler can
    /// vectorise.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn linear_stump<const K: usize, const PLAIN: bool>(
        &self,
        left: u32,
        cols: &[f64],
        stride: usize,
        rows: std::ops::Range<usize>,
        split: &[f64],
        sums: &mut [f64],
        goes_right: impl Fn(f64) -> bool,
    ) {
        let leaves = [self.linear[left as usize], self.linear[left as usize + 1]];
        let terms = leaves.map(|leaf| &self.lin_terms[leaf.start as usize..][..K]);
        let columns: [&[f64]; K] = std::array::from_fn(|k| &cols[terms[0][k].0 as usize * stride..][rows.clone()]);
        let coeffs: [[f64; 2]; K] = std::array::from_fn(|k| [terms[0][k].1, terms[1][k].1]);
        let constants = leaves.map(|leaf| leaf.constant);
        let fallbacks = [self.values[left as usize], self.values[left as usize + 1]];
        let pick = |right: bool, pair: [f64; 2]| if right { pair[1] } else { pair[0] };
        for (r, (y, &x)) in sums.iter_mut().zip(split).enumerate() {
            let right = goes_right(x);
            let mut sum = pick(right, constants);
            let mut nan = false;
            for (column, coeff) in columns.iter().zip(coeffs) {
                let x = column[r];
                if PLAIN {
                    sum += pick(right, coeff) * x;
                } else {
                    nan |= x.is_nan();
                    sum += pick(right, coeff) * zero_rounded(x);
                }
            }
            *y += if nan { pick(right, fallbacks) } else { sum };
        }
    }

    /// A linear leaf's `leaf_const + Σ coeff·x` for the positions `rows` into `sum`, and in
    /// `nan` whether one of its features is NaN (then LightGBM takes the leaf value).
    #[inline(always)]
    fn linear_rows(
        &self,
        leaf: u32,
        cols: &[f64],
        stride: usize,
        rows: std::ops::Range<usize>,
        sum: &mut [f64],
        nan: &mut [u64],
    ) {
        let lin = self.linear[leaf as usize];
        let (sum, nan) = (&mut sum[rows.clone()], &mut nan[rows.clone()]);
        sum.fill(lin.constant);
        nan.fill(0);
        for &(f, c) in &self.lin_terms[lin.start as usize..(lin.start + lin.len) as usize] {
            let col = &cols[f as usize * stride..][rows.clone()];
            for ((s, bad), &x) in sum.iter_mut().zip(nan.iter_mut()).zip(col) {
                *bad |= x.is_nan() as u64;
                *s += c * zero_rounded(x);
            }
        }
    }

    /// A deeper tree, level by level: each node splits its list of positions between its
    /// children, and positions that reach a leaf get its output.
    #[inline(always)]
    fn add_tree(&self, tree: &TreeInfo, n: usize, block: &mut Block) {
        let Block { stride, cols, sums, leaves, index, level, .. } = block;
        let [from, to] = index;
        let (mut from, mut to) = (from, to);
        for (p, slot) in from[..n].iter_mut().enumerate() {
            *slot = p as u16;
        }
        let [nodes, next_nodes] = level;
        let (mut nodes, mut next_nodes) = (nodes, next_nodes);
        nodes.clear();
        nodes.push((tree.root, 0, n as u16));
        while !nodes.is_empty() {
            next_nodes.clear();
            for &(at, start, end) in nodes.iter() {
                let node = &self.nodes[at as usize];
                let (start, end) = (start as usize, end as usize);
                let col = &cols[node.feature() * *stride..][..n];
                let (src, dst) = (&from[start..end], &mut to[start..end]);
                let threshold = node.threshold;
                // SAFETY: the lists hold positions 0..n, which start as exactly that and are
                // only ever moved between the lists, and `col` has n values.
                // One loop per kind of split, so that the common ones are a bare comparison.
                let n_left = unsafe {
                    if node.feature & (CATEGORICAL | ZERO_MISSING) != 0 {
                        partition(src, dst, col, |x| General::right(self, node, x) != 0)
                    } else if node.feature & NAN_RIGHT != 0 {
                        // One unordered comparison: NaN goes right.
                        partition(src, dst, col, |x| (x > threshold) | x.is_nan())
                    } else {
                        partition(src, dst, col, |x| x > threshold)
                    }
                };
                let middle = start + n_left;
                for (side, part) in [(0, start..middle), (1, middle..end)] {
                    let child = node.left + side;
                    if part.is_empty() {
                        continue;
                    }
                    if !node.child_is_leaf(side) {
                        next_nodes.push((child, part.start as u16, part.end as u16));
                    } else if tree.linear {
                        for &p in &to[part] {
                            leaves[p as usize] = child;
                        }
                    } else {
                        let value = self.values[child as usize];
                        for &p in &to[part] {
                            sums[p as usize] += value;
                        }
                    }
                }
            }
            std::mem::swap(&mut from, &mut to);
            std::mem::swap(&mut nodes, &mut next_nodes);
        }
        if tree.linear {
            for (p, (y, &leaf)) in sums[..n].iter_mut().zip(&leaves[..n]).enumerate() {
                *y += self.linear_output(leaf, |f| cols[f * *stride + p]);
            }
        }
    }

    /// A linear tree's output at the leaf `at`; `x(f)` is the row's feature `f`.
    #[inline(always)]
    fn linear_output(&self, at: u32, x: impl Fn(usize) -> f64) -> f64 {
        let leaf = self.linear[at as usize];
        let mut sum = leaf.constant;
        let mut nan = false;
        for &(f, c) in &self.lin_terms[leaf.start as usize..(leaf.start + leaf.len) as usize] {
            let x = x(f as usize);
            nan |= x.is_nan();
            sum += c * zero_rounded(x);
        }
        if nan {
            self.values[at as usize]
        } else {
            sum
        }
    }

    /// Categorical decision (`Tree::CategoricalDecision`): true to go right.
    #[inline]
    fn categorical_right(&self, node: &Node, x: f64) -> bool {
        if x.is_nan() {
            return true;
        }
        // C++ truncates toward zero like `as`; values beyond i32 become INT_MIN there and
        // saturate here, and go right either way (negative, or past the bitset).
        let category = x as i32;
        if category < 0 {
            return true;
        }
        let place = node.threshold.to_bits();
        let (start, len) = ((place >> 32) as usize, (place & 0xffff_ffff) as usize);
        let word = (category / 32) as usize;
        if word >= len {
            return true;
        }
        (self.cat_bits[start + word] >> (category % 32)) & 1 == 0
    }

    /// Averaging and output transform of a raw sum.
    #[inline]
    fn finish(&self, sum: f64) -> f64 {
        let sum = if self.average_output { sum / self.trees.len() as f64 } else { sum };
        self.transform.apply(sum)
    }
}

impl Predictor for CompiledModel {
    fn num_features(&self) -> usize {
        self.num_features
    }

    fn predict(&self, rows: &[f64], n_features: usize, out: &mut [f64]) -> Result<(), ModelError> {
        check_shape(self.num_features, rows.len(), n_features, out.len())?;
        CompiledModel::predict(self, rows, n_features, out);
        Ok(())
    }
}
