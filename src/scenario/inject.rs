//! The drift agent: `at T drift FIELD CHANGE [where TESTS]` applied to generated events and
//! HTTP bodies alike, from its time on, to the events whose (already drifted) fields pass every
//! test. A drift of the model's label is concept drift: the relation the model learned moves
//! while its inputs keep their distribution, so online error rises and input drift stays quiet.
//! Noise is a normal draw that depends only on the seed, the event and the field, so the same
//! scenario injects the same values.

use crate::data::{Event, Value};
use crate::program::{Change, CmpOp, Schema, TimedEvent};

/// One drift on one field, active over `[from_ms, until_ms)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Injection {
    pub field: usize,
    pub name: String,
    pub change: Change,
    pub from_ms: u64,
    pub until_ms: u64,
    /// (field index, comparison, value): the events it reaches.
    pub when: Vec<(usize, CmpOp, f64)>,
    /// Whether it changes the model's label (concept drift).
    pub concept: bool,
    /// As written after the field: `scale(1.2) where Avg_Area_Income > 80000`.
    pub described: String,
}

/// Every drift of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Injector {
    pub injections: Vec<Injection>,
    seed: u64,
}

impl Injector {
    /// The drifts of `events` on `schema`'s numeric fields (`label` is the model's); an unknown
    /// or non-numeric field is an error.
    pub fn new(events: &[TimedEvent], schema: &Schema, label: &str, seed: u64) -> Result<Injector, String> {
        let numeric = |field: &str| -> Result<usize, String> {
            let index = schema
                .fields
                .iter()
                .position(|f| f.name == field)
                .ok_or_else(|| format!("the scenario drifts `{field}`, which schema `{}` lacks", schema.name))?;
            if !schema.fields[index].ty.is_numeric() {
                return Err(format!("the scenario drifts `{field}`, which is not numeric"));
            }
            Ok(index)
        };
        let mut injections = Vec::new();
        for e in events {
            let crate::program::Event::Drift { field, change, when } = &e.event else { continue };
            let index = numeric(field)?;
            let tests = when.iter().map(|t| Ok((numeric(&t.field)?, t.op, t.value))).collect::<Result<_, String>>()?;
            let mut described = describe_change(change);
            if !when.is_empty() {
                let tests: Vec<String> = when.iter().map(|t| t.to_string()).collect();
                described += &format!(" where {}", tests.join(" and "));
            }
            injections.push(Injection {
                field: index,
                name: field.clone(),
                change: change.clone(),
                from_ms: e.at_ms,
                until_ms: e.for_ms.map_or(u64::MAX, |d| e.at_ms.saturating_add(d)),
                when: tests,
                concept: field == label,
                described,
            });
        }
        Ok(Injector { injections, seed })
    }

    /// Whether a drift of an input (not the label) is active at `elapsed_ms`.
    pub fn alters_inputs(&self, elapsed_ms: u64) -> bool {
        self.injections.iter().any(|i| !i.concept && elapsed_ms >= i.from_ms && elapsed_ms < i.until_ms)
    }

    /// Applies the drifts active at `elapsed_ms` to an event's values.
    pub fn apply(&self, elapsed_ms: u64, id: u64, values: &mut [Value]) {
        self.apply_where(|_, inj| elapsed_ms >= inj.from_ms && elapsed_ms < inj.until_ms, id, values);
    }

    /// Applies the drifts `active` picks (by position and injection) to an event's values.
    pub fn apply_where(&self, active: impl Fn(usize, &Injection) -> bool, id: u64, values: &mut [Value]) {
        for (k, inj) in self.injections.iter().enumerate() {
            if !active(k, inj) {
                continue;
            }
            let passes =
                inj.when.iter().all(|&(f, op, v)| matches!(values.get(f), Some(Value::Num(x)) if op.holds(*x, v)));
            if !passes {
                continue;
            }
            let Some(Value::Num(x)) = values.get_mut(inj.field) else { continue };
            *x = match inj.change {
                Change::Shift { by, relative: true } => *x * (1.0 + by),
                Change::Shift { by, relative: false } => *x + by,
                Change::Scale { factor } => *x * factor,
                Change::Noise { std, relative } => {
                    let z = crate::draws::normal(self.seed, id, inj.field as u64);
                    if relative {
                        *x * (1.0 + std * z)
                    } else {
                        *x + std * z
                    }
                }
                Change::Replace { value } => value,
            };
        }
    }

    /// Whether any active drift changes the model's label.
    pub fn has_concept(&self) -> bool {
        self.injections.iter().any(|i| i.concept)
    }

    pub fn apply_event(&self, elapsed_ms: u64, e: &mut Event) {
        self.apply(elapsed_ms, e.id, &mut e.values);
    }
}

/// A change as written: `scale(1.2)`, `shift(+5%)`.
pub fn describe_change(c: &Change) -> String {
    match c {
        Change::Shift { by, relative: true } => format!("shift({:+}%)", by * 100.0),
        Change::Shift { by, relative: false } => format!("shift({by:+})"),
        Change::Scale { factor } => format!("scale({factor})"),
        Change::Noise { std, relative: true } => format!("noise({}%)", std * 100.0),
        Change::Noise { std, relative: false } => format!("noise({std})"),
        Change::Replace { value } => format!("replace({value})"),
    }
}
