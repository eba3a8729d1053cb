//! `FeatureSet` → closures. Each feature is compiled once; evaluating an event calls
//! the closures, with no walk over the expression tree.

use super::fixed_width::FixedWidth;
use super::CategoryMaps;
use crate::data::Value;
use crate::program::{BinOp, FeatureExpr, FeatureSet, FeatureType, Func};
use regex_automata::meta::{Cache, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::Input;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use thread_local::ThreadLocal;

/// A value while a feature is computed.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    Missing,
    Num(f64),
    Bool(bool),
    Text(Cow<'a, str>),
}

impl Cell<'_> {
    fn num(&self) -> f64 {
        match self {
            Cell::Num(x) => *x,
            Cell::Bool(b) => f64::from(u8::from(*b)),
            _ => f64::NAN,
        }
    }

    fn is_missing(&self) -> bool {
        matches!(self, Cell::Missing) || matches!(self, Cell::Num(x) if x.is_nan())
    }
}

type Eval = Arc<dyn for<'a> Fn(&'a [Value]) -> Cell<'a> + Send + Sync>;

/// A compiled `features` block.
#[derive(Clone)]
pub struct CompiledFeatures {
    pub names: Vec<String>,
    pub types: Vec<FeatureType>,
    evals: Vec<Eval>,
}

impl std::fmt::Debug for CompiledFeatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFeatures").field("names", &self.names).field("types", &self.types).finish()
    }
}

impl CompiledFeatures {
    /// Compiles a checked feature set. Fails only on a pattern the regex engine rejects
    /// beyond what the checker validated (size limits).
    pub fn compile(set: &FeatureSet) -> Result<Self, String> {
        let mut evals: Vec<Eval> = Vec::new();
        for f in &set.features {
            let e = compile(&f.expr, &evals).map_err(|e| format!("feature `{}`: {e}", f.name))?;
            evals.push(e);
        }
        Ok(CompiledFeatures {
            names: set.features.iter().map(|f| f.name.clone()).collect(),
            types: set.features.iter().map(|f| f.ty).collect(),
            evals,
        })
    }

    pub fn len(&self) -> usize {
        self.evals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.evals.is_empty()
    }

    /// Indices of the categorical features.
    pub fn categorical(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.types[i] == FeatureType::Category).collect()
    }

    /// The raw value of feature `i` for an event (categories as text).
    pub fn cell<'a>(&self, i: usize, values: &'a [Value]) -> Cell<'a> {
        (self.evals[i])(values)
    }

    /// The feature vector of one event: numbers as they are, booleans as 0/1, categories
    /// as their code in `cats` (an unseen category is NaN, which LightGBM treats as missing).
    pub fn eval_into(&self, values: &[Value], cats: &CategoryMaps, out: &mut [f64]) {
        for (i, eval) in self.evals.iter().enumerate() {
            let cell = eval(values);
            out[i] = match cell {
                Cell::Text(t) => cats.code(i, &t).map_or(f64::NAN, f64::from),
                other => other.num(),
            };
        }
    }

    /// Feature rows for many events, row-major.
    pub fn eval_rows(&self, events: impl IntoIterator<Item = impl AsRef<[Value]>>, cats: &CategoryMaps) -> Vec<f64> {
        let mut out = Vec::new();
        let n = self.len();
        for e in events {
            let start = out.len();
            out.resize(start + n, 0.0);
            self.eval_into(e.as_ref(), cats, &mut out[start..]);
        }
        out
    }
}

fn compile(e: &FeatureExpr, earlier: &[Eval]) -> Result<Eval, String> {
    Ok(match e {
        FeatureExpr::Field { index, .. } => {
            let i = *index;
            Arc::new(move |v: &[Value]| match v.get(i) {
                Some(Value::Num(x)) => Cell::Num(*x),
                Some(Value::Bool(b)) => Cell::Bool(*b),
                Some(Value::Text(s)) => Cell::Text(Cow::Borrowed(s.as_str())),
                Some(Value::Missing) | None => Cell::Missing,
            })
        }
        FeatureExpr::Feature { index, .. } => earlier[*index].clone(),
        FeatureExpr::Number(x) => {
            let x = *x;
            Arc::new(move |_: &[Value]| Cell::Num(x))
        }
        FeatureExpr::Bool(b) => {
            let b = *b;
            Arc::new(move |_: &[Value]| Cell::Bool(b))
        }
        FeatureExpr::Text(s) => {
            let s = s.clone();
            Arc::new(move |_: &[Value]| Cell::Text(Cow::Owned(s.clone())))
        }
        FeatureExpr::Neg(x) => {
            let x = compile(x, earlier)?;
            Arc::new(move |v: &[Value]| Cell::Num(-x(v).num()))
        }
        FeatureExpr::Not(x) => {
            let x = compile(x, earlier)?;
            Arc::new(move |v: &[Value]| match x(v) {
                Cell::Bool(b) => Cell::Bool(!b),
                _ => Cell::Missing,
            })
        }
        FeatureExpr::Binary { op, lhs, rhs } => binary(*op, compile(lhs, earlier)?, compile(rhs, earlier)?),
        FeatureExpr::Call { func, args } => {
            let args = args.iter().map(|a| compile(a, earlier)).collect::<Result<Vec<_>, _>>()?;
            call(*func, args)
        }
        FeatureExpr::Extract { input, pattern } => {
            let input = compile(input, earlier)?;
            if let Some(fixed) = FixedWidth::new(pattern) {
                return Ok(Arc::new(move |v: &[Value]| match input(v) {
                    Cell::Text(text) => part_of(text, |t| fixed.find(t)),
                    _ => Cell::Missing,
                }));
            }
            let re = Regex::new(pattern).map_err(|e| e.to_string())?;
            // Only a pattern with a group needs the capture engine; the match of one without is
            // found by the faster search. Each worker thread keeps its own search cache and
            // capture slots, so a search takes nothing from a shared pool.
            let grouped = re.captures_len() > 1;
            let scratch: ThreadLocal<RefCell<(Cache, Captures)>> = ThreadLocal::new();
            Arc::new(move |v: &[Value]| {
                let Cell::Text(text) = input(v) else { return Cell::Missing };
                let mut scratch =
                    scratch.get_or(|| RefCell::new((re.create_cache(), re.create_captures()))).borrow_mut();
                let (cache, captures) = &mut *scratch;
                part_of(text, |text| {
                    if grouped {
                        re.search_captures_with(cache, &Input::new(text), captures);
                        captures.get_group(1).or_else(|| captures.get_group(0)).map(|m| m.range())
                    } else {
                        re.search_with(cache, &Input::new(text)).map(|m| m.range())
                    }
                })
            })
        }
    })
}

/// The part of `text` that `find` finds, or missing: borrowed when `text` is a field's own
/// text, not copied.
#[inline(always)]
fn part_of(text: Cow<'_, str>, find: impl FnOnce(&str) -> Option<std::ops::Range<usize>>) -> Cell<'_> {
    match (find(text.as_ref()), text) {
        (None, _) => Cell::Missing,
        (Some(r), Cow::Borrowed(s)) => Cell::Text(Cow::Borrowed(&s[r])),
        (Some(r), Cow::Owned(s)) => Cell::Text(Cow::Owned(s[r].to_string())),
    }
}

fn binary(op: BinOp, l: Eval, r: Eval) -> Eval {
    match op {
        BinOp::Add => Arc::new(move |v: &[Value]| Cell::Num(l(v).num() + r(v).num())),
        BinOp::Sub => Arc::new(move |v: &[Value]| Cell::Num(l(v).num() - r(v).num())),
        BinOp::Mul => Arc::new(move |v: &[Value]| Cell::Num(l(v).num() * r(v).num())),
        BinOp::Div => Arc::new(move |v: &[Value]| Cell::Num(l(v).num() / r(v).num())),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Arc::new(move |v: &[Value]| {
            let (a, b) = (l(v).num(), r(v).num());
            if a.is_nan() || b.is_nan() {
                return Cell::Missing;
            }
            Cell::Bool(match op {
                BinOp::Lt => a < b,
                BinOp::Le => a <= b,
                BinOp::Gt => a > b,
                _ => a >= b,
            })
        }),
        BinOp::Eq | BinOp::Ne => Arc::new(move |v: &[Value]| {
            let (a, b) = (l(v), r(v));
            if a.is_missing() || b.is_missing() {
                return Cell::Missing;
            }
            let same = match (&a, &b) {
                (Cell::Text(x), Cell::Text(y)) => x == y,
                _ => a.num() == b.num(),
            };
            Cell::Bool(same == (op == BinOp::Eq))
        }),
        BinOp::And | BinOp::Or => Arc::new(move |v: &[Value]| match (l(v), r(v)) {
            (Cell::Bool(a), Cell::Bool(b)) => Cell::Bool(if op == BinOp::And { a && b } else { a || b }),
            _ => Cell::Missing,
        }),
    }
}

fn unary_num(a: Eval, f: fn(f64) -> f64) -> Eval {
    Arc::new(move |v: &[Value]| Cell::Num(f(a(v).num())))
}

fn call(func: Func, mut args: Vec<Eval>) -> Eval {
    let first = args[0].clone();
    match func {
        Func::Abs => unary_num(first, f64::abs),
        Func::Sqrt => unary_num(first, f64::sqrt),
        Func::Ln => unary_num(first, f64::ln),
        Func::Log10 => unary_num(first, f64::log10),
        Func::Log1p => unary_num(first, f64::ln_1p),
        Func::Exp => unary_num(first, f64::exp),
        Func::Floor => unary_num(first, f64::floor),
        Func::Ceil => unary_num(first, f64::ceil),
        Func::Round => unary_num(first, f64::round),
        Func::Pow => {
            let b = args[1].clone();
            Arc::new(move |v: &[Value]| Cell::Num(first(v).num().powf(b(v).num())))
        }
        // A missing argument makes the result missing, rather than being skipped.
        Func::Min | Func::Max => {
            let is_min = func == Func::Min;
            Arc::new(move |v: &[Value]| {
                let mut acc = if is_min { f64::INFINITY } else { f64::NEG_INFINITY };
                for a in &args {
                    let x = a(v).num();
                    if x.is_nan() {
                        return Cell::Num(f64::NAN);
                    }
                    acc = if is_min { acc.min(x) } else { acc.max(x) };
                }
                Cell::Num(acc)
            })
        }
        Func::Clamp => {
            let (lo, hi) = (args[1].clone(), args[2].clone());
            Arc::new(move |v: &[Value]| {
                let (x, lo, hi) = (first(v).num(), lo(v).num(), hi(v).num());
                if x.is_nan() || lo.is_nan() || hi.is_nan() {
                    return Cell::Num(f64::NAN);
                }
                Cell::Num(x.max(lo).min(hi))
            })
        }
        Func::If => {
            let (then, other) = (args[1].clone(), args[2].clone());
            Arc::new(move |v: &[Value]| match first(v) {
                Cell::Bool(true) => then(v),
                Cell::Bool(false) => other(v),
                _ => Cell::Missing,
            })
        }
        Func::IsMissing => Arc::new(move |v: &[Value]| Cell::Bool(first(v).is_missing())),
        Func::Coalesce => {
            let fallback = args.swap_remove(1);
            Arc::new(move |v: &[Value]| {
                let c = first(v);
                if c.is_missing() {
                    fallback(v)
                } else {
                    c
                }
            })
        }
        Func::Len => Arc::new(move |v: &[Value]| match first(v) {
            Cell::Text(t) => Cell::Num(t.chars().count() as f64),
            _ => Cell::Num(f64::NAN),
        }),
        Func::Lower => Arc::new(move |v: &[Value]| match first(v) {
            Cell::Text(t) => Cell::Text(Cow::Owned(t.to_lowercase())),
            other => other,
        }),
        Func::Contains => {
            let needle = args[1].clone();
            Arc::new(move |v: &[Value]| match (first(v), needle(v)) {
                (Cell::Text(h), Cell::Text(n)) => Cell::Bool(h.contains(n.as_ref())),
                _ => Cell::Missing,
            })
        }
        Func::Category => first,
    }
}
