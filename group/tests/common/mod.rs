//! Shared by the group tests: a store stack that records accepted lease writes under
//! injected faults.

#![allow(dead_code)]

pub(crate) mod audit;
pub(crate) mod sim_clock;
