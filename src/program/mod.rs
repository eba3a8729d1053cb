//! The checked, typed program: every name resolved, every unit converted
//! (durations in milliseconds, rates per second, percentages as fractions).
//! The checker (`crate::check`) builds it; the planner (`crate::plan`) lowers it.

mod condition;
mod feature_expr;

pub use condition::{CmpOp, Condition, Metric};
pub use feature_expr::{BinOp, FeatureExpr, FeatureType, Func};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a set of `.hf` files declares, checked.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Program {
    /// The files read, the entry file first.
    pub files: Vec<String>,
    /// (file, a file it uses), by name.
    #[serde(default)]
    pub uses: Vec<(String, String)>,
    pub schemas: Vec<Schema>,
    pub sources: Vec<Source>,
    pub features: Vec<FeatureSet>,
    pub models: Vec<Model>,
    pub drifts: Vec<Drift>,
    pub sinks: Vec<Sink>,
    pub serve: Option<Serve>,
    pub slos: Vec<Condition>,
    pub guardrails: Vec<Guardrail>,
    pub scenarios: Vec<Scenario>,
    pub auctions: Vec<Auction>,
}

impl Program {
    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.name == name)
    }

    pub fn feature_set(&self, name: &str) -> Option<&FeatureSet> {
        self.features.iter().find(|f| f.name == name)
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Schema {
    pub name: String,
    pub fields: Vec<Field>,
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub optional: bool,
    /// Inclusive bounds an event's value must lie in.
    pub range: Option<(f64, f64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    F64,
    I64,
    Str,
    /// `yes/no`, `true/false`, `1/0`.
    Bool,
    Category(Vec<String>),
}

impl FieldType {
    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldType::F64 | FieldType::I64)
    }

    pub fn describe(&self) -> String {
        match self {
            FieldType::F64 => "f64".into(),
            FieldType::I64 => "i64".into(),
            FieldType::Str => "str".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Category(v) => format!("category({})", v.len()),
        }
    }
}

/// Where events come from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    pub schema: String,
    pub kind: SourceKind,
    /// The file that declares it: a run uses the entry file's sources when it has any.
    pub file: String,
}

impl Source {
    /// A Kafka source's consumer group: its `group:`, else `housing-flow.NAME`.
    pub fn kafka_group(&self) -> Option<String> {
        match &self.kind {
            SourceKind::Kafka { group, .. } => {
                Some(group.clone().unwrap_or_else(|| format!("housing-flow.{}", self.name)))
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SourceKind {
    /// The built-in generator. `rate` per second (None: unlimited); `rows` bounds it.
    Generate { seed: u64, rate: Option<f64>, rows: Option<u64> },
    /// A CSV file; `columns` maps CSV header → schema field.
    Csv { path: String, columns: Vec<(String, String)>, delimiter: char, rate: Option<f64> },
    /// A Kafka topic of JSON events. `group` holds the committed offsets (by default
    /// `housing-flow.<source name>`); `start` says where a group without them begins.
    Kafka { topic: String, brokers: Setting, format: String, group: Option<String>, start: KafkaStart },
}

/// Where a Kafka source begins when its group has no committed offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KafkaStart {
    Earliest,
    Latest,
}

/// A value that may come from the environment: `env("VAR", "default")`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    Value(String),
    Env { var: String, default: Option<String> },
}

impl Setting {
    /// Where Kafka sources and sinks look when they name no brokers: `$KAFKA_BROKERS`, else
    /// `127.0.0.1:9092`.
    pub fn default_kafka_brokers() -> Setting {
        Setting::Env { var: "KAFKA_BROKERS".into(), default: Some("127.0.0.1:9092".into()) }
    }
}

/// A `features` block, typed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FeatureSet {
    pub name: String,
    pub schema: String,
    pub features: Vec<Feature>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub ty: FeatureType,
    pub expr: FeatureExpr,
    /// Schema fields this feature reads, directly or through earlier features.
    pub reads: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Model {
    pub name: String,
    pub algorithm: String,
    pub features: String,
    pub label: String,
    pub registry: RegistrySpec,
    /// The training data: a generator or CSV source description.
    pub train: Option<SourceKind>,
    pub params: BTreeMap<String, ParamValue>,
    pub quantiles: Vec<f64>,
    /// Fraction of rows held out for metrics.
    pub holdout: f64,
    pub predictor: PredictorKind,
}

impl Model {
    /// The name the registry keeps the model's versions under: MLflow's registered model name
    /// when one is given, else the model's own name.
    pub fn registered_name(&self) -> &str {
        match &self.registry {
            RegistrySpec::Mlflow { name: Some(n), .. } => n,
            _ => &self.name,
        }
    }
}

/// Where a model's versions live: a directory (the default, `models`) or an MLflow tracking server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RegistrySpec {
    /// A directory; a relative path is already resolved against the pipeline file's folder.
    Directory { path: String },
    /// An MLflow tracking server. Without `url`, `MLFLOW_TRACKING_URI` and then
    /// `http://127.0.0.1:5000` are used, as MLflow's own client does.
    Mlflow {
        url: Option<String>,
        /// The registered model name (default: the model's name).
        name: Option<String>,
        /// The experiment runs are logged to (default: `housing-flow`).
        experiment: Option<String>,
    },
}

impl std::fmt::Display for RegistrySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistrySpec::Directory { path } => write!(f, "{path:?}"),
            RegistrySpec::Mlflow { url, name, experiment } => {
                write!(f, "mlflow({:?}", url.as_deref().unwrap_or("$MLFLOW_TRACKING_URI"))?;
                if let Some(name) = name {
                    write!(f, ", name: {name:?}")?;
                }
                if let Some(experiment) = experiment {
                    write!(f, ", experiment: {experiment:?}")?;
                }
                write!(f, ")")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Number(n) => write!(f, "{n}"),
            ParamValue::Text(s) => write!(f, "{s}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictorKind {
    /// Flat arrays compiled from LightGBM's model text.
    Compiled,
    /// LightGBM's own predictor.
    Lightgbm,
}

/// A drift monitor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Drift {
    pub name: String,
    pub target: DriftTarget,
    /// Categorical targets use PSI over categories.
    pub categorical: bool,
    pub window: Window,
    pub rules: Vec<DriftRule>,
}

impl Drift {
    /// PSI bins of the first PSI rule, if any.
    pub fn psi_bins(&self) -> Option<u32> {
        self.rules.iter().filter(|r| r.statistic.name == "psi").find_map(|r| r.statistic.param("bins"))
    }

    /// KS cells of the first KS rule, if any.
    pub fn ks_cells(&self) -> Option<u32> {
        self.rules.iter().find_map(|r| r.statistic.param("cells"))
    }

    /// Whether its KS rules compare with the whole reference sample (`ks(exact)`).
    pub fn ks_exact(&self) -> bool {
        self.rules.iter().any(|r| r.statistic.param(EXACT).is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DriftTarget {
    Field { schema: String, field: String },
    Feature { set: String, feature: String },
    Prediction { model: String },
}

impl std::fmt::Display for DriftTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriftTarget::Field { schema, field } => write!(f, "{schema}.{field}"),
            DriftTarget::Feature { set, feature } => write!(f, "{set}.{feature}"),
            DriftTarget::Prediction { model } => write!(f, "{model}.prediction"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub shape: WindowShape,
    pub measure: Measure,
    /// Window length: events, or milliseconds of event time.
    pub size: u64,
    /// Slide: events or milliseconds; equal to `size` for tumbling windows.
    pub every: u64,
    /// Event-time windows: how late an event may arrive, in milliseconds.
    pub lateness_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowShape {
    Sliding,
    Tumbling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Events,
    EventTime,
}

/// `psi(bins: 10) > 0.2 for 2 windows => alert`, as the language writes it.
impl std::fmt::Display for DriftRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let every = if self.for_windows > 1 { format!(" for {} windows", self.for_windows) } else { String::new() };
        write!(f, "{} {} {}{every} => {}", self.statistic, self.op.symbol(), self.threshold, self.action)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftRule {
    pub statistic: Statistic,
    pub op: CmpOp,
    pub threshold: f64,
    pub for_windows: u32,
    pub action: Action,
}

/// A drift statistic as a rule names it (`psi(bins: 10)`, `ks()`, `wasserstein()`): the name
/// of one of `drift::statistic::ALL` and its settings, checked against what it declares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistic {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, u32>,
}

impl Statistic {
    /// `name` with the given settings.
    pub fn new(name: &str, params: &[(&str, u32)]) -> Statistic {
        Statistic { name: name.to_string(), params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect() }
    }

    /// A setting's value, if the rule gives it (the checker fills in defaults).
    pub fn param(&self, name: &str) -> Option<u32> {
        self.params.get(name).copied()
    }
}

/// The setting of `ks(exact)`: a bare word in the language, `exact: 1` among the settings.
pub const EXACT: &str = "exact";

/// The statistics that have an exact form.
pub const EXACT_STATISTICS: [&str; 2] = ["ks", "ks_p"];

impl std::fmt::Display for Statistic {
    /// `psi(bins: 10)`, `ks(cells: 1000)`, `ks(exact)`, `wasserstein()`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params: Vec<String> =
            self.params.iter().map(|(k, v)| if k == EXACT { k.clone() } else { format!("{k}: {v}") }).collect();
        write!(f, "{}({})", self.name, params.join(", "))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Alert,
    Log,
    Rollback,
    AbortCanary,
    Shed {
        fraction: f64,
    },
    /// Ends a scenario run early (a scenario's guardrail only).
    Abort,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Alert => write!(f, "alert"),
            Action::Log => write!(f, "log"),
            Action::Rollback => write!(f, "rollback"),
            Action::AbortCanary => write!(f, "abort_canary"),
            Action::Abort => write!(f, "abort"),
            Action::Shed { fraction } => write!(f, "shed({}%)", fraction * 100.0),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sink {
    pub name: String,
    pub stream: Stream,
    pub targets: Vec<SinkTarget>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Predictions,
    DeadLetters,
    Alerts,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SinkTarget {
    Memory {
        keep: u64,
    },
    Kafka {
        topic: String,
        brokers: Setting,
    },
    File {
        path: String,
        /// When to start a new file, and how many old ones to keep; `None`: one growing file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rotate: Option<Rotation>,
    },
    Stdout,
}

/// `file("out/p.jsonl", rotate: 100MB, every: 1h, keep: 5)`: the file is renamed to `p.jsonl.1`
/// (older ones shift to `.2`, ...) once it reaches `max_bytes` or has been written for
/// `every_ms`, and at most `keep` old files stay; a run's files never exceed
/// (`keep` + 1) × `max_bytes` plus one batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    pub max_bytes: Option<u64>,
    pub every_ms: Option<u64>,
    pub keep: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Serve {
    pub host: String,
    pub port: u16,
    pub body_limit: u64,
    pub timeout_ms: u64,
    /// The deadline for a request's headers, also the keep-alive idle timeout.
    pub header_timeout_ms: u64,
    pub max_connections: u64,
    pub max_connections_per_client: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Guardrail {
    pub action: Action,
    pub condition: Condition,
    pub for_windows: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub duration_ms: u64,
    pub seed: u64,
    pub traffic: Vec<Traffic>,
    pub events: Vec<TimedEvent>,
    pub expectations: Vec<Expectation>,
    pub guardrails: Vec<ScenarioGuardrail>,
    pub report: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    pub target: TrafficTarget,
    pub patterns: Vec<Pattern>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficTarget {
    Http,
    Stream,
}

/// An open-model arrival pattern; rates per second, durations in ms (None: to the end).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Pattern {
    Constant { rate: f64, for_ms: Option<u64> },
    Ramp { from: f64, to: f64, over_ms: u64 },
    Burst { base: f64, peak: f64, every_ms: u64, burst_ms: u64, for_ms: Option<u64> },
    Soak { rate: f64, for_ms: Option<u64> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimedEvent {
    pub at_ms: u64,
    pub for_ms: Option<u64>,
    pub event: Event,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Event {
    /// A change to a field from a time on; only on events where every test of `when` holds.
    /// A change to the model's label is concept drift: the inputs keep their distribution.
    Drift {
        field: String,
        change: Change,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        when: Vec<FieldTest>,
    },
    Fault(Fault),
}

/// `Avg_Area_Income > 80k` in a drift's `where`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldTest {
    pub field: String,
    pub op: CmpOp,
    pub value: f64,
}

impl std::fmt::Display for FieldTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.field, self.op.symbol(), self.value)
    }
}

/// A scenario's own guardrail, judged on every second of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioGuardrail {
    pub action: Action,
    pub condition: Condition,
    /// Consecutive seconds the condition must hold before the action (and fail before a
    /// shed is lifted).
    pub hold_s: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Change {
    /// Add `by`; relative when `relative` (a percentage of the value).
    Shift {
        by: f64,
        relative: bool,
    },
    Scale {
        factor: f64,
    },
    Noise {
        std: f64,
        relative: bool,
    },
    Replace {
        value: f64,
    },
}

/// Tagged `fault`, not `kind`: [`Event::Fault`] wraps it and already writes `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fault")]
pub enum Fault {
    Latency {
        stage: Stage,
        delay_ms: u64,
        probability: f64,
    },
    Drop {
        stage: Stage,
        fraction: f64,
    },
    CacheDown,
    KafkaDown,
    Stall {
        worker: u32,
    },
    /// The HTTP layer answers 503 to `fraction` of the requests to `route`.
    Error {
        route: String,
        fraction: f64,
    },
}

impl std::fmt::Display for Fault {
    /// The fault by its kind and what it acts on: `latency(stage: model)`, `kafka down`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stage = |s: &Stage| format!("{s:?}").to_lowercase();
        match self {
            Fault::Latency { stage: s, .. } => write!(f, "latency(stage: {})", stage(s)),
            Fault::Drop { stage: s, .. } => write!(f, "drop(stage: {})", stage(s)),
            Fault::CacheDown => write!(f, "cache down"),
            Fault::KafkaDown => write!(f, "kafka down"),
            Fault::Stall { .. } => write!(f, "stall"),
            Fault::Error { route, .. } => write!(f, "error(route: \"{route}\")"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Source,
    Validate,
    Features,
    Model,
    Sink,
    Http,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Expectation {
    Holds {
        condition: Condition,
    },
    Detected {
        drift: String,
        within_ms: Option<u64>,
        of_ms: Option<u64>,
    },
    NotDetected {
        drift: String,
    },
    /// A guardrail rolled the model back (within `within_ms` of `of_ms`).
    RolledBack {
        within_ms: Option<u64>,
        of_ms: Option<u64>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Auction {
    pub name: String,
    pub listings: u64,
    pub source: String,
    pub bidders: Vec<BidderGroup>,
    pub rule: AuctionRule,
    /// Model error injected into estimates and intervals, one market per level, ascending:
    /// +0.05 = estimates 5% high. One level unless the file sweeps (`-10% .. +10% step 5%`).
    pub biases: Vec<f64>,
    pub seed: u64,
    pub report: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BidderGroup {
    pub persona: Persona,
    pub count: u32,
    pub max: PriceExpr,
    /// Relative noise on each bidder's valuation.
    pub noise: f64,
    /// Capital each bidder of the group has across all auctions; `None` is unlimited.
    pub budget: Option<f64>,
    /// Most houses each bidder buys (owner-occupiers: 1); `None` is unlimited.
    pub wins: Option<u32>,
    /// How far below its valuation a bidder bids in a first-price auction (0.1 = 10% below).
    /// One level, or for a learner the levels it chooses among.
    pub shading: Vec<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    Investor,
    Flipper,
    Owner,
    Opportunist,
    /// Learns its first-price bid shading across auctions from its realised surplus.
    Learner,
}

impl Persona {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Persona::Investor => "investor",
            Persona::Flipper => "flipper",
            Persona::Owner => "owner",
            Persona::Opportunist => "opportunist",
            Persona::Learner => "learner",
        }
    }

    /// First-price bid shading when the file sets none.
    pub fn default_shading(self) -> Vec<f64> {
        match self {
            Persona::Investor => vec![0.10],
            Persona::Flipper => vec![0.05],
            Persona::Owner => vec![0.02],
            Persona::Opportunist => vec![0.0],
            Persona::Learner => vec![0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30],
        }
    }

    /// Houses a bidder buys when the file sets no `wins:`.
    pub fn default_wins(self) -> Option<u32> {
        match self {
            Persona::Owner => Some(1),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AuctionRule {
    English { reserve: PriceExpr, increment: f64 },
    FirstPrice { reserve: PriceExpr },
    SecondPrice { reserve: PriceExpr },
}

/// Arithmetic over what a bidder knows of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceExpr {
    Const(f64),
    /// `estimate`, `p10`/`lower`, `p90`/`upper`.
    Var(PriceVar),
    Neg(Box<PriceExpr>),
    Add(Box<PriceExpr>, Box<PriceExpr>),
    Sub(Box<PriceExpr>, Box<PriceExpr>),
    Mul(Box<PriceExpr>, Box<PriceExpr>),
    Div(Box<PriceExpr>, Box<PriceExpr>),
    Min(Vec<PriceExpr>),
    Max(Vec<PriceExpr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceVar {
    Estimate,
    Lower,
    Upper,
}
