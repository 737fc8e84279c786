//! The record JSON of `produce` and `consume`: the codec shared with the agent's HTTP API
//! ([`silt_agent::json`]), with text bytes.

#[cfg(test)]
mod fuzz;

pub(crate) use silt_agent::json::{JsonError, consumed_to_json, parse_line};
