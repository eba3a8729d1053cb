//! `extract` patterns of a fixed width, matched in one pass without the regex engine.
//!
//! A pattern that is a sequence of ASCII byte classes and literals, with exact repetition counts
//! and capture groups but no alternation, optional part or assertion (`([A-Z]{2}) [0-9]{5}`)
//! matches only strings of one width. Its leftmost match is then the first place where every
//! class holds, found by the shift-and algorithm: one table lookup, shift and `and` per byte.
//! The regex engine searches forwards for the end, backwards for the start, then again for the
//! groups: several times slower on the short fields `extract` reads (a generated address:
//! ~130 ns against ~25 ns, `cargo bench --bench frontend -- extract`). Any other pattern is left
//! to the regex engine; a property test checks both give the same span.

use regex_syntax::hir::{Class, Hir, HirKind};
use std::ops::Range;

/// A fixed-width pattern compiled for the shift-and scan.
#[derive(Clone, Debug)]
pub struct FixedWidth {
    /// For each byte, the positions of the pattern whose class holds it (bit `j`: position `j`).
    table: Box<[u64; 256]>,
    /// The pattern's width in bytes (1..=64).
    width: usize,
    /// Where group 1 lies in a match, if the pattern has one; else the whole match is taken.
    group: Option<Range<usize>>,
}

/// One position of a pattern: the bytes it accepts.
type ByteSet = [bool; 128];

impl FixedWidth {
    /// The pattern compiled for the scan, or `None` when it is not a fixed-width sequence of
    /// ASCII classes (or does not parse: the regex engine reports that).
    pub fn new(pattern: &str) -> Option<FixedWidth> {
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let mut positions = Vec::new();
        let mut group = None;
        flatten(&hir, &mut positions, &mut group)?;
        let width = positions.len();
        if width == 0 || width > 64 {
            return None;
        }
        let mut table = Box::new([0u64; 256]);
        for (j, set) in positions.iter().enumerate() {
            for (byte, &held) in set.iter().enumerate() {
                if held {
                    table[byte] |= 1 << j;
                }
            }
        }
        Some(FixedWidth { table, width, group })
    }

    /// The span of group 1 (or of the whole match, without a group) in the leftmost match.
    pub fn find(&self, text: &str) -> Option<Range<usize>> {
        let last = 1u64 << (self.width - 1);
        let mut state = 0u64;
        for (i, &byte) in text.as_bytes().iter().enumerate() {
            state = ((state << 1) | 1) & self.table[byte as usize];
            if state & last != 0 {
                let start = i + 1 - self.width;
                return Some(match &self.group {
                    Some(g) => start + g.start..start + g.end,
                    None => start..i + 1,
                });
            }
        }
        None
    }
}

/// Appends the positions `hir` matches to `positions`, noting where group 1 lies; `None`
/// when `hir` is not a fixed-width sequence of ASCII classes.
fn flatten(hir: &Hir, positions: &mut Vec<ByteSet>, group: &mut Option<Range<usize>>) -> Option<()> {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(literal) => {
            for &byte in literal.0.iter() {
                let mut set = [false; 128];
                *set.get_mut(usize::from(byte))? = true;
                positions.push(set);
            }
        }
        HirKind::Class(class) => {
            let mut set = [false; 128];
            let ranges: Vec<(u32, u32)> = match class {
                Class::Unicode(c) => c.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)).collect(),
                Class::Bytes(c) => c.ranges().iter().map(|r| (u32::from(r.start()), u32::from(r.end()))).collect(),
            };
            for (start, end) in ranges {
                if end >= 128 {
                    return None;
                }
                set[start as usize..=end as usize].iter_mut().for_each(|b| *b = true);
            }
            positions.push(set);
        }
        HirKind::Repetition(rep) => {
            if rep.max != Some(rep.min) {
                return None;
            }
            let start = positions.len();
            let mut inner_group = None;
            flatten(&rep.sub, positions, &mut inner_group)?;
            // A group inside a repetition reports its last copy, which the scan would have to
            // place; leave such patterns to the regex engine.
            if inner_group.is_some() && rep.min != 1 {
                return None;
            }
            if group.is_none() {
                *group = inner_group;
            }
            let copy: Vec<ByteSet> = positions[start..].to_vec();
            for _ in 1..rep.min {
                positions.extend_from_slice(&copy);
            }
            if rep.min == 0 {
                positions.truncate(start);
            }
        }
        HirKind::Capture(capture) => {
            let start = positions.len();
            flatten(&capture.sub, positions, group)?;
            if capture.index == 1 {
                *group = Some(start..positions.len());
            }
        }
        HirKind::Concat(parts) => {
            for part in parts {
                flatten(part, positions, group)?;
            }
        }
        HirKind::Look(_) | HirKind::Alternation(_) => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `extract` took before: group 1 of the leftmost match, or the match itself.
    fn by_regex(pattern: &str, text: &str) -> Option<Range<usize>> {
        let re = regex::Regex::new(pattern).unwrap();
        let captures = re.captures(text)?;
        captures.get(1).or_else(|| captures.get(0)).map(|m| m.range())
    }

    #[test]
    fn the_shipped_pattern_takes_the_state() {
        let fw = FixedWidth::new("([A-Z]{2}) [0-9]{5}").unwrap();
        let text = "123 Main St, Austin, TX 78701";
        assert_eq!(fw.find(text).map(|r| &text[r]), Some("TX"));
        assert_eq!(fw.find("PO Box 1, MA 0210"), None);
        assert_eq!(fw.find("ééé NY 10001"), Some(7..9));
    }

    #[test]
    fn patterns_of_other_shapes_are_left_to_the_regex_engine() {
        for pattern in [
            "[0-9]+",
            "ab|c",
            "^[A-Z]{2}",
            r"\bTX",
            r"\d{5}",
            "(?i)k",
            "é",
            "[A-Z]{2,3}",
            "x?",
            "",
            "(ab){2}",
            "[",
            &"a".repeat(65),
        ] {
            assert!(FixedWidth::new(pattern).is_none(), "{pattern}");
        }
        for pattern in ["(?-u:[0-9]){5}", "(?i)a", "[A-Z]{2}", "(?:ab){2}", "x{0}y", &"a".repeat(64)] {
            assert!(FixedWidth::new(pattern).is_some(), "{pattern}");
        }
    }

    /// Fixed-width patterns from literals, classes and exact repetitions, some with groups.
    fn pattern() -> impl Strategy<Value = String> {
        let atom = prop_oneof![
            "[a-cA-C0-2 ,]".prop_map(|c| regex::escape(&c)),
            Just("[A-Z]".to_string()),
            Just("[0-9]".to_string()),
            Just("[a-c ]".to_string()),
            Just("[^a-z]".to_string()),
            Just(".".to_string()),
        ];
        let piece = (atom, 0usize..4, any::<bool>()).prop_map(|(a, n, exact)| match (n, exact) {
            (1, _) => a,
            (n, true) => format!("{a}{{{n}}}"),
            (n, false) => format!("(?:{a}){{{n},{n}}}"),
        });
        (prop::collection::vec(piece, 1..5), prop::option::of((0usize..4, 0usize..4)), any::<bool>()).prop_map(
            |(pieces, groups, ascii_dot)| {
                let mut pieces = pieces;
                if let Some((a, b)) = groups {
                    let (a, b) = (a.min(pieces.len() - 1), b.min(pieces.len() - 1));
                    let (a, b) = (a.min(b), a.max(b));
                    pieces[a] = format!("({}", pieces[a]);
                    pieces[b] = format!("{})", pieces[b]);
                }
                let joined = pieces.concat();
                if ascii_dot {
                    format!("(?-u){joined}")
                } else {
                    joined
                }
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_scan_finds_what_the_regex_engine_finds(pattern in pattern(), text in "[a-dA-D0-3 ,é\\n]{0,24}") {
            // `.` without `(?-u)` takes any character, several bytes for `é`: not fixed width.
            if let Some(fw) = FixedWidth::new(&pattern) {
                prop_assert_eq!(fw.find(&text), by_regex(&pattern, &text), "pattern {}", pattern);
            }
        }
    }
}
