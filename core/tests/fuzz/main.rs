//! Property fuzzing on stable Rust (issue 14 item 12, docs/design.md §12) of every decoder
//! that reads what storage hands silt: hot segments of every version, manifests, index chunks
//! and topic configurations, and DynamoDB items. Each target replays its corpus of past
//! failures (`core/tests/fuzz-corpus/<target>/`), then at least 100 000 seeded inputs, random
//! and mutated from valid encodings: never a panic, always a typed error naming the object,
//! and what decodes agrees with itself. `SILT_FUZZ_SEED` and `SILT_FUZZ_CASES` change the
//! seed and the count; bounded allocation is checked in `fuzz_alloc.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod common;
#[cfg(feature = "dynamodb")]
mod dynamo;
mod edits;
mod manifest;
mod segment;

use silt_core::testing::fuzz::Fuzz;

use common::corpus_dir;

/// Generated inputs per target and run.
const CASES: u64 = 100_000;

#[test]
fn segment_decoder_survives_fuzzing() {
    let mut fuzz = Fuzz::new("segment", CASES);
    fuzz.replay(&corpus_dir("segment"), <[u8]>::to_vec, |i| {
        segment::check(i)
    });
    let seeds = segment::Seeds::new(fuzz.rng());
    fuzz.run(
        |rng| seeds.generate(rng),
        |i| segment::check(i),
        Clone::clone,
    );
    fuzz.finish();
}

#[test]
fn manifest_decoders_survive_fuzzing() {
    let mut fuzz = Fuzz::new("manifest", CASES);
    fuzz.replay(&corpus_dir("manifest"), manifest::Doc::any, manifest::check);
    let seeds = manifest::Seeds::new(fuzz.rng());
    fuzz.run(
        |rng| seeds.generate(rng),
        manifest::check,
        manifest::Doc::saved,
    );
    fuzz.finish();
}

#[cfg(feature = "dynamodb")]
#[test]
fn dynamodb_item_decoders_survive_fuzzing() {
    let mut fuzz = Fuzz::new("dynamodb", CASES);
    fuzz.replay(&corpus_dir("dynamodb"), dynamo::from_json, dynamo::check);
    let seeds = dynamo::Seeds::new(fuzz.rng());
    fuzz.run(|rng| seeds.generate(rng), dynamo::check, dynamo::to_json);
    fuzz.finish();
}
