//! Fuzzing the cold-segment reader's metadata checks (issue 14 item 12): over 100 000 seeded
//! random and mutated files are opened as cold segments, and those that open are read. Every
//! open and read succeeds or fails with a typed `Corrupt` error; none panics. Mutations hit the
//! golden files of both formats anywhere, and format 2's tail (page index, trailer, footer)
//! with its checksum sealed again, so the checks behind the checksum are reached too. Lengths
//! that claim more than the file (4 GiB footers, far page index offsets, sizes the entry
//! misstates) are refused before anything that size is read or allocated. Inputs that once
//! failed live in `tests/fuzz-corpus/cold/` and run first.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use silt_core::cold::{ColdReader, Owner};
use silt_core::error::{Error, ErrorKind};
use silt_core::ids::{Offset, PartitionId, TopicId};
use ulid::Ulid;

const SEED: u64 = 1412;
const CASES: usize = 100_000;
const OWNER: Owner = (TopicId(Ulid::from_parts(1, 1)), PartitionId(3));
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-corpus/cold");

fn golden(version: u32) -> Vec<u8> {
    std::fs::read(format!("{GOLDEN}/cold-v{version}.parquet")).unwrap()
}

/// Where format 2's trailer and page index are: `(trailer_at, index_offset)`.
fn layout(file: &[u8]) -> (usize, usize) {
    let n = file.len();
    let footer = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as usize;
    let trailer_at = n - 8 - footer - 16;
    let index = u64::from_le_bytes(file[trailer_at..trailer_at + 8].try_into().unwrap());
    (trailer_at, index as usize)
}

/// Seals format 2's tail again after a mutation, as a writer would have: its checksum over
/// everything from the page index on but itself.
fn reseal(file: &mut [u8], trailer_at: usize, index_offset: usize) {
    let crc_at = trailer_at + 8;
    let crc = crc32c::crc32c_append(
        crc32c::crc32c(&file[index_offset..crc_at]),
        &file[crc_at + 4..],
    );
    file[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Changes 1 to 8 bytes of `file[range]`: a flipped bit, a random byte, or an edge value.
fn mutate(rng: &mut StdRng, file: &mut [u8], range: std::ops::Range<usize>) {
    for _ in 0..rng.random_range(1..=8) {
        let at = rng.random_range(range.clone());
        file[at] = match rng.random_range(0..4) {
            0 => file[at] ^ (1 << rng.random_range(0..8)),
            1 => rng.random(),
            2 => 0,
            _ => 0xff,
        };
    }
}

/// One input: the bytes stored, and the size the segment entry claims.
fn case(rng: &mut StdRng, v1: &[u8], v2: &[u8]) -> (Vec<u8>, u64) {
    let (trailer_at, index_offset) = layout(v2);
    match rng.random_range(0..10) {
        // Random bytes, half of them ending like Parquet with a footer length that fits.
        0 | 1 => {
            let len = rng.random_range(0..2_048);
            let mut file: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len >= 12 && rng.random_bool(0.5) {
                let footer = rng.random_range(0..len as u32 - 8);
                file[len - 8..len - 4].copy_from_slice(&footer.to_le_bytes());
                file[len - 4..].copy_from_slice(b"PAR1");
            }
            let size = file.len() as u64;
            (file, size)
        }
        // Format 2 damaged anywhere (the checksums catch it).
        2 | 3 => {
            let mut file = v2.to_vec();
            let n = file.len();
            mutate(rng, &mut file, 0..n);
            (file, n as u64)
        }
        // Format 2's tail changed and sealed again: the checks behind the checksum.
        4..=6 => {
            let mut file = v2.to_vec();
            let n = file.len();
            let range = match rng.random_range(0..3) {
                0 => index_offset..trailer_at,
                1 => trailer_at + 16..n - 8,
                _ => index_offset..n,
            };
            mutate(rng, &mut file, range);
            let (trailer_at, index_offset) = (trailer_at, index_offset);
            if rng.random_bool(0.9) {
                reseal(&mut file, trailer_at, index_offset);
            }
            (file, n as u64)
        }
        // Format 1 (no checksums) damaged anywhere, mostly in its footer.
        7 | 8 => {
            let mut file = v1.to_vec();
            let n = file.len();
            let from = if rng.random_bool(0.7) { n - 2_048 } else { 0 };
            mutate(rng, &mut file, from..n);
            (file, n as u64)
        }
        // Cut, grown, or misstated by the entry.
        _ => {
            let base = if rng.random_bool(0.5) { v1 } else { v2 };
            let mut file = base.to_vec();
            match rng.random_range(0..3) {
                0 => file.truncate(rng.random_range(0..base.len())),
                1 => file.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
                _ => file.drain(..rng.random_range(1..base.len())).for_each(drop),
            }
            let size = match rng.random_range(0..4) {
                0 => base.len() as u64,
                1 => 1 << 40,
                _ => file.len() as u64,
            };
            (file, size)
        }
    }
}

/// Opens `file` (claimed `size` bytes) and reads from it if it opens. `Err` describes a panic
/// or an error that is not `Corrupt`.
async fn probe(objects: &Arc<dyn ObjectStore>, file: Vec<u8>, size: u64) -> Result<bool, String> {
    let path = Path::from("tables/fuzz.parquet");
    objects.put(&path, Bytes::from(file).into()).await.unwrap();
    let run = async {
        let reader = ColdReader::open(objects.clone(), &path, size, OWNER).await?;
        reader.read_window(Offset(0)).await?;
        reader.read_window(Offset(77)).await?;
        reader.first_offset_at(1_700_000_000_500).await?;
        Ok::<(), Error>(())
    };
    match AssertUnwindSafe(run).catch_unwind().await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(e)) if e.kind() == ErrorKind::Corrupt => Ok(false),
        Ok(Err(e)) => Err(format!("untyped error ({:?}): {e}", e.kind())),
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or(panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

#[tokio::test]
async fn cold_metadata_checks_survive_random_and_mutated_files() {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let (v1, v2) = (golden(1), golden(2));
    let mut failures = Vec::new();
    // Past failures first: each file is an input, its size claimed as it is.
    let entries = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path());
    let mut corpus: Vec<_> = entries
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    corpus.sort();
    for path in &corpus {
        let file = std::fs::read(path).unwrap();
        let size = file.len() as u64;
        if let Err(why) = probe(&objects, file, size).await {
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut opened = 0;
    for i in 0..CASES {
        let (file, size) = case(&mut rng, &v1, &v2);
        match probe(&objects, file.clone(), size).await {
            Ok(true) => opened += 1,
            Ok(false) => {}
            Err(why) => {
                // Keep it for the corpus (`SILT_FUZZ_KEEP=1`), so it stays a regression input.
                if std::env::var_os("SILT_FUZZ_KEEP").is_some() {
                    std::fs::write(format!("{CORPUS}/case-{SEED}-{i}.parquet"), &file).unwrap();
                }
                failures.push(format!(
                    "case {i} ({} bytes, claimed {size}): {why}",
                    file.len()
                ));
            }
        }
    }
    println!(
        "cold metadata fuzz: {} corpus files and {CASES} cases (seed {SEED}): {opened} opened \
         and read, the rest Corrupt, {} failures",
        corpus.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures[..failures.len().min(40)].join("\n")
    );
}

/// Lengths that claim more than the file are refused by name, before anything is read.
#[tokio::test]
async fn lengths_beyond_the_file_are_refused_before_reading() {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("tables/long.parquet");
    let v2 = golden(2);
    let n = v2.len();
    let (trailer_at, index_offset) = layout(&v2);
    let mut footer_4gib = v2.clone();
    footer_4gib[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut index_far = v2.clone();
    index_far[trailer_at..trailer_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut index_zero = v2.clone();
    index_zero[trailer_at..trailer_at + 8].copy_from_slice(&0u64.to_le_bytes());
    reseal(&mut index_zero, trailer_at, index_offset);
    let cases = [
        ("a 4 GiB footer", footer_4gib, n as u64, "does not fit"),
        (
            "a page index past the trailer",
            index_far,
            n as u64,
            "out of place",
        ),
        (
            "a page index before the data",
            index_zero,
            n as u64,
            "out of place",
        ),
        (
            "an entry claiming 1 TiB",
            v2.clone(),
            1 << 40,
            "segment entry says",
        ),
        (
            "an entry claiming less",
            v2.clone(),
            n as u64 - 1,
            "segment entry says",
        ),
    ];
    for (what, file, size, says) in cases {
        objects.put(&path, Bytes::from(file).into()).await.unwrap();
        let opened = ColdReader::open(objects.clone(), &path, size, OWNER).await;
        let error = opened.err().unwrap_or_else(|| panic!("{what}: opened"));
        assert_eq!(error.kind(), ErrorKind::Corrupt, "{what}: {error}");
        let message = error.to_string();
        assert!(
            message.contains(says) && message.contains("long.parquet"),
            "{what}: {message}"
        );
    }
}
