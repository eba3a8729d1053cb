//! Numbers with magnitudes and units, and string escapes.

use super::Rule;
use crate::ast::Unit;
use pest::iterators::Pair;

/// A `quantity` pair → value with `k`/`M` applied, and the unit as written.
/// Returns `Err` with a message when the digits cannot be read.
pub(super) fn quantity(pair: Pair<'_, Rule>) -> Result<(f64, Unit), String> {
    let mut value = 0.0;
    let mut unit = Unit::None;
    let written = pair.as_str();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::number => {
                let digits: String = p.as_str().chars().filter(|c| *c != '_').collect();
                value = digits.parse::<f64>().map_err(|e| format!("cannot read `{}`: {e}", p.as_str()))?;
                if !value.is_finite() {
                    return Err(format!("`{}` is too large", p.as_str()));
                }
            }
            Rule::magnitude => {
                value *= if p.as_str() == "k" { 1e3 } else { 1e6 };
                if !value.is_finite() {
                    return Err(format!("`{written}` is too large"));
                }
            }
            Rule::unit => {
                unit = match p.as_str() {
                    "ms" => Unit::Millis,
                    "s" => Unit::Seconds,
                    "m" => Unit::Minutes,
                    "h" => Unit::Hours,
                    "/s" => Unit::PerSecond,
                    "/m" => Unit::PerMinute,
                    "/h" => Unit::PerHour,
                    "%" => Unit::Percent,
                    "B" => Unit::Bytes,
                    bytes @ ("kB" | "MB" | "GB") => {
                        value *= match bytes {
                            "kB" => 1e3,
                            "MB" => 1e6,
                            _ => 1e9,
                        };
                        Unit::Bytes
                    }
                    other => unreachable!("the grammar admits no unit `{other}`"),
                }
            }
            Rule::bad_unit => unit = Unit::Unknown(p.as_str().to_string()),
            other => unreachable!("quantity holds no {other:?}"),
        }
    }
    Ok((value, unit))
}

/// The body of a string literal with `\"`, `\\`, `\n`, `\t` replaced. Other backslashes
/// are kept as written, so regular expressions read naturally: `"\d{5}"`.
pub(super) fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}
