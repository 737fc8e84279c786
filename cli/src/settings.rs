//! Topic settings as the command line spells them: the rules shared with the agent's HTTP API
//! ([`silt_agent::settings`]).

pub(crate) use silt_agent::settings::{
    RETENTION_BYTES, RETENTION_MS, SEAL_AFTER_MS, bytes, settings_text,
};
