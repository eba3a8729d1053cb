//! The typed feature expression IR: fields by index, functions resolved, regexes checked.
//! The model stage compiles it into the form that runs per event.

use serde::{Deserialize, Serialize};

/// What a feature yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureType {
    Numeric,
    Bool,
    Category,
    /// Text: only an intermediate; a feature must not end as text.
    Text,
}

impl FeatureType {
    pub fn describe(self) -> &'static str {
        match self {
            FeatureType::Numeric => "a number",
            FeatureType::Bool => "a boolean",
            FeatureType::Category => "a category",
            FeatureType::Text => "text",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    Abs,
    Sqrt,
    Ln,
    Log10,
    Log1p,
    Exp,
    Floor,
    Ceil,
    Round,
    Pow,
    Min,
    Max,
    Clamp,
    If,
    IsMissing,
    Coalesce,
    Len,
    Lower,
    Contains,
    Category,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureExpr {
    /// A schema field by index.
    Field {
        index: usize,
        name: String,
    },
    /// An earlier feature of the same block by index.
    Feature {
        index: usize,
        name: String,
    },
    Number(f64),
    Text(String),
    Bool(bool),
    Neg(Box<FeatureExpr>),
    Not(Box<FeatureExpr>),
    Binary {
        op: BinOp,
        lhs: Box<FeatureExpr>,
        rhs: Box<FeatureExpr>,
    },
    Call {
        func: Func,
        args: Vec<FeatureExpr>,
    },
    /// `extract(text, "regex")`: the first capture group (or the whole match) as a category.
    Extract {
        input: Box<FeatureExpr>,
        pattern: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

impl std::fmt::Display for FeatureExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeatureExpr::Field { name, .. } | FeatureExpr::Feature { name, .. } => write!(f, "{name}"),
            FeatureExpr::Number(n) => write!(f, "{n}"),
            FeatureExpr::Text(s) => write!(f, "{s:?}"),
            FeatureExpr::Bool(b) => write!(f, "{b}"),
            FeatureExpr::Neg(e) => write!(f, "-{e}"),
            FeatureExpr::Not(e) => write!(f, "not {e}"),
            FeatureExpr::Binary { op, lhs, rhs } => write!(f, "({lhs} {} {rhs})", op.symbol()),
            FeatureExpr::Call { func, args } => {
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                let name = serde_json::to_value(func).ok().and_then(|v| v.as_str().map(String::from));
                write!(f, "{}({})", name.unwrap_or_default(), args.join(", "))
            }
            FeatureExpr::Extract { input, pattern } => write!(f, "extract({input}, {pattern:?})"),
        }
    }
}
