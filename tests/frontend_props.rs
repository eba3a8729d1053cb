//! The front end never panics: arbitrary text, random mutations of the example
//! files, and the examples themselves go through parsing, checking, rendering
//! diagnostics, lowering and explaining. Every diagnostic span stays inside its file
//! and on character boundaries.

use housing_flow::check::{check_source, check_with, normalize, Checked, MemoryFiles};
use housing_flow::diagnostics::render_all;
use housing_flow::plan::{explain, lower, Plan};
use housing_flow::syntax::parse_module;
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::Path;

const MAIN: (&str, &str) = ("pipelines/main.hf", include_str!("../pipelines/main.hf"));
const KAGGLE: (&str, &str) = ("pipelines/kaggle_housing.hf", include_str!("../pipelines/kaggle_housing.hf"));
const BURST: (&str, &str) = ("scenarios/burst_then_drift.hf", include_str!("../scenarios/burst_then_drift.hf"));

/// Every example file, by path relative to the crate root.
const EXAMPLES: &[(&str, &str)] = &[
    MAIN,
    KAGGLE,
    ("pipelines/kafka.hf", include_str!("../pipelines/kafka.hf")),
    ("pipelines/usa_housing_csv.hf", include_str!("../pipelines/usa_housing_csv.hf")),
    BURST,
    ("scenarios/open_house.hf", include_str!("../scenarios/open_house.hf")),
    ("scenarios/rollback_on_drift.hf", include_str!("../scenarios/rollback_on_drift.hf")),
    ("scenarios/sealed_bids.hf", include_str!("../scenarios/sealed_bids.hf")),
    ("scenarios/steady_soak.hf", include_str!("../scenarios/steady_soak.hf")),
];

/// Checks `text` as the file `name`; the other example files are there for `use`.
fn check_as(name: &str, text: &str) -> Checked {
    let mut files = MemoryFiles::default();
    for (path, body) in EXAMPLES {
        files.0.insert(normalize(Path::new(path)), body.to_string());
    }
    files.0.insert(normalize(Path::new(name)), text.to_string());
    check_with(&files, Path::new(name)).expect("the entry is in memory")
}

/// Asserts that every span names a file of the map, lies inside it and on character
/// boundaries; renders the diagnostics; lowers and explains the program, if any.
fn exercise(c: &Checked) {
    for d in c.diagnostics.iter().chain(&c.unavailable) {
        let spans = std::iter::once(&d.span).chain(d.secondary.iter().map(|(s, _)| s));
        for s in spans {
            assert!(s.file < c.map.len(), "span {s:?} names no file (diagnostic {d:?})");
            let text = &c.map.get(s.file).text;
            assert!(s.start <= s.end && s.end <= text.len(), "span {s:?} out of bounds (len {}): {d:?}", text.len());
            assert!(
                text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
                "span {s:?} not on char boundaries: {d:?}"
            );
        }
    }
    // Every diagnostic is rendered with its code and message, one header each.
    let text = render_all(&c.map, &c.diagnostics, false);
    for d in &c.diagnostics {
        let kind = if d.is_error() { "error" } else { "warning" };
        let header = format!("{kind}[{}]: {}", d.code.as_str(), d.message);
        assert!(text.contains(&header), "`{header}` is missing from the rendering:\n{text}");
    }
    let headers = text.lines().filter(|l| l.starts_with("error[") || l.starts_with("warning[")).count();
    assert_eq!(headers, c.diagnostics.len(), "{text}");
    assert_eq!(c.program.is_some(), !c.diagnostics.iter().any(|d| d.is_error()), "{text}");
    if let Some(program) = &c.program {
        let plan = lower(program, 2);
        let _ = explain(&plan);
        assert_round_trips(&plan);
    }
}

/// The plan serializes to JSON and reads back to a plan that serializes the same.
fn assert_round_trips(plan: &Plan) {
    let json = serde_json::to_string(plan).expect("a plan serializes");
    let back: Plan = serde_json::from_str(&json).unwrap_or_else(|e| {
        let at = e.column().saturating_sub(1);
        let near = json.get(at.saturating_sub(120)..(at + 40).min(json.len())).unwrap_or("");
        panic!("the plan's JSON does not read back: {e}, near `{near}`")
    });
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}

fn exercise_text(text: &str) {
    exercise(&check_source("fuzz.hf", text));
    // The parser alone, with a non-zero file id.
    let (_, diags) = parse_module(text, 3);
    for d in diags {
        assert!(d.span.file == 3 && d.span.start <= d.span.end && d.span.end <= text.len());
        assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
    }
}

/// Punctuation, units and words of the language besides the declaration keywords, plus a few
/// awkward characters.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    ",",
    "=",
    "==",
    "!=",
    "=>",
    "->",
    "..",
    ".",
    "?",
    "%",
    "/s",
    "/m",
    "/h",
    "ms",
    "s",
    "m",
    "h",
    "k",
    "M",
    "10k",
    "20k/s",
    "1e309",
    "1e-400",
    "0",
    "0.5",
    "1_000",
    "999999999999999999999",
    "-1",
    "+",
    "-",
    "*",
    "/",
    "<",
    ">",
    "<=",
    ">=",
    "!",
    "&&",
    "||",
    "\"",
    "\"x\"",
    "\"\\",
    "\\",
    "#",
    "# c\n",
    "\n",
    "\r\n",
    "\t",
    " ",
    "from",
    "in",
    "on",
    "window",
    "windows",
    "events",
    "for",
    "when",
    "then",
    "at",
    "duration",
    "seed",
    "traffic",
    "fault",
    "expect",
    "report",
    "detected",
    "within",
    "of",
    "not",
    "listings",
    "bidders",
    "x",
    "rule",
    "bias",
    "by",
    "category",
    "true",
    "false",
    "and",
    "or",
    "f64",
    "i64",
    "str",
    "bool",
    "generate",
    "csv",
    "kafka",
    "memory",
    "file",
    "http",
    "lightgbm",
    "psi",
    "ks",
    "alert",
    "rollback",
    "sliding",
    "tumbling",
    "p99",
    "latency",
    "prediction",
    "dead_letters",
    "housing",
    "raw",
    "price",
    "é",
    "→",
    "\u{0}",
    "\u{feff}",
    "😀",
];

fn token() -> impl Strategy<Value = &'static str> {
    let all: Vec<&'static str> = housing_flow::syntax::DECL_KEYWORDS.iter().chain(TOKENS).copied().collect();
    prop::sample::select(all)
}

/// One edit of a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    Delete {
        at: Index,
        len: usize,
    },
    Duplicate {
        at: Index,
        len: usize,
    },
    Insert {
        at: Index,
        tokens: Vec<&'static str>,
    },
    Swap {
        cuts: [Index; 4],
    },
    Truncate {
        at: Index,
    },
    /// Replaces one number literal, keeping its unit: reaches the checker's value rules.
    Number {
        which: Index,
        with: &'static str,
    },
}

/// Numbers at the edges: huge, tiny, zero, negative, not whole, not finite when folded.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "0.5",
    "-0.5",
    "0.0001",
    "1e308",
    "1e308k",
    "1e308M",
    "9e15",
    "1e16",
    "1e300 * 1e300",
    "0/0",
    "1/0",
    "-1/0",
    "1e-400",
    "99999999999999999999",
    "18446744073709551615",
    "4294967296",
    "65536",
    "65535",
    "1_000_000_000_000",
    "100",
    "101",
    "1000",
    "1e3",
    "3.5",
    "(0)",
    "-(1)",
    "2 * 0.5",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<Index>(), 0usize..64).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        4 => (any::<Index>(), prop::collection::vec(token(), 1..4)).prop_map(|(at, tokens)| Mutation::Insert { at, tokens }),
        2 => any::<[Index; 4]>().prop_map(|cuts| Mutation::Swap { cuts }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        3 => number_edit(),
    ]
}

fn number_edit() -> impl Strategy<Value = Mutation> {
    (any::<Index>(), prop::sample::select(NUMBERS)).prop_map(|(which, with)| Mutation::Number { which, with })
}

/// Byte ranges of the digits (with `_`, `.` and exponent) of each number literal.
fn number_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !ident(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_' || bytes[i] == b'.') {
                // `0 .. 100`: stop before a range.
                if bytes[i] == b'.' && bytes.get(i + 1) == Some(&b'.') {
                    break;
                }
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    let pos = |i: &Index| i.index(n + 1);
    match m {
        Mutation::Delete { at, len } => {
            let a = pos(at);
            bytes.drain(a..(a + len).min(n));
        }
        Mutation::Duplicate { at, len } => {
            let a = pos(at);
            let copy = bytes[a..(a + len).min(n)].to_vec();
            bytes.splice(a..a, copy);
        }
        Mutation::Insert { at, tokens } => {
            let a = pos(at);
            bytes.splice(a..a, tokens.concat().into_bytes());
        }
        Mutation::Swap { cuts } => {
            let mut p = cuts.each_ref().map(pos);
            p.sort_unstable();
            let [a, b, c, d] = p;
            let mut out = bytes[..a].to_vec();
            out.extend_from_slice(&bytes[c..d]);
            out.extend_from_slice(&bytes[b..c]);
            out.extend_from_slice(&bytes[a..b]);
            out.extend_from_slice(&bytes[d..]);
            *bytes = out;
        }
        Mutation::Truncate { at } => bytes.truncate(pos(at)),
        Mutation::Number { which, with } => {
            let numbers = number_ranges(bytes);
            if !numbers.is_empty() {
                let (a, b) = numbers[which.index(numbers.len())];
                bytes.splice(a..b, with.bytes());
            }
        }
    }
}

fn mutated(original: &str, edits: &[Mutation]) -> String {
    let mut bytes = original.as_bytes().to_vec();
    for m in edits {
        apply(&mut bytes, m);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_mutation((name, text): (&str, &str), edits: &[Mutation]) {
    let text = mutated(text, edits);
    exercise(&check_as(name, &text));
}

/// Strings over the language's characters and words.
const LANGUAGE_REGEX: &str = "(schema|source|features|model|drift|sink|serve|slo|guardrail|scenario|auction|use|\
from|in|on|window|windows|events|for|when|then|at|of|within|detected|not|x|by|category|true|false|\
[a-zA-Z_][a-zA-Z0-9_]{0,5}|[0-9][0-9_]{0,4}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?|[kM%]|ms|/s|/m|/h|\
[{}()\\[\\]:,=<>!?%/.*+-]|=>|->|\\.\\.|==|&&|\\|\\||\"[^\"\\n]{0,6}\"?|\\\\|#[^\\n]{0,5}|\n| |\t|é|→){0,80}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn language_like_strings_never_panic(text in LANGUAGE_REGEX) {
        exercise_text(&text);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..120)) {
        exercise_text(&tokens.join(" "));
        exercise_text(&tokens.concat());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_main_never_panics(edits in prop::collection::vec(mutation(), 1..6)) {
        check_mutation(MAIN, &edits);
    }

    #[test]
    fn mutated_kaggle_never_panics(edits in prop::collection::vec(mutation(), 1..6)) {
        check_mutation(KAGGLE, &edits);
    }

    #[test]
    fn mutated_scenario_never_panics(edits in prop::collection::vec(mutation(), 1..6)) {
        check_mutation(BURST, &edits);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Only numbers change, so most programs still parse and many still check and lower.
    #[test]
    fn edge_numbers_never_panic(which in 0..EXAMPLES.len(), edits in prop::collection::vec(number_edit(), 1..4)) {
        check_mutation(EXAMPLES[which], &edits);
    }
}

fn plan_of(name: &str, text: &str, workers: usize) -> Plan {
    let c = check_as(name, text);
    assert!(c.diagnostics.is_empty(), "{name}:\n{}", render_all(&c.map, &c.diagnostics, false));
    lower(c.program.as_ref().expect("a clean check has a program"), workers)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn examples_check_clean_and_plans_round_trip(which in 0..EXAMPLES.len(), workers in 1usize..16) {
        let (name, text) = EXAMPLES[which];
        let plan = plan_of(name, text, workers);
        assert_round_trips(&plan);
        prop_assert!(!explain(&plan).is_empty());
    }
}

#[test]
fn pipelines_check_clean_on_their_own() {
    for (name, text) in [MAIN, KAGGLE] {
        let c = check_source(name, text);
        assert!(c.diagnostics.is_empty(), "{name}:\n{}", render_all(&c.map, &c.diagnostics, false));
        let plan = lower(c.program.as_ref().unwrap(), 4);
        let json = serde_json::to_string_pretty(&plan).unwrap();
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
    }
}

// Inputs the properties above once failed on.

/// `Event::Fault` wraps `Fault`; both were tagged `kind`, so the JSON held `kind` twice.
#[test]
fn fault_events_round_trip_through_json() {
    for (name, text) in [
        BURST,
        ("scenarios/rollback_on_drift.hf", include_str!("../scenarios/rollback_on_drift.hf")),
        ("scenarios/concept_drift.hf", include_str!("../scenarios/concept_drift.hf")),
        ("scenarios/overload_shed.hf", include_str!("../scenarios/overload_shed.hf")),
    ] {
        assert_round_trips(&plan_of(name, text, 1));
    }
}

/// Constants that overflow to infinity (or fold to NaN) are errors, not `null` in the plan.
#[test]
fn non_finite_numbers_are_reported() {
    let cases = [
        ("constant(20k/s)", "constant(1e308k/s)"),
        ("5000/s", "1e308M/s"),
        ("scale(1.15)", "scale(1e300 * 1e300)"),
        ("scale(1.15)", "scale(0/0)"),
        ("scale(1.15)", "scale(1e308k)"),
        ("lost_events == 0", "lost_events == 1/0"),
        ("< 100ms", "< 1e308h"),
        ("< 100ms", "< -1e300 * 1e300 ms"),
    ];
    for (from, to) in cases {
        let text = BURST.1.replacen(from, to, 1);
        assert_ne!(text, BURST.1, "{from}");
        let c = check_as(BURST.0, &text);
        exercise(&c);
        assert!(c.program.is_none() && !c.diagnostics.is_empty(), "`{to}` was accepted");
    }
    for text in [
        "source s = generate(h, rate: 1e308k/s)".to_string(),
        format!("{}\nslo p99(latency) < 1e308M ms\n", MAIN.1),
        MAIN.1.replacen("max(Avg_Area_Number_of_Bedrooms, 1)", "max(Avg_Area_Number_of_Bedrooms, 1e308k)", 1),
    ] {
        let c = check_source("t.hf", &text);
        exercise(&c);
        assert!(c.program.is_none() && !c.diagnostics.is_empty(), "accepted:\n{text}");
    }
}

/// A latency quantile with more digits than an f64 holds.
#[test]
fn very_long_quantiles_do_not_reach_the_plan_as_nan() {
    let text = format!("{}\nslo p{}(latency) < 50ms\n", MAIN.1, "9".repeat(400));
    let c = check_source("t.hf", &text);
    exercise(&c);
    let slos = &c.program.expect("checks clean").slos;
    assert!(slos.iter().all(|s| !s.to_string().contains("NaN")), "{slos:?}");
}

proptest! {
    /// Plans and model metadata carry f64s through JSON; every finite one must read back bit for
    /// bit (serde_json's `float_roundtrip`; without it 1e21 came back as 9.999999999999999e20).
    #[test]
    fn finite_f64s_round_trip_through_json(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
        prop_assert_eq!(back.to_bits(), x.to_bits());
    }
}

#[test]
fn one_e21_round_trips_through_json() {
    let back: f64 = serde_json::from_str(&serde_json::to_string(&1e21f64).unwrap()).unwrap();
    assert_eq!(back, 1e21);
}
