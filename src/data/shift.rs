//! A distribution shift applied to a source from one event on: `FIELD*FACTOR@EVENT` scales a
//! numeric field, `FIELD+DELTA@EVENT` moves it. `housing-flow run --shift` uses it to watch
//! drift monitors react; the stress framework's drift agents do the same in scenarios.

use super::{Event, Value};
use crate::program::Schema;

#[derive(Clone, Debug, PartialEq)]
pub struct Shift {
    /// Index of the field in the schema.
    pub field: usize,
    pub scale: f64,
    pub offset: f64,
    /// The first event number shifted.
    pub from: u64,
}

impl Shift {
    /// Parses `FIELD*FACTOR@EVENT` or `FIELD+DELTA@EVENT` (`-DELTA` too) against a schema.
    pub fn parse(schema: &Schema, text: &str) -> Result<Shift, String> {
        let usage = "write FIELD*FACTOR@EVENT or FIELD+DELTA@EVENT, as in `Avg_Area_Income*1.2@50000`";
        let (change, from) = text.rsplit_once('@').ok_or_else(|| format!("`{text}`: no `@EVENT`; {usage}"))?;
        let from: u64 = from
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|_| format!("`{text}`: `{from}` is not an event number; {usage}"))?;
        let at = change.find(['*', '+', '-']).ok_or_else(|| format!("`{text}`: no `*`, `+` or `-`; {usage}"))?;
        let (name, op, amount) = (change[..at].trim(), &change[at..at + 1], change[at + 1..].trim());
        let amount: f64 = amount.parse().map_err(|_| format!("`{text}`: `{amount}` is not a number; {usage}"))?;
        if !amount.is_finite() {
            return Err(format!("`{text}`: the amount must be finite"));
        }
        let field = schema.fields.iter().position(|f| f.name == name).ok_or_else(|| {
            let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
            format!("`{text}`: schema `{}` has no field `{name}` (it has {})", schema.name, names.join(", "))
        })?;
        if !schema.fields[field].ty.is_numeric() {
            return Err(format!("`{text}`: `{name}` is not numeric"));
        }
        let (scale, offset) = match op {
            "*" => (amount, 0.0),
            "+" => (1.0, amount),
            _ => (1.0, -amount),
        };
        Ok(Shift { field, scale, offset, from })
    }

    /// Shifts the event if it is at or after `from`.
    pub fn apply(&self, e: &mut Event) {
        if e.id < self.from {
            return;
        }
        if let Some(Value::Num(x)) = e.values.get_mut(self.field) {
            *x = *x * self.scale + self.offset;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::generator::Generator;

    fn schema() -> Schema {
        let src = "schema h { a: f64\n b: f64\n s: str? }";
        let checked = crate::check::check_source("t.hf", src);
        checked.program.unwrap().schemas[0].clone()
    }

    #[test]
    fn parses_scale_and_offset() {
        let s = schema();
        assert_eq!(
            Shift::parse(&s, "b*1.2@50_000").unwrap(),
            Shift { field: 1, scale: 1.2, offset: 0.0, from: 50_000 }
        );
        assert_eq!(Shift::parse(&s, "a-3@0").unwrap(), Shift { field: 0, scale: 1.0, offset: -3.0, from: 0 });
        assert!(Shift::parse(&s, "c*2@1").unwrap_err().contains("has no field `c`"));
        assert!(Shift::parse(&s, "s*2@1").unwrap_err().contains("not numeric"));
        assert!(Shift::parse(&s, "a*2").unwrap_err().contains("@EVENT"));
        assert!(Shift::parse(&s, "a*x@1").unwrap_err().contains("not a number"));
    }

    proptest::proptest! {
        /// Any text gets an answer, never a panic; errors say what to write.
        #[test]
        fn any_text_parses_or_explains(text in "\\PC{0,40}") {
            if let Err(e) = Shift::parse(&schema(), &text) {
                proptest::prop_assert!(e.contains('`'), "{}", e);
            }
        }

        /// Well-formed shifts parse back to what was written.
        #[test]
        fn written_shifts_parse_back(field in 0usize..2, op in 0usize..3, amount in 0.0f64..1e6, from in 0u64..u64::MAX) {
            let name = ["a", "b"][field];
            let symbol = ["*", "+", "-"][op];
            let shift = Shift::parse(&schema(), &format!("{name}{symbol}{amount}@{from}")).unwrap();
            proptest::prop_assert_eq!(shift.field, field);
            proptest::prop_assert_eq!(shift.from, from);
            let (scale, offset) = match op { 0 => (amount, 0.0), 1 => (1.0, amount), _ => (1.0, -amount) };
            proptest::prop_assert_eq!((shift.scale, shift.offset), (scale, offset));
        }
    }

    #[test]
    fn shifts_only_from_the_event_on() {
        let s = schema();
        let g = Generator::new(&s, 1).unwrap();
        let shift = Shift::parse(&s, "a*2@10").unwrap();
        for i in [0u64, 9, 10, 11] {
            let mut e = g.event(i);
            let before = e.values[0].as_f64().unwrap();
            shift.apply(&mut e);
            let after = e.values[0].as_f64().unwrap();
            assert_eq!(after, if i >= 10 { before * 2.0 } else { before });
        }
    }
}
