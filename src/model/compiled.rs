//! A LightGBM model compiled into flat arrays and evaluated without LightGBM, with results
//! equal to LightGBM's own predictions.
//!
//! Exactness rests on doing what LightGBM's predictor does, in the same order:
//! - its dense-row reader drops values with `|x| <= kZeroThreshold` (they read as 0.0);
//! - `Tree::NumericalDecision`: NaN reads as 0.0 unless the node's missing type is NaN, then
//!   NaN (missing type NaN) or a zero (missing type Zero) take the default direction, and
//!   otherwise `x <= threshold` goes left;
//! - `Tree::CategoricalDecision`: NaN and negative values go right, otherwise the truncated
//!   value is looked up in the node's bitset;
//! - linear leaves: `leaf_const + Σ coeff·x` in feature order, or the plain leaf value if any
//!   of the leaf's features is NaN;
//! - tree outputs are summed in tree order in `f64` starting from 0.0, divided by the number
//!   of trees for `average_output`, then passed through the objective's output transform.
//!
//! Layout: every tree's nodes live in one array, breadth first; the two children of a node
//! are adjacent (right = left + 1), and a node knows which of its children are leaves.
//!
//! Batch evaluation goes tree by tree over blocks of rows copied column-major, so that a
//! tree's nodes are loaded once per block and each row still adds its trees up in order:
//! - a tree of one split (the usual linear-tree model) is one straight-line, vectorisable
//!   pass over the block's columns;
//! - a deeper tree is evaluated level by level: each node splits its list of rows between
//!   its children without branching on the data, so every row takes exactly the steps of
//!   its own path, and the branch predictor only sees one loop per node.

use super::error::{check_shape, ModelError};
use super::predictor::Predictor;
use std::collections::{HashMap, VecDeque};
use std::hint::select_unpredictable;

/// LightGBM's `kZeroThreshold`: declared as `1e-35f`, a float widened to double.
const K_ZERO: f64 = 1e-35f32 as f64;

/// Node flag: NaN (and, with `ZERO_MISSING`, zero) goes right.
const NAN_RIGHT: u32 = 1 << 31;
/// Node flag: missing type Zero, values with `|x| <= kZeroThreshold` take the NaN direction.
const ZERO_MISSING: u32 = 1 << 30;
/// Node flag: categorical split; the threshold's bits hold the bitset's place.
const CATEGORICAL: u32 = 1 << 29;
/// Node flag: the left child is a leaf; `LEFT_LEAF_BIT - 1` is the same for the right child.
const LEFT_LEAF_BIT: u32 = 28;
/// Flags of a leaf node: it leads to itself, which is a leaf.
const LEAF_FLAGS: u32 = 1 << LEFT_LEAF_BIT | 1 << (LEFT_LEAF_BIT - 1);
/// Bits of `Node::feature` that hold the feature index.
const FEATURE_MASK: u32 = (1 << (LEFT_LEAF_BIT - 1)) - 1;

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

/// One node of one tree, 16 bytes.
#[derive(Clone, Copy, Debug)]
struct Node {
    /// Numerical: split threshold, adjusted so that comparing the raw value gives the same
    /// side as comparing LightGBM's zero-rounded value. Categorical: `start << 32 | len` of
    /// the bitset in `cat_bits`. Leaf: +inf, so that every value goes left (to itself).
    threshold: f64,
    /// Feature index and flags.
    feature: u32,
    /// Global index of the left child; the right child follows it. A leaf points at itself.
    left: u32,
}

impl Node {
    #[inline(always)]
    fn feature(&self) -> usize {
        (self.feature & FEATURE_MASK) as usize
    }

    /// Whether the child on `side` (0 left, 1 right) is a leaf.
    #[inline(always)]
    fn child_is_leaf(&self, side: u32) -> bool {
        (self.feature >> (LEFT_LEAF_BIT - side)) & 1 != 0
    }
}

/// Constant and coefficients of one linear leaf.
#[derive(Clone, Copy, Debug, Default)]
struct LinearLeaf {
    constant: f64,
    /// Place of the leaf's terms in `lin_terms`.
    start: u32,
    len: u32,
}

/// Where a tree lives in the flat arrays and how it is evaluated.
#[derive(Clone, Copy, Debug)]
struct TreeInfo {
    root: u32,
    /// Longest root-to-leaf path.
    depth: u32,
    /// Has categorical or missing-type-Zero nodes, which need the general decision.
    general: bool,
    linear: bool,
    /// For a linear stump whose two leaves use the same features in the same order: how
    /// many (at most 3); else `u8::MAX`.
    shared_terms: u8,
}

/// What LightGBM's objective does to the raw score (`ObjectiveFunction::ConvertOutput`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Transform {
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

/// A LightGBM model (single output) compiled for fast, exact batch and single-row prediction.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    num_features: usize,
    trees: Vec<TreeInfo>,
    nodes: Vec<Node>,
    /// Some split has missing type Zero, so values that read as zero need the full decision.
    zero_missing: bool,
    /// Per node: the leaf value (for linear leaves, the value used when a feature is NaN).
    values: Vec<f64>,
    /// Per node when any tree is linear, else empty.
    linear: Vec<LinearLeaf>,
    /// (feature, coefficient) of the linear leaves.
    lin_terms: Vec<(u32, f64)>,
    cat_bits: Vec<u32>,
    /// Divide the sum by the number of trees (random forest).
    average_output: bool,
    transform: Transform,
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
    /// Parses LightGBM's model text (as written by `SaveModelToString`) and compiles it.
    pub fn from_text(text: &str) -> Result<Self, ModelError> {
        parse::model(text)
    }

    /// Number of features a row must have.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// Number of trees.
    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }

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
        let mut block = Block::new(n_features, out.len().min(BLOCK_ROWS));
        for (rows, out) in rows.chunks(BLOCK_ROWS * n_features).zip(out.chunks_mut(BLOCK_ROWS)) {
            self.predict_block(rows, out, &mut block);
        }
    }

    /// Predicts one row.
    ///
    /// # Panics
    /// If `row.len()` is not [`Self::num_features`].
    pub fn predict_one(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.num_features, "CompiledModel::predict_one: row length");
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

    /// All trees over one block of rows, in tree order.
    fn predict_block(&self, rows: &[f64], out: &mut [f64], block: &mut Block) {
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

/// Reading the model text (`GBDT::SaveModelToString` / `Tree::ToString`).
mod parse {
    use super::*;

    /// A `key=value` line of the header or of a tree, with its 1-based line number.
    struct Field<'a> {
        line: usize,
        value: &'a str,
    }

    /// One tree's fields, as read from its block.
    struct TreeText<'a> {
        index: usize,
        /// Line of `Tree=`.
        line: usize,
        fields: HashMap<&'a str, Field<'a>>,
    }

    impl<'a> TreeText<'a> {
        fn get(&self, key: &str) -> Option<&Field<'a>> {
            self.fields.get(key)
        }

        fn require(&self, key: &str) -> Result<&Field<'a>, ModelError> {
            self.get(key)
                .ok_or_else(|| ModelError::parse(self.line, format!("tree {} has no `{key}` line", self.index)))
        }

        /// Exactly `n` whitespace-separated numbers; a missing line is an error unless `n` is 0.
        fn list<T: std::str::FromStr>(&self, key: &str, n: usize) -> Result<Vec<T>, ModelError> {
            match self.get(key) {
                Some(field) => numbers(key, self.index, field, Some(n)),
                None if n == 0 => Ok(Vec::new()),
                None => Err(ModelError::parse(self.line, format!("tree {} has no `{key}` line", self.index))),
            }
        }

        /// Like `list`, but a missing line reads as `n` defaults (as LightGBM does).
        fn list_or_default<T: std::str::FromStr + Default + Clone>(
            &self,
            key: &str,
            n: usize,
        ) -> Result<Vec<T>, ModelError> {
            match self.get(key) {
                Some(field) => numbers(key, self.index, field, Some(n)),
                None => Ok(vec![T::default(); n]),
            }
        }

        fn int(&self, key: &str) -> Result<i64, ModelError> {
            let field = self.require(key)?;
            field.value.trim().parse().map_err(|_| {
                ModelError::parse(
                    field.line,
                    format!("tree {}: `{key}` is `{}`, not an integer", self.index, field.value),
                )
            })
        }
    }

    /// Whitespace-separated numbers of one line; `n` is the expected count.
    fn numbers<T: std::str::FromStr>(
        key: &str,
        tree: usize,
        field: &Field,
        n: Option<usize>,
    ) -> Result<Vec<T>, ModelError> {
        let values = field
            .value
            .split_ascii_whitespace()
            .map(|s| {
                s.parse::<T>().map_err(|_| {
                    ModelError::parse(
                        field.line,
                        format!("tree {tree}: `{key}` has `{s}`, which is not a valid number"),
                    )
                })
            })
            .collect::<Result<Vec<T>, _>>()?;
        match n {
            Some(n) if values.len() != n => Err(ModelError::parse(
                field.line,
                format!("tree {tree}: `{key}` has {} values, expected {n}", values.len()),
            )),
            _ => Ok(values),
        }
    }

    pub(super) fn model(text: &str) -> Result<CompiledModel, ModelError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();

        // Header: `key=value` lines (and bare flags such as `average_output`) up to the
        // first tree.
        let mut header: HashMap<&str, Field> = HashMap::new();
        while let Some(&(line, l)) = lines.peek() {
            if l.starts_with("Tree=") || l == "end of trees" {
                break;
            }
            lines.next();
            if l.trim().is_empty() {
                continue;
            }
            let (key, value) = l.split_once('=').unwrap_or((l, ""));
            header.insert(key, Field { line, value });
        }
        let last_line = text.lines().count().max(1);
        let header_int = |key: &str| -> Result<i64, ModelError> {
            let field = header.get(key).ok_or_else(|| {
                ModelError::parse(1, format!("no `{key}` line before the trees; is this a LightGBM model?"))
            })?;
            field
                .value
                .trim()
                .parse()
                .map_err(|_| ModelError::parse(field.line, format!("`{key}` is `{}`, not an integer", field.value)))
        };
        let num_class = header_int("num_class")?;
        let per_iteration = if header.contains_key("num_tree_per_iteration") {
            header_int("num_tree_per_iteration")?
        } else {
            num_class
        };
        if num_class != 1 || per_iteration != 1 {
            return Err(ModelError::Unsupported(format!(
                "{num_class} classes and {per_iteration} trees per iteration; only single-output models are compiled"
            )));
        }
        let max_feature_idx = header_int("max_feature_idx")?;
        let num_features = usize::try_from(max_feature_idx + 1)
            .ok()
            .filter(|&n| n >= 1 && n <= FEATURE_MASK as usize + 1)
            .ok_or_else(|| ModelError::parse(header["max_feature_idx"].line, "`max_feature_idx` out of range"))?;
        let transform = match header.get("objective") {
            Some(field) => objective(field)?,
            // No objective line: a custom objective, whose output is the raw score.
            None => Transform::Identity,
        };
        let average_output = header.contains_key("average_output");
        let expected_trees = match header.get("tree_sizes") {
            Some(field) => Some(numbers::<usize>("tree_sizes", 0, field, None)?.len()),
            None => None,
        };

        // Trees: `Tree=N`, then `key=value` lines up to a blank line.
        let mut builder = Builder::new(num_features);
        let mut ended = false;
        while let Some((line, l)) = lines.next() {
            if l.trim().is_empty() {
                continue;
            }
            if l == "end of trees" {
                ended = true;
                break;
            }
            let Some(number) = l.strip_prefix("Tree=") else {
                return Err(ModelError::parse(
                    line,
                    format!("expected `Tree=N` or `end of trees`, found `{}`", clip(l)),
                ));
            };
            let index = builder.trees.len();
            if number.trim().parse::<usize>().ok() != Some(index) {
                return Err(ModelError::parse(line, format!("expected `Tree={index}`, found `{}`", clip(l))));
            }
            let mut tree = TreeText { index, line, fields: HashMap::new() };
            while let Some(&(line, l)) = lines.peek() {
                if l.trim().is_empty() || l.starts_with("Tree=") || l == "end of trees" {
                    break;
                }
                lines.next();
                let Some((key, value)) = l.split_once('=') else {
                    return Err(ModelError::parse(
                        line,
                        format!("tree {index}: expected `key=value`, found `{}`", clip(l)),
                    ));
                };
                if tree.fields.insert(key, Field { line, value }).is_some() {
                    return Err(ModelError::parse(line, format!("tree {index}: `{key}` given twice")));
                }
            }
            builder.tree(&tree)?;
        }
        if !ended {
            return Err(ModelError::parse(last_line, "no `end of trees` line: the model text is cut short"));
        }
        if let Some(expected) = expected_trees {
            if expected != builder.trees.len() {
                return Err(ModelError::parse(
                    header["tree_sizes"].line,
                    format!("`tree_sizes` lists {expected} trees, the text has {}", builder.trees.len()),
                ));
            }
        }
        if builder.trees.is_empty() {
            return Err(ModelError::parse(last_line, "the model has no trees"));
        }
        Ok(builder.finish(average_output, transform))
    }

    /// The first 80 characters of a line, for messages.
    fn clip(l: &str) -> &str {
        match l.char_indices().nth(80) {
            Some((i, _)) => &l[..i],
            None => l,
        }
    }

    /// The output transform of the `objective=` line (`ObjectiveFunction::CreateObjectiveFunction`).
    fn objective(field: &Field) -> Result<Transform, ModelError> {
        let mut words = field.value.split(' ').filter(|w| !w.is_empty());
        let name = words.next().ok_or_else(|| ModelError::parse(field.line, "empty `objective`"))?;
        let words: Vec<&str> = words.collect();
        let sqrt = words.contains(&"sqrt");
        Ok(match name {
            // These keep the `sqrt` option of L2 regression.
            "regression" | "regression_l1" | "quantile" | "fair" | "mape" => {
                if sqrt {
                    Transform::SignSquare
                } else {
                    Transform::Identity
                }
            }
            // Huber turns `sqrt` off; ranking objectives output raw scores.
            "huber" | "lambdarank" | "rank_xendcg" | "custom" => Transform::Identity,
            "poisson" | "gamma" | "tweedie" => Transform::Exp,
            "binary" => {
                let value = words
                    .iter()
                    .find_map(|w| w.strip_prefix("sigmoid:"))
                    .ok_or_else(|| ModelError::parse(field.line, "`objective=binary` without `sigmoid:`"))?;
                let sigmoid = legacy_atof(value).filter(|&s| s > 0.0).ok_or_else(|| {
                    ModelError::parse(field.line, format!("`sigmoid:{value}` is not a positive number"))
                })?;
                Transform::Sigmoid(sigmoid)
            }
            "cross_entropy" => Transform::Logistic,
            "cross_entropy_lambda" => Transform::Log1pExp,
            other => {
                return Err(ModelError::Unsupported(format!(
                    "objective `{other}`: its output transform is not implemented"
                )))
            }
        })
    }

    /// LightGBM's `Common::Atof`, which reads the binary objective's `sigmoid`; it is not
    /// correctly rounded, so it is reproduced step by step to get the same double.
    fn legacy_atof(s: &str) -> Option<f64> {
        fn pow(base: f64, power: i32) -> f64 {
            if power < 0 {
                1.0 / pow(base, -power)
            } else if power == 0 {
                1.0
            } else if power % 2 == 0 {
                pow(base * base, power / 2)
            } else if power % 3 == 0 {
                pow(base * base * base, power / 3)
            } else {
                base * pow(base, power - 1)
            }
        }
        let b = s.trim_start_matches(' ').as_bytes();
        let mut p = 0;
        let mut sign = 1.0;
        if b.first() == Some(&b'-') {
            sign = -1.0;
            p += 1;
        } else if b.first() == Some(&b'+') {
            p += 1;
        }
        let digit = |p: usize| b.get(p).filter(|c| c.is_ascii_digit()).map(|c| f64::from(c - b'0'));
        let mut value = 0.0;
        let start = p;
        while let Some(d) = digit(p) {
            value = value * 10.0 + d;
            p += 1;
        }
        if b.get(p) == Some(&b'.') {
            p += 1;
            let (mut right, mut nn) = (0.0, 0);
            while let Some(d) = digit(p) {
                right = d + right * 10.0;
                nn += 1;
                p += 1;
            }
            value += right / pow(10.0, nn);
        }
        let mut scale = 1.0;
        let mut negative_exponent = false;
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            if b.get(p) == Some(&b'-') {
                negative_exponent = true;
                p += 1;
            } else if b.get(p) == Some(&b'+') {
                p += 1;
            }
            let mut exponent: u32 = 0;
            while let Some(c) = b.get(p).filter(|c| c.is_ascii_digit()) {
                exponent = exponent.saturating_mul(10).saturating_add(u32::from(c - b'0'));
                p += 1;
            }
            let mut exponent = exponent.min(308);
            while exponent >= 50 {
                scale *= 1e50;
                exponent -= 50;
            }
            while exponent >= 8 {
                scale *= 1e8;
                exponent -= 8;
            }
            while exponent > 0 {
                scale *= 10.0;
                exponent -= 1;
            }
        }
        if p == start || b[p..].iter().any(|&c| c != b' ') {
            return None;
        }
        Some(sign * if negative_exponent { value / scale } else { value * scale })
    }

    /// Collects trees into the flat arrays.
    struct Builder {
        num_features: usize,
        trees: Vec<TreeInfo>,
        nodes: Vec<Node>,
        values: Vec<f64>,
        /// Per node, filled only if a tree is linear.
        linear: Vec<LinearLeaf>,
        any_linear: bool,
        lin_terms: Vec<(u32, f64)>,
        cat_bits: Vec<u32>,
    }

    /// A child reference in LightGBM's numbering: internal node `i`, or leaf `~c`.
    #[derive(Clone, Copy)]
    enum Ref {
        Internal(usize),
        Leaf(usize),
    }

    impl Builder {
        fn new(num_features: usize) -> Self {
            Builder {
                num_features,
                trees: Vec::new(),
                nodes: Vec::new(),
                values: Vec::new(),
                linear: Vec::new(),
                any_linear: false,
                lin_terms: Vec::new(),
                cat_bits: Vec::new(),
            }
        }

        fn finish(mut self, average_output: bool, transform: Transform) -> CompiledModel {
            if !self.any_linear {
                self.linear = Vec::new();
            }
            CompiledModel {
                num_features: self.num_features,
                trees: self.trees,
                zero_missing: self.nodes.iter().any(|node| node.feature & ZERO_MISSING != 0),
                nodes: self.nodes,
                values: self.values,
                linear: self.linear,
                lin_terms: self.lin_terms,
                cat_bits: self.cat_bits,
                average_output,
                transform,
            }
        }

        /// Reads one tree (`Tree::Tree(const char*, size_t*)`) and appends it.
        fn tree(&mut self, t: &TreeText) -> Result<(), ModelError> {
            let idx = t.index;
            let num_leaves = t.int("num_leaves")?;
            let num_leaves = usize::try_from(num_leaves).ok().filter(|&n| n >= 1).ok_or_else(|| {
                ModelError::parse(
                    t.require("num_leaves").map_or(t.line, |f| f.line),
                    format!("tree {idx}: `num_leaves` is {num_leaves}"),
                )
            })?;
            let num_cat = usize::try_from(t.int("num_cat")?)
                .map_err(|_| ModelError::parse(t.line, format!("tree {idx}: negative `num_cat`")))?;
            // `shrinkage=` is only a record: `Tree::Shrinkage` already multiplied the leaf
            // values (and linear constants and coefficients) by it, and prediction reads them
            // as stored.
            let leaf_value: Vec<f64> = t.list("leaf_value", num_leaves)?;
            let is_linear = match t.get("is_linear") {
                Some(f) => match f.value.trim() {
                    "0" => false,
                    "1" => true,
                    other => return Err(ModelError::parse(f.line, format!("tree {idx}: `is_linear` is `{other}`"))),
                },
                None => false,
            };
            let n_internal = num_leaves - 1;
            let split_feature: Vec<i64> = t.list("split_feature", n_internal)?;
            let threshold: Vec<f64> = t.list("threshold", n_internal)?;
            let decision_type: Vec<i8> = t.list_or_default("decision_type", n_internal)?;
            let left_child: Vec<i64> = t.list("left_child", n_internal)?;
            let right_child: Vec<i64> = t.list("right_child", n_internal)?;

            // Categorical bitsets: cat_threshold[cat_boundaries[i]..cat_boundaries[i + 1]].
            let mut cat_ranges = Vec::new();
            if num_cat > 0 {
                let boundaries: Vec<usize> = t.list("cat_boundaries", num_cat + 1)?;
                let bits: Vec<u32> = t.list("cat_threshold", *boundaries.last().unwrap_or(&0))?;
                let line = t.require("cat_boundaries")?.line;
                if boundaries[0] != 0 || boundaries.windows(2).any(|w| w[0] > w[1]) {
                    return Err(ModelError::parse(
                        line,
                        format!("tree {idx}: `cat_boundaries` is not increasing from 0"),
                    ));
                }
                let offset = self.cat_bits.len();
                self.cat_bits.extend_from_slice(&bits);
                // Keeps the packed `start << 32 | len` below 2^63 with a small exponent, so it
                // is never read back as NaN or infinity.
                if self.cat_bits.len() > i32::MAX as usize {
                    return Err(ModelError::Unsupported("categorical bitsets too large".into()));
                }
                for w in boundaries.windows(2) {
                    cat_ranges.push((((offset + w[0]) as u64) << 32) | (w[1] - w[0]) as u64);
                }
            }

            // Linear leaves: per leaf a constant, a count, then that many features and coefficients.
            let mut leaf_linear = Vec::new();
            if is_linear {
                let constants: Vec<f64> = t.list_or_default("leaf_const", num_leaves)?;
                let counts: Vec<usize> = match t.get("num_features") {
                    Some(f) => numbers("num_features", idx, f, Some(num_leaves))?,
                    None => vec![0; num_leaves],
                };
                let total = counts.iter().try_fold(0usize, |a, &c| a.checked_add(c)).ok_or_else(|| {
                    ModelError::parse(
                        t.require("num_features").map_or(t.line, |f| f.line),
                        format!("tree {idx}: `num_features` overflows"),
                    )
                })?;
                let features: Vec<i64> = t.list("leaf_features", total)?;
                let coeffs: Vec<f64> = t.list("leaf_coeff", total)?;
                if let Some(&f) = features.iter().find(|&&f| f < 0 || f as usize >= self.num_features) {
                    let line = t.require("leaf_features")?.line;
                    return Err(ModelError::parse(line, format!("tree {idx}: linear feature {f} out of range")));
                }
                let mut start = self.lin_terms.len();
                self.lin_terms.extend(features.iter().zip(&coeffs).map(|(&f, &c)| (f as u32, c)));
                for (&constant, &count) in constants.iter().zip(&counts) {
                    leaf_linear.push(LinearLeaf { constant, start: start as u32, len: count as u32 });
                    start += count;
                }
                if self.lin_terms.len() > u32::MAX as usize {
                    return Err(ModelError::Unsupported("too many linear-leaf coefficients".into()));
                }
                if !self.any_linear {
                    self.any_linear = true;
                    self.linear = vec![LinearLeaf::default(); self.nodes.len()];
                }
            }

            let child = |c: i64, line_key: &str| -> Result<Ref, ModelError> {
                let bad = || {
                    let line = t.require(line_key).map_or(t.line, |f| f.line);
                    ModelError::parse(line, format!("tree {idx}: `{line_key}` has {c}, out of range"))
                };
                if c >= 0 {
                    let c = c as usize;
                    if c < n_internal {
                        Ok(Ref::Internal(c))
                    } else {
                        Err(bad())
                    }
                } else {
                    let leaf = !c as usize;
                    if leaf < num_leaves {
                        Ok(Ref::Leaf(leaf))
                    } else {
                        Err(bad())
                    }
                }
            };

            // Breadth first, so that siblings are adjacent; every LightGBM node must be
            // reached exactly once, which also rules out cycles.
            let root = self.nodes.len();
            let mut seen_internal = vec![false; n_internal];
            let mut seen_leaf = vec![false; num_leaves];
            let mut depth = 0u32;
            let mut general = false;
            self.push_slots(1)?;
            let mut queue = VecDeque::new();
            queue.push_back((if num_leaves > 1 { Ref::Internal(0) } else { Ref::Leaf(0) }, root, 0u32));
            while let Some((r, at, d)) = queue.pop_front() {
                match r {
                    Ref::Internal(i) => {
                        if std::mem::replace(&mut seen_internal[i], true) {
                            let line = t.require("left_child")?.line;
                            return Err(ModelError::parse(line, format!("tree {idx}: node {i} is reached twice")));
                        }
                        let feature = split_feature[i];
                        if feature < 0 || feature as usize >= self.num_features {
                            let line = t.require("split_feature")?.line;
                            return Err(ModelError::parse(
                                line,
                                format!("tree {idx}: split feature {feature} out of range"),
                            ));
                        }
                        let left = self.nodes.len();
                        self.push_slots(2)?;
                        let dt = decision_type[i];
                        // `Tree::GetLeaf` looks at the categorical bit only if the tree has categories.
                        let node = if num_cat > 0 && dt & 1 != 0 {
                            general = true;
                            let cat = threshold[i] as i64;
                            let place = usize::try_from(cat).ok().and_then(|c| cat_ranges.get(c)).ok_or_else(|| {
                                ModelError::parse(
                                    t.require("threshold").map_or(t.line, |f| f.line),
                                    format!(
                                        "tree {idx}: categorical split {i} names bitset {}, out of range",
                                        threshold[i]
                                    ),
                                )
                            })?;
                            Node {
                                threshold: f64::from_bits(*place),
                                feature: feature as u32 | CATEGORICAL,
                                left: left as u32,
                            }
                        } else {
                            let default_left = dt & 2 != 0;
                            let t = threshold[i];
                            let flags = match (dt >> 2) & 3 {
                                // Zero: NaN reads as 0, and zeros take the default side.
                                1 => {
                                    general = true;
                                    ZERO_MISSING | if default_left { 0 } else { NAN_RIGHT }
                                }
                                // NaN: NaN takes the default side.
                                2 => {
                                    if default_left {
                                        0
                                    } else {
                                        NAN_RIGHT
                                    }
                                }
                                // None: NaN reads as 0 and is compared like any value.
                                _ => {
                                    if 0.0 <= t {
                                        0
                                    } else {
                                        NAN_RIGHT
                                    }
                                }
                            };
                            Node {
                                threshold: zero_rounded_threshold(t),
                                feature: feature as u32 | flags,
                                left: left as u32,
                            }
                        };
                        let (l, r) = (child(left_child[i], "left_child")?, child(right_child[i], "right_child")?);
                        let leaf_flags = (matches!(l, Ref::Leaf(_)) as u32) << LEFT_LEAF_BIT
                            | (matches!(r, Ref::Leaf(_)) as u32) << (LEFT_LEAF_BIT - 1);
                        self.nodes[at] = Node { feature: node.feature | leaf_flags, ..node };
                        queue.push_back((l, left, d + 1));
                        queue.push_back((r, left + 1, d + 1));
                    }
                    Ref::Leaf(l) => {
                        if std::mem::replace(&mut seen_leaf[l], true) {
                            let line = t.require("left_child")?.line;
                            return Err(ModelError::parse(line, format!("tree {idx}: leaf {l} is reached twice")));
                        }
                        depth = depth.max(d);
                        self.nodes[at] = Node { threshold: f64::INFINITY, feature: LEAF_FLAGS, left: at as u32 };
                        self.values[at] = leaf_value[l];
                        if is_linear {
                            self.linear[at] = leaf_linear[l];
                        }
                    }
                }
            }
            if let Some(i) = seen_internal.iter().position(|s| !s) {
                let line = t.require("left_child")?.line;
                return Err(ModelError::parse(line, format!("tree {idx}: node {i} is not reachable from the root")));
            }
            let mut shared_terms = u8::MAX;
            if is_linear && depth == 1 {
                let left = self.nodes[root].left as usize;
                let [l, r] = [self.linear[left], self.linear[left + 1]];
                let features = |leaf: LinearLeaf| {
                    self.lin_terms[leaf.start as usize..(leaf.start + leaf.len) as usize].iter().map(|t| t.0)
                };
                if l.len == r.len && l.len <= 3 && features(l).eq(features(r)) {
                    shared_terms = l.len as u8;
                }
            }
            self.trees.push(TreeInfo { root: root as u32, depth, general, linear: is_linear, shared_terms });
            Ok(())
        }

        /// Appends `n` placeholder nodes.
        fn push_slots(&mut self, n: usize) -> Result<(), ModelError> {
            let len = self.nodes.len() + n;
            if len > u32::MAX as usize {
                return Err(ModelError::Unsupported("more than 2^32 nodes".into()));
            }
            self.nodes.resize(len, Node { threshold: f64::INFINITY, feature: 0, left: 0 });
            self.values.resize(len, 0.0);
            if self.any_linear {
                self.linear.resize(len, LinearLeaf::default());
            }
            Ok(())
        }
    }

    /// A threshold `t'` such that `x <= t'` for the raw value equals `r(x) <= t`, where `r`
    /// is LightGBM's reader rounding `|x| <= kZeroThreshold` to 0: it only differs when `t`
    /// lies in the rounded band.
    fn zero_rounded_threshold(t: f64) -> f64 {
        if (-K_ZERO..0.0).contains(&t) {
            // Rounded values (0) go right, values below the band go left.
            (-K_ZERO).next_down()
        } else if (0.0..K_ZERO).contains(&t) {
            // Rounded values go left, values above the band go right.
            K_ZERO
        } else {
            t
        }
    }
}
