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
//! The model text is read by `reader`, laid out in the flat arrays by `builder`, and
//! evaluated by `evaluate`; this file holds the layout they share.

mod builder;
mod evaluate;
mod reader;

use super::error::ModelError;
use evaluate::Transform;

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

/// A numerical linear stump whose two leaves read the same one feature (what `linear_tree`
/// with two leaves trains): for a plain row, `constant[r] + coefficient[r] · x[term]` with
/// `r = x[split] > threshold`. Laid out flat, so a row reads one record per tree instead of
/// the tree's node, leaf and terms.
#[derive(Clone, Copy, Debug)]
struct LinearStump {
    split: u32,
    term: u32,
    threshold: f64,
    constant: [f64; 2],
    coefficient: [f64; 2],
}

/// A LightGBM model (single output) compiled for fast, exact batch and single-row prediction.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    num_features: usize,
    trees: Vec<TreeInfo>,
    /// Every tree has at most one split: a row's leaf comes straight from the root.
    shallow: bool,
    /// Per tree, the tree as a [`LinearStump`] if it is one; empty if no tree is, or if the
    /// model is not `shallow` (only the shallow single-row path reads them).
    linear_stumps: Vec<Option<LinearStump>>,
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

impl CompiledModel {
    /// Parses LightGBM's model text (as written by `SaveModelToString`) and compiles it.
    pub fn from_text(text: &str) -> Result<Self, ModelError> {
        reader::model(text)
    }

    /// Number of features a row must have.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// Number of trees.
    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }

    /// How many trees a single row evaluates from a flat linear-stump record.
    #[doc(hidden)]
    pub fn flat_stumps(&self) -> usize {
        self.linear_stumps.iter().flatten().count()
    }
}
