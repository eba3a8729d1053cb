//! The abstract syntax tree: what a `.hf` file says, with a byte span on every node.
//!
//! The parser (`crate::syntax`) builds it; the checker (`crate::check`) resolves and types it.

mod span;

pub use span::{FileId, Ident, Span, Spanned};

/// One parsed file.
#[derive(Clone, Debug, Default)]
pub struct Module {
    pub decls: Vec<Decl>,
    /// Declarations that did not parse, by keyword and name (`("source", raw)`): the
    /// names are known, so their uses are not reported as undeclared too.
    pub unparsed: Vec<(String, Ident)>,
}

#[derive(Clone, Debug)]
pub enum Decl {
    Use(UseDecl),
    Schema(SchemaDecl),
    Source(SourceDecl),
    Features(FeaturesDecl),
    Model(ModelDecl),
    Drift(DriftDecl),
    Sink(SinkDecl),
    Serve(ServeDecl),
    Slo(SloDecl),
    Guardrail(GuardrailDecl),
    Scenario(ScenarioDecl),
    Auction(AuctionDecl),
}

impl Decl {
    /// The declared name, for declarations that have one.
    pub fn name(&self) -> Option<&Ident> {
        match self {
            Decl::Schema(d) => Some(&d.name),
            Decl::Source(d) => Some(&d.name),
            Decl::Features(d) => Some(&d.name),
            Decl::Model(d) => Some(&d.name),
            Decl::Drift(d) => Some(&d.name),
            Decl::Sink(d) => Some(&d.name),
            Decl::Scenario(d) => Some(&d.name),
            Decl::Auction(d) => Some(&d.name),
            Decl::Use(_) | Decl::Serve(_) | Decl::Slo(_) | Decl::Guardrail(_) => None,
        }
    }

    /// The word that starts the declaration.
    pub fn keyword(&self) -> &'static str {
        self.kind().keyword()
    }

    /// Which kind of declaration this is.
    pub fn kind(&self) -> DeclKind {
        match self {
            Decl::Use(_) => DeclKind::Use,
            Decl::Schema(_) => DeclKind::Schema,
            Decl::Source(_) => DeclKind::Source,
            Decl::Features(_) => DeclKind::Features,
            Decl::Model(_) => DeclKind::Model,
            Decl::Drift(_) => DeclKind::Drift,
            Decl::Sink(_) => DeclKind::Sink,
            Decl::Serve(_) => DeclKind::Serve,
            Decl::Slo(_) => DeclKind::Slo,
            Decl::Guardrail(_) => DeclKind::Guardrail,
            Decl::Scenario(_) => DeclKind::Scenario,
            Decl::Auction(_) => DeclKind::Auction,
        }
    }
}

/// The kinds of declaration, each with the one keyword that starts it: the single list the
/// parser's recovery, the checker and the tests read (the grammar spells the same words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeclKind {
    Use,
    Schema,
    Source,
    Features,
    Model,
    Drift,
    Sink,
    Serve,
    Slo,
    Guardrail,
    Scenario,
    Auction,
}

/// Every declaration kind with its keyword, in the order the language reference presents them.
pub const DECL_KINDS: [(DeclKind, &str); 12] = [
    (DeclKind::Use, "use"),
    (DeclKind::Schema, "schema"),
    (DeclKind::Source, "source"),
    (DeclKind::Features, "features"),
    (DeclKind::Model, "model"),
    (DeclKind::Drift, "drift"),
    (DeclKind::Sink, "sink"),
    (DeclKind::Serve, "serve"),
    (DeclKind::Slo, "slo"),
    (DeclKind::Guardrail, "guardrail"),
    (DeclKind::Scenario, "scenario"),
    (DeclKind::Auction, "auction"),
];

/// The keywords alone.
pub const DECL_KEYWORDS: [&str; 12] = {
    let mut out = [""; 12];
    let mut i = 0;
    while i < DECL_KINDS.len() {
        out[i] = DECL_KINDS[i].1;
        i += 1;
    }
    out
};

impl DeclKind {
    pub fn keyword(self) -> &'static str {
        DECL_KINDS.iter().find(|(k, _)| *k == self).map_or("", |(_, w)| w)
    }

    pub fn from_keyword(word: &str) -> Option<DeclKind> {
        DECL_KINDS.iter().find(|(_, w)| *w == word).map(|(k, _)| *k)
    }
}

/// `use "file.hf"`
#[derive(Clone, Debug)]
pub struct UseDecl {
    pub path: Spanned<String>,
    pub span: Span,
}

/// `schema NAME { field: type? in lo .. hi }`
#[derive(Clone, Debug)]
pub struct SchemaDecl {
    pub name: Ident,
    pub fields: Vec<SchemaField>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct SchemaField {
    pub name: Ident,
    pub ty: Spanned<FieldType>,
    pub optional: bool,
    pub range: Option<(Expr, Expr)>,
    pub span: Span,
}

/// A field type as written; `Named` is checked later (`f64`, `i64`, `str`, `bool`).
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    Named(String),
    Category(Vec<String>),
}

/// `source NAME = expr`
#[derive(Clone, Debug)]
pub struct SourceDecl {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `features NAME from SCHEMA { name = expr }`
#[derive(Clone, Debug)]
pub struct FeaturesDecl {
    pub name: Ident,
    pub schema: Ident,
    pub defs: Vec<FeatureDef>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FeatureDef {
    pub name: Ident,
    pub value: Expr,
}

/// `key: value` inside a `{ }` body.
#[derive(Clone, Debug)]
pub struct Property {
    pub key: Ident,
    pub value: Expr,
}

/// `model NAME = expr { key: value }`
#[derive(Clone, Debug)]
pub struct ModelDecl {
    pub name: Ident,
    pub value: Expr,
    pub body: Vec<Property>,
    pub span: Span,
}

/// `drift NAME on TARGET window WINDOW { rules }`
#[derive(Clone, Debug)]
pub struct DriftDecl {
    pub name: Ident,
    /// `field`, `features.field`, `prediction` or `model.prediction`.
    pub target: Vec<Ident>,
    pub target_span: Span,
    pub window: Expr,
    pub rules: Vec<Rule>,
    pub span: Span,
}

/// `condition (for N windows)? => action`
#[derive(Clone, Debug)]
pub struct Rule {
    pub condition: Expr,
    pub for_windows: Option<Expr>,
    pub action: Action,
    pub span: Span,
}

/// `alert`, `rollback`, `log(...)`
#[derive(Clone, Debug)]
pub struct Action {
    pub name: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

/// `sink NAME = target, target (from STREAM)?`
#[derive(Clone, Debug)]
pub struct SinkDecl {
    pub name: Ident,
    pub targets: Vec<Expr>,
    pub stream: Option<Ident>,
    pub span: Span,
}

/// `serve http(port: 8000)`
#[derive(Clone, Debug)]
pub struct ServeDecl {
    pub value: Expr,
    pub span: Span,
}

/// `slo p99(latency) < 50ms`
#[derive(Clone, Debug)]
pub struct SloDecl {
    pub condition: Expr,
    pub span: Span,
}

/// `guardrail ACTION when CONDITION (for N windows)?`
#[derive(Clone, Debug)]
pub struct GuardrailDecl {
    pub action: Action,
    pub condition: Expr,
    pub for_windows: Option<Expr>,
    pub span: Span,
}

/// `scenario NAME { statements }`
#[derive(Clone, Debug)]
pub struct ScenarioDecl {
    pub name: Ident,
    pub stmts: Vec<ScenarioStmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ScenarioStmt {
    Use(UseDecl),
    Duration(Expr),
    Seed(Expr),
    /// `traffic TARGET pattern then pattern ...`
    Traffic {
        target: Ident,
        patterns: Vec<Expr>,
        span: Span,
    },
    /// `at T drift FIELD change (where CONDITION)?`
    DriftAt {
        at: Expr,
        field: Ident,
        change: Expr,
        condition: Option<Expr>,
        span: Span,
    },
    /// `guardrail ACTION when CONDITION (for D)?`, judged every second of the run.
    Guardrail {
        action: Action,
        condition: Expr,
        hold: Option<Expr>,
        span: Span,
    },
    /// `at T fault KIND(args) | KIND STATE (for D)?`
    FaultAt {
        at: Expr,
        fault: Fault,
        duration: Option<Expr>,
        span: Span,
    },
    Expect(Expectation),
    Report(Spanned<String>),
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub kind: Ident,
    pub args: Vec<Arg>,
    /// `down` in `cache down`.
    pub state: Option<Ident>,
    pub span: Span,
}

/// `expect CONDITION`, `expect SUBJECT (not)? detected (within D (of T)?)?` or
/// `expect SUBJECT within D (of T)?`
#[derive(Clone, Debug)]
pub struct Expectation {
    pub subject: Expr,
    pub detection: Option<Detection>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Detection {
    /// `detected` was written (`expect rollback within 20s` has only the timing).
    pub detected: bool,
    pub negated: bool,
    pub within: Option<Expr>,
    pub of: Option<Expr>,
    pub span: Span,
}

/// `auction NAME { statements }`
#[derive(Clone, Debug)]
pub struct AuctionDecl {
    pub name: Ident,
    pub stmts: Vec<AuctionStmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum AuctionStmt {
    Use(UseDecl),
    Listings {
        count: Expr,
        source: Ident,
        span: Span,
    },
    Bidders(Vec<Bidder>),
    Rule(Expr),
    /// `bias model by F`, or a sweep `bias model by FROM .. TO step STEP`.
    Bias {
        target: Ident,
        by: Expr,
        sweep: Option<(Expr, Expr)>,
        span: Span,
    },
    Seed(Expr),
    Report(Spanned<String>),
}

/// `persona x COUNT { key: value }`
#[derive(Clone, Debug)]
pub struct Bidder {
    pub persona: Ident,
    pub count: Expr,
    pub params: Vec<Property>,
    pub span: Span,
}

/// A call argument, positional or `name: value`.
#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

pub type Expr = Spanned<ExprKind>;

#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A number with its unit; `k`/`M` are already applied, the unit is not converted.
    Number {
        value: f64,
        unit: Unit,
    },
    Str(String),
    Bool(bool),
    Name(String),
    List(Vec<Expr>),
    Map(Vec<(Ident, Expr)>),
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    Member {
        base: Box<Expr>,
        name: Ident,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

/// The unit written after a number.
#[derive(Clone, Debug, PartialEq)]
pub enum Unit {
    None,
    Millis,
    Seconds,
    Minutes,
    Hours,
    PerSecond,
    PerMinute,
    PerHour,
    Percent,
    Events,
    /// Bytes: `B`, `kB`, `MB`, `GB` (decimal: 1 MB is 1,000,000 bytes).
    Bytes,
    /// A suffix that is no unit (`10min`); the checker reports it.
    Unknown(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Pos,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Arrow,
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Arrow => "->",
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
}

#[cfg(test)]
mod keyword_tests {
    use super::*;

    #[test]
    fn each_keyword_names_one_kind_and_the_grammar_spells_it() {
        let grammar = include_str!("../../dsl/housing_flow.pest");
        for (kind, word) in DECL_KINDS {
            assert_eq!(DeclKind::from_keyword(word), Some(kind));
            assert_eq!(kind.keyword(), word);
            assert!(grammar.contains(&format!("\"{word}\"")), "the grammar has no `{word}`");
        }
        assert_eq!(DECL_KEYWORDS.len(), DECL_KINDS.len());
        assert!(DeclKind::from_keyword("drfit").is_none());
    }
}
