//! Laying parsed trees out in the flat arrays the evaluator reads.

use super::evaluate::Transform;
use super::{CompiledModel, LinearLeaf, LinearStump, Node, TreeInfo};
use super::{CATEGORICAL, K_ZERO, LEAF_FLAGS, LEFT_LEAF_BIT, NAN_RIGHT, ZERO_MISSING};
use crate::model::error::ModelError;
use std::collections::VecDeque;

/// One tree's arrays as the reader found them, each as long as the tree's counts call for;
/// what they refer to (features, children, bitsets) is checked here.
pub(super) struct ParsedTree {
    pub(super) index: usize,
    /// At least 1.
    pub(super) num_leaves: usize,
    pub(super) num_cat: usize,
    pub(super) leaf_value: Vec<f64>,
    pub(super) split_feature: Vec<i64>,
    pub(super) threshold: Vec<f64>,
    pub(super) decision_type: Vec<i8>,
    pub(super) left_child: Vec<i64>,
    pub(super) right_child: Vec<i64>,
    /// Categorical bitsets: `cat_threshold[cat_boundaries[i]..cat_boundaries[i + 1]]`; the
    /// boundaries increase from 0. Both are empty if the tree has no categories.
    pub(super) cat_boundaries: Vec<usize>,
    pub(super) cat_threshold: Vec<u32>,
    pub(super) linear: Option<ParsedLinear>,
    pub(super) lines: FieldLines,
}

/// Linear leaves: per leaf a constant and a count, then that many features and coefficients.
pub(super) struct ParsedLinear {
    pub(super) constants: Vec<f64>,
    pub(super) counts: Vec<usize>,
    pub(super) features: Vec<i64>,
    pub(super) coeffs: Vec<f64>,
}

/// Lines of a tree's fields, for errors about what they hold.
pub(super) struct FieldLines {
    pub(super) split_feature: usize,
    pub(super) threshold: usize,
    pub(super) left_child: usize,
    pub(super) right_child: usize,
    pub(super) leaf_features: usize,
}

/// Collects trees into the flat arrays.
pub(super) struct Builder {
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
    pub(super) fn new(num_features: usize) -> Self {
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

    pub(super) fn num_trees(&self) -> usize {
        self.trees.len()
    }

    /// Per tree, the tree as a [`LinearStump`], or `None` if it is not one: deeper or a single
    /// leaf, categorical or with missing type Zero, not linear, or its leaves read other
    /// features. Empty if no tree is one, or if some tree is deeper than one split (then a
    /// single row walks the trees, and no record would be read).
    fn linear_stumps(&self) -> Vec<Option<LinearStump>> {
        if self.trees.iter().any(|t| t.depth > 1) {
            return Vec::new();
        }
        let stumps: Vec<Option<LinearStump>> = self
            .trees
            .iter()
            .map(|tree| {
                if tree.depth != 1 || tree.general || !tree.linear || tree.shared_terms != 1 {
                    return None;
                }
                let node = &self.nodes[tree.root as usize];
                let leaves = [node.left as usize, node.left as usize + 1].map(|leaf| self.linear[leaf]);
                let terms = leaves.map(|leaf| self.lin_terms[leaf.start as usize]);
                Some(LinearStump {
                    split: node.feature() as u32,
                    term: terms[0].0,
                    threshold: node.threshold,
                    constant: leaves.map(|leaf| leaf.constant),
                    coefficient: terms.map(|(_, c)| c),
                })
            })
            .collect();
        if stumps.iter().all(Option::is_none) {
            return Vec::new();
        }
        stumps
    }

    pub(super) fn finish(mut self, average_output: bool, transform: Transform) -> CompiledModel {
        if !self.any_linear {
            self.linear = Vec::new();
        }
        CompiledModel {
            num_features: self.num_features,
            shallow: self.trees.iter().all(|t| t.depth <= 1),
            linear_stumps: self.linear_stumps(),
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

    /// Appends one tree.
    pub(super) fn tree(&mut self, t: &ParsedTree) -> Result<(), ModelError> {
        let cat_ranges = self.add_cat_bitsets(t)?;
        let leaf_linear = match &t.linear {
            Some(linear) => self.add_linear_leaves(t, linear)?,
            None => Vec::new(),
        };
        let (root, depth, general) = self.lay_out(t, &cat_ranges, &leaf_linear)?;
        let is_linear = t.linear.is_some();
        let shared_terms = if is_linear && depth == 1 { self.shared_terms(root) } else { u8::MAX };
        self.trees.push(TreeInfo { root: root as u32, depth, general, linear: is_linear, shared_terms });
        Ok(())
    }

    /// Appends the tree's categorical bitsets to `cat_bits` and returns where each one is,
    /// packed as `start << 32 | len` (a categorical node's threshold bits).
    fn add_cat_bitsets(&mut self, t: &ParsedTree) -> Result<Vec<u64>, ModelError> {
        let offset = self.cat_bits.len();
        self.cat_bits.extend_from_slice(&t.cat_threshold);
        // Keeps the packed `start << 32 | len` below 2^63 with a small exponent, so it
        // is never read back as NaN or infinity.
        if self.cat_bits.len() > i32::MAX as usize {
            return Err(ModelError::Unsupported("categorical bitsets too large".into()));
        }
        Ok(t.cat_boundaries.windows(2).map(|w| (((offset + w[0]) as u64) << 32) | (w[1] - w[0]) as u64).collect())
    }

    /// Appends the tree's linear terms to `lin_terms` and returns each leaf's model.
    fn add_linear_leaves(&mut self, t: &ParsedTree, linear: &ParsedLinear) -> Result<Vec<LinearLeaf>, ModelError> {
        if let Some(&f) = linear.features.iter().find(|&&f| f < 0 || f as usize >= self.num_features) {
            return Err(ModelError::parse(
                t.lines.leaf_features,
                format!("tree {}: linear feature {f} out of range", t.index),
            ));
        }
        let mut start = self.lin_terms.len();
        self.lin_terms.extend(linear.features.iter().zip(&linear.coeffs).map(|(&f, &c)| (f as u32, c)));
        let mut leaves = Vec::new();
        for (&constant, &count) in linear.constants.iter().zip(&linear.counts) {
            leaves.push(LinearLeaf { constant, start: start as u32, len: count as u32 });
            start += count;
        }
        if self.lin_terms.len() > u32::MAX as usize {
            return Err(ModelError::Unsupported("too many linear-leaf coefficients".into()));
        }
        if !self.any_linear {
            self.any_linear = true;
            self.linear = vec![LinearLeaf::default(); self.nodes.len()];
        }
        Ok(leaves)
    }

    /// Appends the tree's nodes and returns its root, its depth, and whether a node needs
    /// the general decision.
    ///
    /// Breadth first, so that siblings are adjacent; every LightGBM node must be reached
    /// exactly once, which also rules out cycles.
    fn lay_out(
        &mut self,
        t: &ParsedTree,
        cat_ranges: &[u64],
        leaf_linear: &[LinearLeaf],
    ) -> Result<(usize, u32, bool), ModelError> {
        let idx = t.index;
        let root = self.nodes.len();
        let mut seen_internal = vec![false; t.num_leaves - 1];
        let mut seen_leaf = vec![false; t.num_leaves];
        let mut depth = 0u32;
        let mut general = false;
        self.push_slots(1)?;
        let mut queue = VecDeque::new();
        queue.push_back((if t.num_leaves > 1 { Ref::Internal(0) } else { Ref::Leaf(0) }, root, 0u32));
        while let Some((r, at, d)) = queue.pop_front() {
            match r {
                Ref::Internal(i) => {
                    if std::mem::replace(&mut seen_internal[i], true) {
                        return Err(ModelError::parse(
                            t.lines.left_child,
                            format!("tree {idx}: node {i} is reached twice"),
                        ));
                    }
                    let (node, [l, r]) = self.add_split(t, i, cat_ranges)?;
                    general |= node.feature & (CATEGORICAL | ZERO_MISSING) != 0;
                    self.nodes[at] = node;
                    queue.push_back((l, node.left as usize, d + 1));
                    queue.push_back((r, node.left as usize + 1, d + 1));
                }
                Ref::Leaf(l) => {
                    if std::mem::replace(&mut seen_leaf[l], true) {
                        return Err(ModelError::parse(
                            t.lines.left_child,
                            format!("tree {idx}: leaf {l} is reached twice"),
                        ));
                    }
                    depth = depth.max(d);
                    self.nodes[at] = Node { threshold: f64::INFINITY, feature: LEAF_FLAGS, left: at as u32 };
                    self.values[at] = t.leaf_value[l];
                    if t.linear.is_some() {
                        self.linear[at] = leaf_linear[l];
                    }
                }
            }
        }
        if let Some(i) = seen_internal.iter().position(|s| !s) {
            return Err(ModelError::parse(
                t.lines.left_child,
                format!("tree {idx}: node {i} is not reachable from the root"),
            ));
        }
        Ok((root, depth, general))
    }

    /// Appends the two child slots of LightGBM's split `i` and returns its node (with the
    /// flags saying which children are leaves) and its children.
    fn add_split(&mut self, t: &ParsedTree, i: usize, cat_ranges: &[u64]) -> Result<(Node, [Ref; 2]), ModelError> {
        let feature = t.split_feature[i];
        if feature < 0 || feature as usize >= self.num_features {
            return Err(ModelError::parse(
                t.lines.split_feature,
                format!("tree {}: split feature {feature} out of range", t.index),
            ));
        }
        let left = self.nodes.len() as u32;
        self.push_slots(2)?;
        let node = split_node(t, i, feature as u32, left, cat_ranges)?;
        let children = [
            child(t, t.left_child[i], "left_child", t.lines.left_child)?,
            child(t, t.right_child[i], "right_child", t.lines.right_child)?,
        ];
        let leaf_flags = (matches!(children[0], Ref::Leaf(_)) as u32) << LEFT_LEAF_BIT
            | (matches!(children[1], Ref::Leaf(_)) as u32) << (LEFT_LEAF_BIT - 1);
        Ok((Node { feature: node.feature | leaf_flags, ..node }, children))
    }

    /// For a linear stump rooted at `root`: how many features its two leaves share in the
    /// same order, if they use exactly the same ones (at most 3); else `u8::MAX`.
    fn shared_terms(&self, root: usize) -> u8 {
        let left = self.nodes[root].left as usize;
        let [l, r] = [self.linear[left], self.linear[left + 1]];
        let features = |leaf: LinearLeaf| {
            self.lin_terms[leaf.start as usize..(leaf.start + leaf.len) as usize].iter().map(|t| t.0)
        };
        if l.len == r.len && l.len <= 3 && features(l).eq(features(r)) {
            l.len as u8
        } else {
            u8::MAX
        }
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

/// The node of LightGBM's split `i` on `feature`, whose children start at `left`: its
/// decision (threshold and flags) from the split's decision type.
fn split_node(t: &ParsedTree, i: usize, feature: u32, left: u32, cat_ranges: &[u64]) -> Result<Node, ModelError> {
    let dt = t.decision_type[i];
    // `Tree::GetLeaf` looks at the categorical bit only if the tree has categories.
    if t.num_cat > 0 && dt & 1 != 0 {
        let cat = t.threshold[i] as i64;
        let place = usize::try_from(cat).ok().and_then(|c| cat_ranges.get(c)).ok_or_else(|| {
            ModelError::parse(
                t.lines.threshold,
                format!("tree {}: categorical split {i} names bitset {}, out of range", t.index, t.threshold[i]),
            )
        })?;
        return Ok(Node { threshold: f64::from_bits(*place), feature: feature | CATEGORICAL, left });
    }
    let default_left = dt & 2 != 0;
    let threshold = t.threshold[i];
    let flags = match (dt >> 2) & 3 {
        // Zero: NaN reads as 0, and zeros take the default side.
        1 => ZERO_MISSING | if default_left { 0 } else { NAN_RIGHT },
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
            if 0.0 <= threshold {
                0
            } else {
                NAN_RIGHT
            }
        }
    };
    Ok(Node { threshold: zero_rounded_threshold(threshold), feature: feature | flags, left })
}

/// LightGBM's child reference `c` of a split, read from the field `key` on `line`: internal
/// node `c`, or leaf `~c` if negative.
fn child(t: &ParsedTree, c: i64, key: &str, line: usize) -> Result<Ref, ModelError> {
    let n_internal = t.num_leaves - 1;
    let bad = || ModelError::parse(line, format!("tree {}: `{key}` has {c}, out of range", t.index));
    if c >= 0 {
        let c = c as usize;
        if c < n_internal {
            Ok(Ref::Internal(c))
        } else {
            Err(bad())
        }
    } else {
        let leaf = !c as usize;
        if leaf < t.num_leaves {
            Ok(Ref::Leaf(leaf))
        } else {
            Err(bad())
        }
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
