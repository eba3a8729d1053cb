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
//! Layout: every tree's nodes live in one array; the two children of a node are adjacent
//! (right = left + 1), so a step is `next = left + go_right`. Leaves are nodes that lead to
//! themselves whatever the input, so a row can take a fixed number of steps (the tree's
//! depth) without a data-dependent exit branch, and several rows can walk a tree in
//! lockstep.

use super::error::{check_shape, ModelError};
use super::predictor::Predictor;
use std::collections::{HashMap, VecDeque};

/// LightGBM's `kZeroThreshold`: declared as `1e-35f`, a float widened to double.
const K_ZERO: f64 = 1e-35f32 as f64;

/// Node flag: NaN (and, with `ZERO_MISSING`, zero) goes right.
const NAN_RIGHT: u32 = 1 << 31;
/// Node flag: missing type Zero, values with `|x| <= kZeroThreshold` take the NaN direction.
const ZERO_MISSING: u32 = 1 << 30;
/// Node flag: categorical split; the threshold's bits hold the bitset's place.
const CATEGORICAL: u32 = 1 << 29;
/// Bits of `Node::feature` that hold the feature index.
const FEATURE_MASK: u32 = CATEGORICAL - 1;

/// Rows evaluated together per tree; their feature values stay in L1 while every tree is
/// applied to them.
const BLOCK_ROWS: usize = 256;
/// Rows that walk a tree in lockstep, so that their independent load chains overlap.
const LANES: usize = 8;

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
}

/// Constant and coefficients of one linear leaf.
#[derive(Clone, Copy, Debug, Default)]
struct LinearLeaf {
    constant: f64,
    /// Place of the leaf's features and coefficients in `lin_features` / `lin_coeffs`.
    start: u32,
    len: u32,
}

/// Where a tree lives in the flat arrays and how it is evaluated.
#[derive(Clone, Copy, Debug)]
struct TreeInfo {
    root: u32,
    /// Longest root-to-leaf path: steps that bring every row to its leaf.
    depth: u32,
    /// Has categorical or missing-type-Zero nodes, which need the general decision.
    general: bool,
    linear: bool,
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
    /// Per node: the leaf value (for linear leaves, the value used when a feature is NaN).
    values: Vec<f64>,
    /// Per node when any tree is linear, else empty.
    linear: Vec<LinearLeaf>,
    lin_features: Vec<u32>,
    lin_coeffs: Vec<f64>,
    cat_bits: Vec<u32>,
    /// Divide the sum by the number of trees (random forest).
    average_output: bool,
    transform: Transform,
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
        for (rows, out) in rows.chunks(BLOCK_ROWS * n_features).zip(out.chunks_mut(BLOCK_ROWS)) {
            self.predict_block(rows, n_features, out);
        }
    }

    /// Predicts one row.
    ///
    /// # Panics
    /// If `row.len()` is not [`Self::num_features`].
    pub fn predict_one(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.num_features, "CompiledModel::predict_one: row length");
        let mut sum = 0.0;
        for tree in &self.trees {
            let leaf = if tree.general { self.walk::<General>(tree, row) } else { self.walk::<Numerical>(tree, row) };
            sum += self.leaf_output(tree.linear, leaf, row);
        }
        self.finish(sum)
    }

    /// All trees over a block of rows, tree by tree so that each tree's nodes are loaded once
    /// per block; each row still sums its trees in order.
    fn predict_block(&self, rows: &[f64], nf: usize, out: &mut [f64]) {
        out.fill(0.0);
        for tree in &self.trees {
            match (tree.general, tree.linear) {
                (false, false) => self.tree_block::<Numerical, false>(tree, rows, nf, out),
                (false, true) => self.tree_block::<Numerical, true>(tree, rows, nf, out),
                (true, false) => self.tree_block::<General, false>(tree, rows, nf, out),
                (true, true) => self.tree_block::<General, true>(tree, rows, nf, out),
            }
        }
        for y in out.iter_mut() {
            *y = self.finish(*y);
        }
    }

    /// Adds one tree's output to every row of the block.
    #[inline(always)]
    fn tree_block<D: Decide, const LINEAR: bool>(&self, tree: &TreeInfo, rows: &[f64], nf: usize, out: &mut [f64]) {
        let mut lanes_rows = rows.chunks_exact(LANES * nf);
        let mut lanes_out = out.chunks_exact_mut(LANES);
        for (rows, out) in (&mut lanes_rows).zip(&mut lanes_out) {
            let mut at = [tree.root; LANES];
            for _ in 0..tree.depth {
                for (lane, at) in at.iter_mut().enumerate() {
                    let node = &self.nodes[*at as usize];
                    let x = rows[lane * nf + node.feature()];
                    *at = node.left + D::right(self, node, x);
                }
            }
            for (lane, (y, at)) in out.iter_mut().zip(at).enumerate() {
                *y += self.leaf_output(LINEAR, at, &rows[lane * nf..(lane + 1) * nf]);
            }
        }
        for (row, y) in lanes_rows.remainder().chunks_exact(nf).zip(lanes_out.into_remainder()) {
            let leaf = self.walk::<D>(tree, row);
            *y += self.leaf_output(LINEAR, leaf, row);
        }
    }

    /// The leaf one row reaches in one tree.
    #[inline(always)]
    fn walk<D: Decide>(&self, tree: &TreeInfo, row: &[f64]) -> u32 {
        let mut at = tree.root;
        for _ in 0..tree.depth {
            let node = &self.nodes[at as usize];
            at = node.left + D::right(self, node, row[node.feature()]);
        }
        at
    }

    /// A tree's output at the leaf `at` for `row`.
    #[inline(always)]
    fn leaf_output(&self, linear: bool, at: u32, row: &[f64]) -> f64 {
        if !linear {
            return self.values[at as usize];
        }
        let leaf = self.linear[at as usize];
        let range = leaf.start as usize..(leaf.start + leaf.len) as usize;
        let mut sum = leaf.constant;
        let mut nan = false;
        for (&f, &c) in self.lin_features[range.clone()].iter().zip(&self.lin_coeffs[range]) {
            let x = row[f as usize];
            nan |= x.is_nan();
            // LightGBM's dense-row reader drops |x| <= kZeroThreshold, so they count as 0.
            let x = if x.abs() <= K_ZERO { 0.0 } else { x };
            sum += c * x;
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
        lin_features: Vec<u32>,
        lin_coeffs: Vec<f64>,
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
                lin_features: Vec::new(),
                lin_coeffs: Vec::new(),
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
                nodes: self.nodes,
                values: self.values,
                linear: self.linear,
                lin_features: self.lin_features,
                lin_coeffs: self.lin_coeffs,
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
                let mut start = self.lin_features.len();
                self.lin_features.extend(features.iter().map(|&f| f as u32));
                self.lin_coeffs.extend_from_slice(&coeffs);
                for (&constant, &count) in constants.iter().zip(&counts) {
                    leaf_linear.push(LinearLeaf { constant, start: start as u32, len: count as u32 });
                    start += count;
                }
                if self.lin_features.len() > u32::MAX as usize {
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
                        self.nodes[at] = node;
                        queue.push_back((child(left_child[i], "left_child")?, left, d + 1));
                        queue.push_back((child(right_child[i], "right_child")?, left + 1, d + 1));
                    }
                    Ref::Leaf(l) => {
                        if std::mem::replace(&mut seen_leaf[l], true) {
                            let line = t.require("left_child")?.line;
                            return Err(ModelError::parse(line, format!("tree {idx}: leaf {l} is reached twice")));
                        }
                        depth = depth.max(d);
                        self.nodes[at] = Node { threshold: f64::INFINITY, feature: 0, left: at as u32 };
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
            self.trees.push(TreeInfo { root: root as u32, depth, general, linear: is_linear });
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
