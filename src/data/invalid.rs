//! Why an event or a row was rejected: a typed reason with the field at fault, the same for
//! every reader (CSV, JSON over HTTP) and the validator, from which the dead-letter record and
//! its metrics label are derived.

use std::fmt;

/// Why an event was rejected, and the field at fault (`None` for the event as a whole).
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    /// The schema field at fault.
    pub field: Option<String>,
    /// What is wrong with it.
    pub reason: InvalidReason,
}

/// What is wrong with an event or one of its fields.
#[derive(Clone, Debug, PartialEq)]
pub enum InvalidReason {
    /// A required field has no value.
    Missing,
    /// The value is not of the field's type.
    WrongType { expected: &'static str, found: String },
    /// NaN or ±infinity, which no model or drift statistic can use.
    NotFinite { value: f64 },
    /// Outside the field's inclusive range (or, for an i64 field, outside i64).
    OutOfRange { value: f64, lo: f64, hi: f64 },
    /// An i64 field holds a fractional number.
    NotInteger { value: f64 },
    /// A category field holds a value the schema does not declare.
    UnknownCategory { value: String },
    /// The event has a different number of values than the schema has fields.
    WrongArity { expected: usize, found: usize },
    /// The input could not be parsed at all (e.g. malformed JSON).
    Malformed { message: String },
    /// The model failed on the event's batch.
    Model { message: String },
}

impl InvalidReason {
    /// Every [`InvalidReason::kind`], so metrics can expose each label from the start.
    pub const KINDS: [&'static str; 9] = [
        "missing",
        "wrong_type",
        "not_finite",
        "out_of_range",
        "not_integer",
        "unknown_category",
        "wrong_arity",
        "malformed",
        "model_error",
    ];

    /// A stable snake_case name, used as the dead letter's `reason` and as a metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            InvalidReason::Missing => "missing",
            InvalidReason::WrongType { .. } => "wrong_type",
            InvalidReason::NotFinite { .. } => "not_finite",
            InvalidReason::OutOfRange { .. } => "out_of_range",
            InvalidReason::NotInteger { .. } => "not_integer",
            InvalidReason::UnknownCategory { .. } => "unknown_category",
            InvalidReason::WrongArity { .. } => "wrong_arity",
            InvalidReason::Malformed { .. } => "malformed",
            InvalidReason::Model { .. } => "model_error",
        }
    }
}

impl Invalid {
    /// A problem with the event as a whole.
    pub fn event(reason: InvalidReason) -> Self {
        Invalid { field: None, reason }
    }

    /// A problem with field `name`.
    pub fn field(name: &str, reason: InvalidReason) -> Self {
        Invalid { field: Some(name.to_string()), reason }
    }

    /// Input that could not be parsed into an event at all.
    pub fn malformed(message: impl Into<String>) -> Self {
        Invalid::event(InvalidReason::Malformed { message: message.into() })
    }

    /// An event the model could not predict.
    pub fn model_error(message: impl Into<String>) -> Self {
        Invalid::event(InvalidReason::Model { message: message.into() })
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(name) => write!(f, "field `{name}`: {}", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

impl std::error::Error for Invalid {}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidReason::Missing => write!(f, "missing, but the field is required"),
            InvalidReason::WrongType { expected, found } => write!(f, "expected {expected}, found {found}"),
            InvalidReason::NotFinite { value } => write!(f, "{} is not a finite number", Number(*value)),
            InvalidReason::OutOfRange { value, lo, hi } => {
                write!(f, "{} is outside {} .. {}", Number(*value), Number(*lo), Number(*hi))
            }
            InvalidReason::NotInteger { value } => write!(f, "{} is not a whole number", Number(*value)),
            InvalidReason::UnknownCategory { value } => {
                write!(f, "{:?} is not one of the schema's categories", Excerpt(value))
            }
            InvalidReason::WrongArity { expected, found } => {
                write!(f, "expected {expected} values, one per schema field, found {found}")
            }
            InvalidReason::Malformed { message } => write!(f, "malformed input: {message}"),
            InvalidReason::Model { message } => write!(f, "the model could not predict: {message}"),
        }
    }
}

/// A number as people write it: plain in the everyday range, exponent beyond (`1e12`).
pub(crate) struct Number(pub f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        let magnitude = x.abs();
        if x.is_finite() && x != 0.0 && !(1e-4..1e9).contains(&magnitude) {
            write!(f, "{x:e}")
        } else {
            write!(f, "{x}")
        }
    }
}

/// At most the first 60 characters of a string, so one huge value cannot flood a message.
pub(crate) struct Excerpt<'a>(pub &'a str);

impl fmt::Debug for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 60;
        match self.0.char_indices().nth(MAX) {
            Some((cut, _)) => write!(f, "{:?}…", &self.0[..cut]),
            None => write!(f, "{:?}", self.0),
        }
    }
}
