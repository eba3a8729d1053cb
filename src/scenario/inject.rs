//! The drift agent: `at T drift FIELD CHANGE [for D]` applied to generated events and HTTP
//! bodies alike, from its time on. Noise is a normal draw that depends only on the seed, the
//! event and the field, so the same scenario injects the same values.

use crate::data::{Event, Value};
use crate::program::{Change, Schema, TimedEvent};

/// One drift on one field, active over `[from_ms, until_ms)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Injection {
    pub field: usize,
    pub name: String,
    pub change: Change,
    pub from_ms: u64,
    pub until_ms: u64,
}

/// Every drift of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Injector {
    pub injections: Vec<Injection>,
    seed: u64,
}

impl Injector {
    /// The drifts of `events` on `schema`'s numeric fields; an unknown or non-numeric field is an error.
    pub fn new(events: &[TimedEvent], schema: &Schema, seed: u64) -> Result<Injector, String> {
        let mut injections = Vec::new();
        for e in events {
            let crate::program::Event::Drift { field, change } = &e.event else { continue };
            let index = schema
                .fields
                .iter()
                .position(|f| &f.name == field)
                .ok_or_else(|| format!("the scenario drifts `{field}`, which schema `{}` lacks", schema.name))?;
            if !schema.fields[index].ty.is_numeric() {
                return Err(format!("the scenario drifts `{field}`, which is not numeric"));
            }
            injections.push(Injection {
                field: index,
                name: field.clone(),
                change: change.clone(),
                from_ms: e.at_ms,
                until_ms: e.for_ms.map_or(u64::MAX, |d| e.at_ms.saturating_add(d)),
            });
        }
        Ok(Injector { injections, seed })
    }

    /// Whether any drift is active at `elapsed_ms`.
    pub fn active(&self, elapsed_ms: u64) -> bool {
        self.injections.iter().any(|i| elapsed_ms >= i.from_ms && elapsed_ms < i.until_ms)
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

    pub fn apply_event(&self, elapsed_ms: u64, e: &mut Event) {
        self.apply(elapsed_ms, e.id, &mut e.values);
    }
}
