//! The DynamoDB item codecs, opened to tests (feature `test-util`) as
//! `silt_core::testing::dynamo_items`: the fuzz tests (`core/tests/fuzz`) build valid items,
//! damage them, and check that decoding answers a typed error, never a panic.

use std::collections::HashMap;

pub use aws_sdk_dynamodb::types::AttributeValue;

use super::{items, upkeep};
use crate::error::Result;
use crate::manifest::{Manifest, SegmentEntry, Tombstone};

/// An item as the SDK gives it.
pub type Item = HashMap<String, AttributeValue>;

/// Decodes a head item (`sk = "H"`) into a manifest with an external index.
pub fn head_from_item(item: &Item, location: &str) -> Result<Manifest> {
    items::manifest_of(item, location)
}

/// The head item of `m` under partition key `pk`.
pub fn head_to_item(pk: &str, m: &Manifest) -> Item {
    items::head_item(pk, m)
}

/// Decodes a segment item (`sk = "S#<base>"`).
pub fn segment_from_item(item: &Item, location: &str) -> Result<SegmentEntry> {
    items::segment_of(item, location)
}

/// The segment item of `e` under partition key `pk`.
pub fn segment_to_item(pk: &str, e: &SegmentEntry) -> Item {
    items::segment_item(pk, e)
}

/// Decodes a graveyard item (`sk = "G#<id>"`).
pub fn tombstone_from_item(item: &Item, location: &str) -> Result<Tombstone> {
    upkeep::tombstone_of(item, location)
}

/// The graveyard item of `t` under partition key `pk`.
pub fn tombstone_to_item(pk: &str, t: &Tombstone) -> Item {
    upkeep::tombstone_item(pk, t)
}
