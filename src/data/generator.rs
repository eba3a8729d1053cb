//! The built-in housing event generator, calibrated to the public USA Housing data set.
//!
//! Event `i` is a pure function of `(seed, i)`: each event seeds its own small RNG from a
//! 64-bit mix of the two, so workers can generate disjoint shares (`i % workers == w`) in any
//! order and still agree with a single-threaded run. Event `i` has `id = i` and
//! `ts_ms = EPOCH_MS + i` (one event per millisecond of event time).
//!
//! Housing fields are recognised by name; every other field is filled from its declared type
//! and range. All fields are always present.

use super::{Event, Value};
use crate::program::{Field, FieldType, Schema};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use std::ops::Range;

/// Event time of event 0: 2026-01-01T00:00:00Z in milliseconds since the Unix epoch.
pub const EPOCH_MS: i64 = 1_767_225_600_000;

/// The event time the generator (and the CSV reader) gives event or row number `index`.
pub fn ts_ms(index: u64) -> i64 {
    EPOCH_MS.saturating_add(i64::try_from(index).unwrap_or(i64::MAX))
}

// Measured on USA_Housing.csv (see ../shared/data/README.md): (mean, std).
const INCOME: (f64, f64) = (68_583.1, 10_658.0);
const AGE: (f64, f64) = (5.9772, 0.9915);
const ROOMS: (f64, f64) = (6.9878, 1.0058);
const POPULATION: (f64, f64) = (36_163.5, 9_925.7);

// The data set's OLS fit: intercept, then income, age, rooms, bedrooms, population; residual std.
const PRICE_INTERCEPT: f64 = -2_640_160.0;
const PRICE_COEF: [f64; 5] = [21.528, 164_883.0, 122_369.0, 2_234.0, 15.15];
const PRICE_NOISE: f64 = 101_100.0;

// Floors keep values physically meaningful; the data set's minima lie well above them.
const INCOME_FLOOR: f64 = 1_000.0;
const AGE_FLOOR: f64 = 0.1;
const ROOMS_FLOOR: f64 = 1.0;
const POPULATION_FLOOR: f64 = 100.0;
const PRICE_FLOOR: f64 = 1_000.0;

// In the data set, areas with fewer than 7 rooms have 2, 3 or 4 bedrooms (equally often) and the
// others 3..=6 with these counts; a uniform 0.00..=0.50 is added. This reproduces the marginal
// (mean 3.98, std 1.23, range [2, 6.5]) and the 0.46 correlation with rooms, unlike a clamped normal,
// which would pile mass on the bounds.
const BEDROOM_SPLIT: f64 = 7.0;
const BEDROOMS_FEW: [u32; 3] = [2, 3, 4];
const BEDROOMS_MANY: [(u32, u32); 4] = [(3, 673), (4, 622), (5, 602), (6, 612)];
const BEDROOMS_MIN: f64 = 2.0;
const BEDROOMS_MAX: f64 = 6.5;

// Independent RNG streams per event, so adding an address or a generic field to the schema does
// not change the numeric housing values of the same event.
const STREAM_NUMBERS: u64 = 1;
const STREAM_ADDRESS: u64 = 2;
const STREAM_GENERIC: u64 = 3;

/// A seeded, deterministic event generator for one schema.
#[derive(Clone, Debug)]
pub struct Generator {
    seed: u64,
    fills: Vec<Fill>,
    wants_address: bool,
    wants_numbers: bool,
    /// Schema fields filled with the address (one, usually).
    address_fields: usize,
}

/// How one schema field is filled.
#[derive(Clone, Debug)]
enum Fill {
    Housing { part: Part, integer: bool, range: Option<(f64, f64)> },
    Generic(Field),
}

/// A column of the housing record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Income,
    Age,
    Rooms,
    Bedrooms,
    Population,
    Price,
    Address,
}

/// The numeric part of one housing record.
#[derive(Clone, Copy, Debug)]
struct House {
    income: f64,
    age: f64,
    rooms: f64,
    bedrooms: f64,
    population: f64,
    price: f64,
}

impl House {
    fn get(&self, part: Part) -> f64 {
        match part {
            Part::Income => self.income,
            Part::Age => self.age,
            Part::Rooms => self.rooms,
            Part::Bedrooms => self.bedrooms,
            Part::Population => self.population,
            Part::Price => self.price,
            // Addresses are text and come from their own stream; `event` never asks for one here.
            Part::Address => f64::NAN,
        }
    }
}

impl Generator {
    /// A generator for `schema`; `Err` when a housing field is declared with a type that cannot hold it.
    pub fn new(schema: &Schema, seed: u64) -> Result<Generator, String> {
        let fills = schema.fields.iter().map(fill_for).collect::<Result<Vec<_>, _>>()?;
        let is = |want: fn(Part) -> bool| fills.iter().any(|f| matches!(f, Fill::Housing { part, .. } if want(*part)));
        let wants_address = is(|p| p == Part::Address);
        let wants_numbers = is(|p| p != Part::Address);
        let address_fields = fills.iter().filter(|f| matches!(f, Fill::Housing { part: Part::Address, .. })).count();
        Ok(Generator { seed, fills, wants_address, wants_numbers, address_fields })
    }

    /// The seed this generator was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Event number `index`: `id = index`, `ts_ms = EPOCH_MS + index`.
    pub fn event(&self, index: u64) -> Event {
        let mut event = Event { id: index, seq: index, ts_ms: 0, values: Vec::with_capacity(self.fills.len()) };
        self.event_into(index, &mut event);
        event
    }

    /// Event number `index`, written over `event`: the same event as [`event`](Self::event),
    /// in the buffers of one already used (its values and its first text's), so a source that
    /// gets its spent events back allocates nothing per event.
    pub fn event_into(&self, index: u64, event: &mut Event) {
        let spare = event.values.iter_mut().find_map(|v| match v {
            Value::Text(t) => Some(std::mem::take(t)),
            _ => None,
        });
        event.values.clear();
        let house = self.wants_numbers.then(|| house(&mut self.rng(STREAM_NUMBERS, index)));
        let mut address = self.wants_address.then(|| {
            let mut out = spare.unwrap_or_default();
            out.clear();
            address_into(&mut self.rng(STREAM_ADDRESS, index), &mut out);
            out
        });
        let mut addresses_left = self.address_fields;
        let mut generic = self.rng(STREAM_GENERIC, index);
        let values = self.fills.iter().map(|fill| match fill {
            // Moved into the last address field, copied into any before it.
            Fill::Housing { part: Part::Address, .. } => {
                addresses_left -= 1;
                let text = if addresses_left == 0 { address.take() } else { address.clone() };
                Value::Text(text.unwrap_or_default())
            }
            Fill::Housing { part, integer, range } => {
                housing_value(house.map_or(f64::NAN, |h| h.get(*part)), *integer, *range)
            }
            Fill::Generic(field) => generic_value(field, &mut generic),
        });
        event.values.extend(values);
        (event.id, event.seq, event.ts_ms) = (index, index, ts_ms(index));
    }

    /// Events `range.start .. range.end`, in order.
    pub fn events(&self, range: Range<u64>) -> impl Iterator<Item = Event> + '_ {
        range.map(move |i| self.event(i))
    }

    /// The events of `range` that belong to worker `worker` of `workers` (`i % workers == worker`).
    pub fn share(&self, range: Range<u64>, workers: u64, worker: u64) -> impl Iterator<Item = Event> + '_ {
        let workers = workers.max(1);
        // Step straight from one owned index to the next instead of testing every index.
        let offset = (worker % workers + workers - range.start % workers) % workers;
        let start = if worker < workers { range.start.saturating_add(offset) } else { range.end };
        (start..range.end.max(start)).step_by(workers as usize).map(move |i| self.event(i))
    }

    /// The first `n` events.
    pub fn rows(&self, n: usize) -> Vec<Event> {
        self.events(0..n as u64).collect()
    }

    fn rng(&self, stream: u64, index: u64) -> SmallRng {
        let key = splitmix64(self.seed ^ splitmix64(stream));
        SmallRng::seed_from_u64(splitmix64(key ^ index))
    }
}

/// The splitmix64 finaliser: a bijective 64-bit mixer with good avalanche.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The housing column a field name denotes: the schema spelling, the CSV header, or a short alias.
fn part_named(name: &str) -> Option<Part> {
    let key: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    let part = match key.as_str() {
        "avgareaincome" | "income" => Part::Income,
        "avgareahouseage" | "houseage" => Part::Age,
        "avgareanumberofrooms" | "avgareanumrooms" | "rooms" => Part::Rooms,
        "avgareanumberofbedrooms" | "avgareanumbedrooms" | "bedrooms" => Part::Bedrooms,
        "areapopulation" | "population" => Part::Population,
        "price" => Part::Price,
        "address" => Part::Address,
        _ => return None,
    };
    Some(part)
}

fn fill_for(field: &Field) -> Result<Fill, String> {
    let Some(part) = part_named(&field.name) else {
        if matches!(&field.ty, FieldType::Category(c) if c.is_empty()) {
            return Err(format!("field `{}` is a category with no values", field.name));
        }
        return Ok(Fill::Generic(field.clone()));
    };
    let fits = match part {
        Part::Address => field.ty == FieldType::Str,
        _ => field.ty.is_numeric(),
    };
    if !fits {
        let want = if part == Part::Address { "str" } else { "f64 or i64" };
        let (name, ty) = (&field.name, field.ty.describe());
        return Err(format!(
            "field `{name}` is a housing field the generator fills as {want}, but it is declared {ty}"
        ));
    }
    Ok(Fill::Housing { part, integer: field.ty == FieldType::I64, range: finite_range(field.range) })
}

fn finite_range(range: Option<(f64, f64)>) -> Option<(f64, f64)> {
    range.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()).map(|(lo, hi)| (lo.min(hi), lo.max(hi)))
}

fn normal(rng: &mut SmallRng, (mean, std): (f64, f64)) -> f64 {
    mean + std * rng.sample::<f64, _>(StandardNormal)
}

/// One housing record; the draw order is fixed, so it depends on the RNG alone.
fn house(rng: &mut SmallRng) -> House {
    let income = normal(rng, INCOME).max(INCOME_FLOOR);
    let age = normal(rng, AGE).max(AGE_FLOOR);
    let rooms = normal(rng, ROOMS).max(ROOMS_FLOOR);
    let bedrooms = bedrooms(rng, rooms);
    let population = normal(rng, POPULATION).max(POPULATION_FLOOR);
    let [c_income, c_age, c_rooms, c_bedrooms, c_population] = PRICE_COEF;
    let mean = PRICE_INTERCEPT
        + c_income * income
        + c_age * age
        + c_rooms * rooms
        + c_bedrooms * bedrooms
        + c_population * population;
    let price = normal(rng, (mean, PRICE_NOISE)).max(PRICE_FLOOR);
    House { income, age, rooms, bedrooms, population, price }
}

/// Average bedrooms with two decimals in [2, 6.5], dependent on the rooms.
fn bedrooms(rng: &mut SmallRng, rooms: f64) -> f64 {
    let whole = if rooms < BEDROOM_SPLIT {
        BEDROOMS_FEW[rng.random_range(0..BEDROOMS_FEW.len())]
    } else {
        weighted(rng, &BEDROOMS_MANY)
    };
    let hundredths = whole * 100 + rng.random_range(0..=50u32);
    (f64::from(hundredths) / 100.0).clamp(BEDROOMS_MIN, BEDROOMS_MAX)
}

fn weighted(rng: &mut SmallRng, choices: &[(u32, u32)]) -> u32 {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for &(value, weight) in choices {
        if pick < weight {
            return value;
        }
        pick -= weight;
    }
    choices[choices.len() - 1].0
}

/// A housing number as the field declares it: rounded for i64, kept inside the declared range.
fn housing_value(x: f64, integer: bool, range: Option<(f64, f64)>) -> Value {
    let x = if integer { x.round() } else { x };
    let x = match range {
        Some((lo, hi)) if integer && lo.ceil() <= hi.floor() => x.clamp(lo.ceil(), hi.floor()),
        Some((lo, hi)) => x.clamp(lo, hi),
        None => x,
    };
    Value::Num(x)
}

/// A non-housing field: uniform within the declared range (or [0, 100] without one), a fair
/// coin for bool, uniform over the categories, a word from a fixed list for str.
fn generic_value(field: &Field, rng: &mut SmallRng) -> Value {
    let (lo, hi) = finite_range(field.range).unwrap_or((0.0, 100.0));
    match &field.ty {
        FieldType::F64 => Value::Num(lo + (hi - lo) * rng.random::<f64>()),
        FieldType::I64 => Value::Num(uniform_whole(rng, lo, hi)),
        FieldType::Bool => Value::Bool(rng.random_bool(0.5)),
        FieldType::Category(values) => values.choose(rng).map_or(Value::Missing, |v| Value::Text(v.clone())),
        FieldType::Str => Value::Text(WORDS.choose(rng).copied().unwrap_or("word").to_string()),
    }
}

fn uniform_whole(rng: &mut SmallRng, lo: f64, hi: f64) -> f64 {
    // `as` saturates, which is what bounds beyond i64 should do.
    let (lo, hi) = (lo.ceil() as i64, hi.floor() as i64);
    if lo > hi {
        return lo as f64;
    }
    rng.random_range(lo..=hi) as f64
}

const WORDS: [&str; 24] = [
    "amber", "birch", "cedar", "delta", "ember", "fable", "grove", "harbor", "iris", "juniper", "kestrel", "linden",
    "maple", "north", "orchid", "prairie", "quartz", "ridge", "summit", "timber", "umber", "valley", "willow",
    "yarrow",
];

/// Two-letter codes of the 50 states and DC.
const STATES: [&str; 51] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR",
    "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
];

const NAMES: [&str; 32] = [
    "Daniel",
    "Michael",
    "Johnson",
    "Elizabeth",
    "Jennifer",
    "Joyce",
    "Castillo",
    "Tyler",
    "Laura",
    "Nguyen",
    "Davis",
    "Kathleen",
    "William",
    "Tracy",
    "Janet",
    "Smith",
    "Garcia",
    "Martinez",
    "Brown",
    "Taylor",
    "Anderson",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Walker",
    "Hall",
    "Allen",
    "Young",
    "King",
    "Wright",
];

const STREET_KINDS: [&str; 20] = [
    "Ferry", "Views", "Shoals", "Islands", "Motorway", "Viaduct", "Park", "Street", "Avenue", "Road", "Lane", "Drive",
    "Court", "Way", "Plaza", "Crossing", "Ridge", "Trail", "Glen", "Harbor",
];

const SHORT_STREETS: [&str; 12] = [
    "Main St",
    "Oak Ave",
    "Pine St",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Park Ave",
    "Lake Rd",
    "Hill St",
    "Sunset Blvd",
    "River Rd",
    "Washington St",
];

const CITY_SUFFIXES: [&str; 10] = ["bury", "town", "land", "ville", "port", "borough", "fort", "side", "view", "haven"];

const CITY_PREFIXES: [&str; 4] = ["Lake", "Port", "New", "East"];

/// A US-style address with a two-letter state code and a five-digit ZIP (sometimes ZIP+4).
#[cfg(test)]
fn address(rng: &mut SmallRng) -> String {
    let mut out = String::with_capacity(64);
    address_into(rng, &mut out);
    out
}

/// [`address`], appended to `out`.
fn address_into(rng: &mut SmallRng, out: &mut String) {
    // One buffer, no intermediate strings and no formatter; the random draws keep their
    // order, so every seed gives the same addresses as ever (a test compares with the plain
    // `format!` version).
    let name = pick(rng, &NAMES);
    let prefixed = rng.random_bool(0.25);
    let other = if prefixed { pick(rng, &CITY_PREFIXES) } else { pick(rng, &CITY_SUFFIXES) };
    let state = pick(rng, &STATES);
    let zip = rng.random_range(0..100_000u32);
    let city = |out: &mut String| {
        if prefixed {
            out.extend([other, " ", name]);
        } else {
            out.extend([name, other]);
        }
    };
    let state_zip = |out: &mut String| {
        out.extend([", ", state, " "]);
        push_digits(out, zip, 5);
    };
    if rng.random_bool(0.2) {
        // The short one-line form: "123 Main St, Austin, TX 78701".
        push_digits(out, rng.random_range(1..10_000u32), 1);
        out.extend([" ", pick(rng, &SHORT_STREETS), ", "]);
        city(out);
        state_zip(out);
        return;
    }
    // The data set's two-line form: "4759 Daniel Shoals Suite 442\nTylerland, TX 91479".
    push_digits(out, rng.random_range(1..100_000u32), 1);
    let street = pick(rng, &NAMES);
    out.extend([" ", street, " ", pick(rng, &STREET_KINDS)]);
    match rng.random_range(0..3u32) {
        0 => {
            out.push_str(" Apt. ");
            push_digits(out, rng.random_range(0..1_000u32), 3);
        }
        1 => {
            out.push_str(" Suite ");
            push_digits(out, rng.random_range(0..1_000u32), 3);
        }
        _ => {}
    }
    out.push('\n');
    city(out);
    state_zip(out);
    if rng.random_bool(0.25) {
        out.push('-');
        push_digits(out, rng.random_range(0..10_000u32), 4);
    }
}

/// Appends `n` in decimal, zero-padded to at least `width` digits (`{n:0width$}`).
fn push_digits(out: &mut String, n: u32, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(n);
    out.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
    out.push_str(digits);
}

fn pick<'a>(rng: &mut SmallRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Field;
    use std::path::Path;
    use std::sync::OnceLock;

    /// The address builder as first written (a `format!` per part): the reference the
    /// one-buffer version must equal, draw for draw.
    fn address_reference(rng: &mut SmallRng) -> String {
        let city = city_reference(rng);
        let state = pick(rng, &STATES);
        let zip = format!("{:05}", rng.random_range(0..100_000u32));
        if rng.random_bool(0.2) {
            // The short one-line form: "123 Main St, Austin, TX 78701".
            let number = rng.random_range(1..10_000u32);
            return format!("{number} {}, {city}, {state} {zip}", pick(rng, &SHORT_STREETS));
        }
        // The data set's two-line form: "4759 Daniel Shoals Suite 442\nTylerland, TX 91479".
        let number = rng.random_range(1..100_000u32);
        let street = format!("{number} {} {}", pick(rng, &NAMES), pick(rng, &STREET_KINDS));
        let unit = match rng.random_range(0..3u32) {
            0 => format!(" Apt. {:03}", rng.random_range(0..1_000u32)),
            1 => format!(" Suite {:03}", rng.random_range(0..1_000u32)),
            _ => String::new(),
        };
        let plus4 =
            if rng.random_bool(0.25) { format!("-{:04}", rng.random_range(0..10_000u32)) } else { String::new() };
        format!("{street}{unit}\n{city}, {state} {zip}{plus4}")
    }

    fn city_reference(rng: &mut SmallRng) -> String {
        let name = pick(rng, &NAMES);
        if rng.random_bool(0.25) {
            format!("{} {name}", pick(rng, &CITY_PREFIXES))
        } else {
            format!("{name}{}", pick(rng, &CITY_SUFFIXES))
        }
    }

    #[test]
    fn addresses_are_the_same_as_the_reference_builder() {
        use rand::SeedableRng;
        for seed in 0..100_000u64 {
            let (mut a, mut b) = (SmallRng::seed_from_u64(seed), SmallRng::seed_from_u64(seed));
            assert_eq!(address(&mut a), address_reference(&mut b), "seed {seed}");
        }
    }

    #[test]
    fn digits_are_formats_zero_padded_numbers() {
        for n in [0, 1, 9, 10, 99, 100, 999, 1_000, 9_999, 12_345, 99_999, 100_000, u32::MAX] {
            for width in [1, 3, 4, 5, 10, 12] {
                let mut out = String::from("x");
                push_digits(&mut out, n, width);
                let want = format!("x{n:0width$}");
                // Widths beyond ten digits are never asked for; up to ten they pad as `format!`.
                if width <= 10 {
                    assert_eq!(out, want, "{n} width {width}");
                } else {
                    assert_eq!(out.trim_start_matches('x').parse::<u32>().unwrap(), n);
                }
            }
        }
    }

    const N: u64 = 200_000;
    /// Relative tolerance on means (1%) and on standard deviations (3%).
    const MEAN_TOL: f64 = 0.01;
    const STD_TOL: f64 = 0.03;
    /// The housing fields in the order of the `housing` schema of `pipelines/main.hf`.
    const HOUSING: [&str; 7] = [
        "Avg_Area_Income",
        "Avg_Area_House_Age",
        "Avg_Area_Number_of_Rooms",
        "Avg_Area_Number_of_Bedrooms",
        "Area_Population",
        "Address",
        "Price",
    ];
    /// Per numeric housing field (same order as `HOUSING` minus Address): the README's mean and std.
    const REAL: [(&str, usize, f64, f64); 6] = [
        ("income", 0, 68_583.1, 10_658.0),
        ("age", 1, 5.9772, 0.9915),
        ("rooms", 2, 6.9878, 1.0058),
        ("bedrooms", 3, 3.9813, 1.2341),
        ("population", 4, 36_163.5, 9_925.7),
        ("price", 6, 1_232_072.7, 353_117.6),
    ];

    fn field(name: &str, ty: FieldType, range: Option<(f64, f64)>) -> Field {
        Field { name: name.into(), ty, optional: false, range }
    }

    fn housing_schema() -> Schema {
        let fields = HOUSING
            .iter()
            .map(|&name| {
                let ty = if name == "Address" { FieldType::Str } else { FieldType::F64 };
                field(name, ty, None)
            })
            .collect();
        Schema { name: "housing".into(), fields }
    }

    /// The 200k-event sample, generated once for all moment tests.
    fn sample() -> &'static [Event] {
        static SAMPLE: OnceLock<Vec<Event>> = OnceLock::new();
        SAMPLE.get_or_init(|| Generator::new(&housing_schema(), 42).unwrap().rows(N as usize))
    }

    fn column(events: &[Event], index: usize) -> Vec<f64> {
        events.iter().map(|e| e.values[index].as_f64().expect("a number")).collect()
    }

    fn mean_std(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    fn correlation(xs: &[f64], ys: &[f64]) -> f64 {
        let ((mx, sx), (my, sy)) = (mean_std(xs), mean_std(ys));
        let cov = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum::<f64>() / xs.len() as f64;
        cov / (sx * sy)
    }

    fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
        let rel = (got - want).abs() / want.abs();
        assert!(rel <= tol, "{what}: {got:.4} vs {want:.4} ({:.2}% off, tolerance {:.0}%)", rel * 100.0, tol * 100.0);
    }

    #[test]
    fn same_seed_same_events_other_seed_differs() {
        let schema = housing_schema();
        let a = Generator::new(&schema, 7).unwrap().rows(500);
        let b = Generator::new(&schema, 7).unwrap().rows(500);
        let c = Generator::new(&schema, 8).unwrap().rows(500);
        assert_eq!(a, b);
        assert!(a.iter().zip(&c).all(|(x, y)| x.values != y.values), "seeds 7 and 8 share an event");
    }

    #[test]
    fn event_i_is_independent_of_generation_order() {
        let generator = Generator::new(&housing_schema(), 3).unwrap();
        let forward: Vec<Event> = generator.events(0..1_000).collect();
        let backward: Vec<Event> = (0..1_000).rev().map(|i| generator.event(i)).collect();
        assert!(forward.iter().eq(backward.iter().rev()));
        let mut shares: Vec<Event> = (0..3).flat_map(|w| generator.share(0..1_000, 3, w)).collect();
        shares.sort_by_key(|e| e.id);
        assert_eq!(forward, shares);
        let ids: Vec<u64> = generator.share(10..20, 4, 1).map(|e| e.id).collect();
        assert_eq!(ids, [13, 17]);
        assert_eq!(generator.share(0..10, 4, 4).count(), 0);
        assert_eq!(generator.event(999), generator.event(999));
    }

    #[test]
    fn ids_and_event_times() {
        let generator = Generator::new(&housing_schema(), 1).unwrap();
        let e = generator.event(12_345);
        assert_eq!((e.id, e.ts_ms), (12_345, EPOCH_MS + 12_345));
        assert_eq!(EPOCH_MS, 1_767_225_600_000, "2026-01-01T00:00:00Z");
    }

    /// Means within 1% and standard deviations within 3% of USA_Housing.csv's (README figures).
    #[test]
    fn moments_over_200k_events_means_1pct_stds_3pct() {
        let events = sample();
        for (name, index, mean, std) in REAL {
            let (m, s) = mean_std(&column(events, index));
            println!("{name:<10} mean {m:>14.4} (real {mean:>14.4})  std {s:>12.4} (real {std:>12.4})");
            assert_close(&format!("{name} mean"), m, mean, MEAN_TOL);
            assert_close(&format!("{name} std"), s, std, STD_TOL);
        }
    }

    /// The rooms–bedrooms correlation within 0.03 of the data set's 0.463.
    #[test]
    fn rooms_bedrooms_correlation_within_0_03() {
        let events = sample();
        let r = correlation(&column(events, 2), &column(events, 3));
        println!("corr(rooms, bedrooms) = {r:.4}");
        assert!((r - 0.463).abs() <= 0.03, "corr(rooms, bedrooms) = {r:.4}");
    }

    /// corr(income, price) within 0.02 of what the OLS fit implies: 21.528·σ_income / σ_price.
    #[test]
    fn income_price_correlation_within_0_02_of_regression() {
        let [c_income, c_age, c_rooms, c_bedrooms, c_population] = PRICE_COEF;
        let (s_bed, r_rb) = (1.2341, 0.463);
        let var = (c_income * INCOME.1).powi(2)
            + (c_age * AGE.1).powi(2)
            + (c_rooms * ROOMS.1).powi(2)
            + (c_bedrooms * s_bed).powi(2)
            + 2.0 * c_rooms * c_bedrooms * r_rb * ROOMS.1 * s_bed
            + (c_population * POPULATION.1).powi(2)
            + PRICE_NOISE.powi(2);
        let implied = c_income * INCOME.1 / var.sqrt();
        let events = sample();
        let r = correlation(&column(events, 0), &column(events, 6));
        println!("corr(income, price) = {r:.4}, implied by the regression {implied:.4}");
        assert!((implied - 0.64).abs() < 0.01, "implied {implied}");
        assert!((r - implied).abs() <= 0.02, "corr(income, price) = {r:.4}, implied {implied:.4}");
    }

    #[test]
    fn bedrooms_in_2_to_6_5_with_exactly_two_decimals() {
        for b in column(sample(), 3) {
            assert!((2.0..=6.5).contains(&b), "bedrooms {b}");
            assert!(((b * 100.0).round() - b * 100.0).abs() < 1e-6, "bedrooms {b} has more than two decimals");
            assert_eq!(format!("{b:.2}").parse::<f64>().unwrap(), b);
        }
    }

    #[test]
    fn all_prices_and_populations_positive() {
        let events = sample();
        assert!(column(events, 6).iter().all(|&p| p > 0.0));
        assert!(column(events, 4).iter().all(|&p| p >= POPULATION_FLOOR));
    }

    #[test]
    fn every_address_has_a_state_code_and_a_zip() {
        let re = regex::Regex::new(r"([A-Z]{2}) [0-9]{5}").unwrap();
        let events = sample();
        let mut multiline = 0;
        for e in events {
            let address = e.values[5].as_str().expect("an address");
            let state = re.captures(address).unwrap_or_else(|| panic!("no state/ZIP in {address:?}"));
            assert!(STATES.contains(&&state[1]), "{address:?}");
            multiline += usize::from(address.contains('\n'));
        }
        assert!(multiline > events.len() / 2 && multiline < events.len(), "both address forms occur");
    }

    #[test]
    fn other_fields_follow_type_and_range() {
        let categories = FieldType::Category(vec!["a".into(), "b".into(), "c".into()]);
        let schema = Schema {
            name: "mixed".into(),
            fields: vec![
                field("x", FieldType::F64, Some((-2.0, 3.0))),
                field("n", FieldType::I64, Some((1.0, 4.0))),
                field("flag", FieldType::Bool, None),
                field("kind", categories, None),
                field("note", FieldType::Str, None),
                field("bedrooms", FieldType::I64, Some((0.0, 50.0))),
            ],
        };
        let events = Generator::new(&schema, 5).unwrap().rows(2_000);
        let (mut trues, mut seen) = (0, std::collections::BTreeSet::new());
        for e in &events {
            let x = e.values[0].as_f64().unwrap();
            let n = e.values[1].as_f64().unwrap();
            assert!((-2.0..=3.0).contains(&x) && (1.0..=4.0).contains(&n) && n.fract() == 0.0, "{e:?}");
            trues += usize::from(e.values[2] == Value::Bool(true));
            seen.insert(e.values[3].as_str().unwrap().to_string());
            assert!(WORDS.contains(&e.values[4].as_str().unwrap()));
            let bedrooms = e.values[5].as_f64().unwrap();
            assert!(bedrooms.fract() == 0.0 && (2.0..=7.0).contains(&bedrooms), "{e:?}");
        }
        assert!((800..1_200).contains(&trues), "{trues} trues of 2000");
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn an_event_written_over_a_spent_one_is_the_fresh_event() {
        let categories = FieldType::Category(vec!["a".into(), "b".into()]);
        let mixed = Schema {
            name: "mixed".into(),
            fields: vec![field("kind", categories, None), field("note", FieldType::Str, None)],
        };
        for schema in [housing_schema(), mixed] {
            let generator = Generator::new(&schema, 9).unwrap();
            let mut spent = generator.event(3);
            for (k, index) in [10u64, 0, 77, 5_000_001, 2].into_iter().enumerate() {
                // Whatever happened to it on the way: a value blanked, one too many.
                match k % 3 {
                    0 => spent.values[0] = Value::Missing,
                    1 => spent.values.push(Value::Text("left over".into())),
                    _ => spent.values.clear(),
                }
                generator.event_into(index, &mut spent);
                assert_eq!(spent, generator.event(index), "{} event {index}", schema.name);
            }
        }
    }

    #[test]
    fn declared_ranges_clamp_housing_values() {
        let schema =
            Schema { name: "s".into(), fields: vec![field("income", FieldType::F64, Some((60_000.0, 70_000.0)))] };
        for e in Generator::new(&schema, 2).unwrap().rows(1_000) {
            assert!((60_000.0..=70_000.0).contains(&e.values[0].as_f64().unwrap()));
        }
    }

    #[test]
    fn a_housing_field_of_the_wrong_type_is_an_error() {
        let schema = Schema { name: "s".into(), fields: vec![field("Address", FieldType::F64, None)] };
        let err = Generator::new(&schema, 1).unwrap_err();
        assert!(err.contains("Address") && err.contains("str"), "{err}");
        let schema = Schema { name: "s".into(), fields: vec![field("Price", FieldType::Bool, None)] };
        assert!(Generator::new(&schema, 1).is_err());
    }

    #[test]
    fn the_main_pipeline_schema_generates_in_range_events() {
        let checked = crate::check::check_file(Path::new("pipelines/main.hf")).unwrap();
        let program = checked.program.expect("main.hf checks");
        let schema = program.schema("housing").unwrap();
        for e in Generator::new(schema, 42).unwrap().rows(2_000) {
            for (value, field) in e.values.iter().zip(&schema.fields) {
                if let (Some(x), Some((lo, hi))) = (value.as_f64(), field.range) {
                    assert!((lo..=hi).contains(&x), "{} = {x}", field.name);
                }
            }
        }
    }

    /// When ../shared/data/USA_Housing.csv is present: the generator's means within 1% and stds
    /// within 3% of the file's own.
    #[test]
    fn moments_match_the_real_file_when_present() {
        let checked = crate::check::check_file(Path::new("pipelines/usa_housing_csv.hf")).unwrap();
        let program = checked.program.expect("usa_housing_csv.hf checks");
        let source = program.source("usa").unwrap();
        let crate::program::SourceKind::Csv { path, columns, delimiter, .. } = &source.kind else {
            panic!("usa is a CSV source")
        };
        if !Path::new(path).exists() {
            println!("skipped: {path} is absent");
            return;
        }
        let schema = program.schema("housing").unwrap();
        let real = crate::data::csv_source::read_csv(Path::new(path), schema, columns, *delimiter).unwrap();
        assert!(real.rejected.is_empty());
        let generated = sample();
        for (name, index, _, _) in REAL {
            let (rm, rs) = mean_std(&column(&real.events, index));
            let (gm, gs) = mean_std(&column(generated, index));
            println!("{name:<10} generated {gm:>14.4} ± {gs:>12.4}   file {rm:>14.4} ± {rs:>12.4}");
            assert_close(&format!("{name} mean vs file"), gm, rm, MEAN_TOL);
            assert_close(&format!("{name} std vs file"), gs, rs, STD_TOL);
        }
        let r = correlation(&column(&real.events, 2), &column(&real.events, 3));
        assert!((r - 0.463).abs() < 0.001, "the file's corr(rooms, bedrooms) = {r}");
    }
}
