//! Bounded allocation (issue 14 item 12): a length or count field read from storage is
//! checked before anything of that size is allocated. A counting global allocator measures
//! the peak of every decode of the fuzz targets' corpora, of segments whose fields claim the
//! most they can (`fuzz_alloc/claims.rs`), and of generated inputs (`SILT_FUZZ_CASES`, 3 000 per
//! target by default); each must stay within a fixed allowance plus a multiple of its input.
//! One test only: the allocator counts every thread, so nothing may run beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

#[path = "fuzz/common.rs"]
mod common;
#[cfg(feature = "dynamodb")]
#[path = "fuzz/dynamo.rs"]
mod dynamo;
#[path = "fuzz/edits.rs"]
mod edits;
#[path = "fuzz/manifest.rs"]
mod manifest;
#[path = "fuzz/segment/mod.rs"]
mod segment;

#[path = "fuzz_alloc/claims.rs"]
mod claims;

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use peak_alloc::PeakAlloc;
use silt_core::segment::BLOCK_RAW_BYTES_MAX;
use silt_core::testing::fuzz::{Broken, Fuzz, Verdict};

use common::corpus_dir;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The largest peak of any decode in this run, and the length of its input.
static LARGEST_PEAK: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Generated inputs per target (the main fuzz run covers more without the allocator's cost).
const CASES: u64 = 10_000;
/// What any decode may allocate whatever its input: one block's raw bytes (a zstd frame may
/// legitimately expand that far) and room for small tables.
const ALLOWANCE_BYTES: usize = BLOCK_RAW_BYTES_MAX + (1 << 20);
/// What a decode may allocate per byte of input, on top of the allowance.
const BYTES_PER_INPUT_BYTE: usize = 64;

/// Runs `check` and fails it if its allocations peaked above the bound for `input_len` bytes.
fn bounded(
    input_len: usize,
    check: impl FnOnce() -> Result<Verdict, Broken>,
) -> Result<Verdict, Broken> {
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let verdict = check();
    let peak = ALLOCATOR.peak_usage().saturating_sub(before);
    if LARGEST_PEAK[0].fetch_max(peak, Ordering::Relaxed) < peak {
        LARGEST_PEAK[1].store(input_len, Ordering::Relaxed);
    }
    let bound = ALLOWANCE_BYTES + BYTES_PER_INPUT_BYTE * input_len;
    if peak > bound {
        return Err(format!(
            "decoding {input_len} bytes allocated {peak} bytes at its peak, over the bound of {bound}"
        ));
    }
    verdict
}

/// Prints the largest peak since the last call, and starts over.
fn report_peak(target: &str) {
    let peak = LARGEST_PEAK[0].swap(0, Ordering::Relaxed);
    let input = LARGEST_PEAK[1].swap(0, Ordering::Relaxed);
    let line =
        format!("fuzz {target} (allocation): largest peak {peak} bytes, decoding {input} bytes\n");
    // Best effort, past the harness's capture: a closed stderr must not fail the test.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

#[test]
fn decoders_allocate_in_proportion_to_their_input() {
    segments();
    manifests();
    #[cfg(feature = "dynamodb")]
    dynamodb_items();
}

fn segments() {
    let check = |i: &Vec<u8>| bounded(i.len(), || segment::check(i));
    let mut fuzz = Fuzz::new("segment", CASES).measuring("allocation");
    fuzz.replay(&corpus_dir("segment"), <[u8]>::to_vec, check);
    for (claim, input) in claims::boundary_claims() {
        fuzz.fixed(&claim, &input, check, Clone::clone);
    }
    let seeds = segment::Seeds::new(fuzz.rng());
    fuzz.run(|rng| seeds.generate(rng), check, Clone::clone);
    fuzz.finish();
    report_peak("segment");
}

fn manifests() {
    let check = |d: &manifest::Doc| bounded(d.bytes.len(), || manifest::check(d));
    let mut fuzz = Fuzz::new("manifest", CASES).measuring("allocation");
    fuzz.replay(&corpus_dir("manifest"), manifest::Doc::any, check);
    let seeds = manifest::Seeds::new(fuzz.rng());
    fuzz.run(|rng| seeds.generate(rng), check, manifest::Doc::saved);
    fuzz.finish();
    report_peak("manifest");
}

#[cfg(feature = "dynamodb")]
fn dynamodb_items() {
    use silt_core::testing::dynamo_items::Item;
    let check = |i: &Item| bounded(dynamo::to_json(i).len(), || dynamo::check(i));
    let mut fuzz = Fuzz::new("dynamodb", CASES).measuring("allocation");
    fuzz.replay(&corpus_dir("dynamodb"), dynamo::from_json, check);
    let seeds = dynamo::Seeds::new(fuzz.rng());
    fuzz.run(|rng| seeds.generate(rng), check, dynamo::to_json);
    fuzz.finish();
    report_peak("dynamodb");
}
