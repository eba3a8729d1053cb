//! Feature evaluation: a `features` block compiled once into closures that turn an
//! event into a feature vector. Training, streaming and HTTP all use this one form.

mod categories;
mod compile;
pub mod fixed_width;

pub use categories::CategoryMaps;
pub use compile::{Cell, CompiledFeatures};

#[cfg(test)]
mod tests;
