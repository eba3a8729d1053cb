//! Reading the model text (`GBDT::SaveModelToString` / `Tree::ToString`).

use super::builder::{Builder, FieldLines, ParsedLinear, ParsedTree};
use super::evaluate::Transform;
use super::{CompiledModel, FEATURE_MASK};
use crate::model::error::ModelError;
use std::collections::HashMap;

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
        self.get(key).ok_or_else(|| ModelError::parse(self.line, format!("tree {} has no `{key}` line", self.index)))
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
            ModelError::parse(field.line, format!("tree {}: `{key}` is `{}`, not an integer", self.index, field.value))
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
                ModelError::parse(field.line, format!("tree {tree}: `{key}` has `{s}`, which is not a valid number"))
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
    let per_iteration =
        if header.contains_key("num_tree_per_iteration") { header_int("num_tree_per_iteration")? } else { num_class };
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
            return Err(ModelError::parse(line, format!("expected `Tree=N` or `end of trees`, found `{}`", clip(l))));
        };
        let index = builder.num_trees();
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
        builder.tree(&parsed_tree(&tree)?)?;
    }
    if !ended {
        return Err(ModelError::parse(last_line, "no `end of trees` line: the model text is cut short"));
    }
    if let Some(expected) = expected_trees {
        if expected != builder.num_trees() {
            return Err(ModelError::parse(
                header["tree_sizes"].line,
                format!("`tree_sizes` lists {expected} trees, the text has {}", builder.num_trees()),
            ));
        }
    }
    if builder.num_trees() == 0 {
        return Err(ModelError::parse(last_line, "the model has no trees"));
    }
    Ok(builder.finish(average_output, transform))
}

/// Reads one tree's arrays (`Tree::Tree(const char*, size_t*)`), each with the length the
/// tree's counts call for.
fn parsed_tree(t: &TreeText) -> Result<ParsedTree, ModelError> {
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
    let (cat_boundaries, cat_threshold) = if num_cat > 0 { cat_bitsets(t, num_cat)? } else { (Vec::new(), Vec::new()) };
    let linear = if is_linear { Some(linear_leaves(t, num_leaves)?) } else { None };
    let line = |key: &str| t.get(key).map_or(t.line, |f| f.line);
    Ok(ParsedTree {
        index: idx,
        num_leaves,
        num_cat,
        leaf_value,
        split_feature,
        threshold,
        decision_type,
        left_child,
        right_child,
        cat_boundaries,
        cat_threshold,
        linear,
        lines: FieldLines {
            split_feature: line("split_feature"),
            threshold: line("threshold"),
            left_child: line("left_child"),
            right_child: line("right_child"),
            leaf_features: line("leaf_features"),
        },
    })
}

/// Categorical bitsets: `cat_threshold[cat_boundaries[i]..cat_boundaries[i + 1]]`.
fn cat_bitsets(t: &TreeText, num_cat: usize) -> Result<(Vec<usize>, Vec<u32>), ModelError> {
    let boundaries: Vec<usize> = t.list("cat_boundaries", num_cat + 1)?;
    let bits: Vec<u32> = t.list("cat_threshold", *boundaries.last().unwrap_or(&0))?;
    let line = t.require("cat_boundaries")?.line;
    if boundaries[0] != 0 || boundaries.windows(2).any(|w| w[0] > w[1]) {
        return Err(ModelError::parse(line, format!("tree {}: `cat_boundaries` is not increasing from 0", t.index)));
    }
    Ok((boundaries, bits))
}

/// Linear leaves: per leaf a constant, a count, then that many features and coefficients.
fn linear_leaves(t: &TreeText, num_leaves: usize) -> Result<ParsedLinear, ModelError> {
    let constants: Vec<f64> = t.list_or_default("leaf_const", num_leaves)?;
    let counts: Vec<usize> = match t.get("num_features") {
        Some(f) => numbers("num_features", t.index, f, Some(num_leaves))?,
        None => vec![0; num_leaves],
    };
    let total = counts.iter().try_fold(0usize, |a, &c| a.checked_add(c)).ok_or_else(|| {
        ModelError::parse(
            t.require("num_features").map_or(t.line, |f| f.line),
            format!("tree {}: `num_features` overflows", t.index),
        )
    })?;
    let features: Vec<i64> = t.list("leaf_features", total)?;
    let coeffs: Vec<f64> = t.list("leaf_coeff", total)?;
    Ok(ParsedLinear { constants, counts, features, coeffs })
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
            let sigmoid = legacy_atof(value)
                .filter(|&s| s > 0.0)
                .ok_or_else(|| ModelError::parse(field.line, format!("`sigmoid:{value}` is not a positive number")))?;
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
