//! Shared by the group tests: a record of the lease writes the store accepted under injected
//! faults, and a clock whose ids are seeded.

#![allow(dead_code)]

pub(crate) mod audit;
pub(crate) mod sim_clock;
