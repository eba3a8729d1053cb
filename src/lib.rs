//! housing-flow: a real-time ML system for housing prices whose pipelines, drift windows,
//! stress scenarios and auctions are declared in a small language and compiled to
//! timely/differential dataflow.
//!
//! Stages (see ARCHITECTURE.md): source text → [`syntax`] (pest) → [`ast`] → [`check`] →
//! [`program`] (checked, typed) → [`plan`] (serde, what `explain` prints) → dataflow.

pub mod ast;
pub mod auction;
pub mod check;
pub mod data;
pub mod diagnostics;
pub mod draws;
pub mod drift;
pub mod engine;
pub mod features;
pub mod kafka;
pub mod model;
pub mod plan;
pub mod program;
pub mod registry;
pub mod routes;
pub mod scenario;
pub mod serve;
pub mod svg;
pub mod syntax;
