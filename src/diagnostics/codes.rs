//! The registry of diagnostic codes. Codes are stable: never reuse or renumber one;
//! retire a code by leaving its line here with a comment.

use serde::Serialize;

macro_rules! codes {
    ($($name:ident = $code:literal, $summary:literal;)*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum Code { $($name,)* }

        impl Code {
            /// The printed code, e.g. `E0201`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => $code,)* }
            }

            /// One line on what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$name => $summary,)* }
            }

            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];
        }
    };
}

codes! {
    // E00xx: files
    UnreadableFile     = "E0001", "a file could not be read";
    UseCycle           = "E0002", "`use` files form a cycle";
    // E01xx: syntax
    Syntax             = "E0101", "the text does not follow the grammar";
    BadNumber          = "E0102", "a number cannot be read";
    UnknownUnit        = "E0103", "a number carries a suffix that is no unit";
    // E02xx: names
    UnknownName        = "E0201", "a name is not declared";
    DuplicateName      = "E0202", "a name is declared twice";
    UnknownField       = "E0203", "a schema has no such field";
    UnknownFunction    = "E0204", "no such function";
    WrongKind          = "E0205", "a name refers to the wrong kind of declaration";
    UnknownProperty    = "E0206", "a body or call has no such key";
    MissingProperty    = "E0207", "a required key or argument is missing";
    DuplicateProperty  = "E0208", "a key or argument is given twice";
    AmbiguousSchema    = "E0209", "the schema of a source cannot be inferred";
    // E03xx: types and units
    TypeMismatch       = "E0301", "a value has the wrong type";
    UnitMismatch       = "E0302", "a value has the wrong unit";
    OutOfRange         = "E0303", "a value is outside what is allowed";
    WrongArity         = "E0304", "a function gets the wrong number of arguments";
    UnknownType        = "E0305", "a schema field has an unknown type";
    BadRegex           = "E0306", "a pattern is not a valid regular expression";
    StringFeature      = "E0307", "a feature yields text, which a model cannot use";
    // E04xx: structure
    MissingDecl        = "E0401", "a required declaration is missing";
    Conflict           = "E0402", "two declarations contradict each other";
    BadTarget          = "E0403", "a drift target is not something the pipeline computes";
    UnknownAction      = "E0404", "an action is not one the engine knows";
    UnknownPersona     = "E0405", "a bidder persona is not one the auction engine knows";
    BadStatement       = "E0406", "a statement is missing or repeated";
    // E05xx: what `run` can do
    NotAvailable       = "E0501", "the language accepts it, but this build cannot run it yet";
    // W0xxx: warnings (the file still checks)
    UnmeasuredMetric   = "W0501", "a condition reads a metric that `run` does not measure; it is unknown there and never fires";
    UnusedSetting      = "W0502", "a setting has no effect under what else the declaration says";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "code {s} is used twice");
            assert!(
                s.len() == 5
                    && (s.starts_with('E') || s.starts_with('W'))
                    && s[1..].chars().all(|c| c.is_ascii_digit())
            );
            assert!(!code.summary().is_empty());
        }
    }
}
