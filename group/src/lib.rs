//! # silt-group: consumer groups with no coordinator
//!
//! Consumers share the partitions of their topics in a group, as with Kafka consumer groups,
//! with no broker: the group's state lives in the stores that hold the manifests and changes
//! only by conditional writes (docs/consumer-groups.md).
//!
//! ```text
//! GroupConsumer::join ─ heartbeat (own record) ─ group document (members, target)
//!    every heartbeat: watch the document and one peer; expire a silent peer;
//!                     take (lease_epoch + 1) / release the partitions the target moves
//!    poll: records of held partitions (silt-reader cursors) ─ commit (conditioned on the lease)
//! ```
//!
//! - [`GroupMember`]: the state machine, driven by the caller's monotonic time (simulations
//!   drive many by hand);
//! - [`GroupConsumer`]: one member driven by a task, with cursors, auto-commit and events;
//! - [`assign`]: the deterministic, sticky, balanced target;
//! - [`records`]: the stored records;
//! - [`classic`]: Kafka's classic group protocol, for the agent's Kafka listener: one agent
//!   coordinates a group in memory, its state and offsets stored in the same records;
//! - [`admin`]: groups seen from outside: list, describe with lag, reset offsets, delete.
//!
//! It sits beside `silt-reader` (which it reads with) and uses `silt_core::store::cas`, the
//! compare-and-swap that the object store and DynamoDB backends both provide.

pub mod admin;
pub mod assign;
pub mod classic;
mod consumer;
mod error;
mod held;
mod ids;
mod member;
pub mod records;
mod settings;

pub use consumer::{Batch, GroupConsumer, Polled};
pub use error::GroupError;
pub use ids::{MemberId, TopicPartition};
pub use member::{Assignment, Event, GroupMember, Mono};
pub use settings::{GroupSettings, OffsetReset};
