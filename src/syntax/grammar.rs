//! The pest parser generated from `dsl/housing_flow.pest`.

use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../dsl/housing_flow.pest"]
pub struct HfParser;
