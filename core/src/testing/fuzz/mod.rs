//! Seeded property fuzzing on stable Rust (docs/design.md §12), for every decoder that reads
//! bytes from storage or from a user: `core/tests/fuzz` (segments, manifests, DynamoDB items),
//! `core/tests/fuzz_alloc.rs` (bounded allocation) and the CLI's JSON lines.
//!
//! A [`Fuzz`] run replays the target's corpus of past failures first
//! (`core/tests/fuzz-corpus/<target>/`), then feeds `SILT_FUZZ_CASES` generated inputs from
//! the RNG seeded with `SILT_FUZZ_SEED` (fixed by default, so every run is reproducible). Each
//! input goes to a check that answers [`Verdict`] or names the property it broke; a panic is
//! caught. A failing input is saved to a file and reported with the seed that reproduces it.
//! [`mutate`] damages bytes, [`json`] edits JSON documents.

pub mod json;
pub mod mutate;

use std::any::Any;
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
pub use rand::rngs::StdRng;

/// The seed of every run that does not set `SILT_FUZZ_SEED`.
pub const DEFAULT_SEED: u64 = 0x5117_0014_0012_F022;
/// A run stops after this many failing inputs (the first ones are the useful ones).
const FAILURES_MAX: usize = 5;

/// What a decoder did with an input that broke no property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Decoded, and the result passed the target's checks.
    Accepted,
    /// Refused with the typed error the target expects.
    Refused,
}

/// A property an input broke, in words.
pub type Broken = String;

/// One fuzz run of one target.
#[derive(Debug)]
pub struct Fuzz {
    target: &'static str,
    measuring: Option<&'static str>,
    seed: u64,
    cases: u64,
    rng: StdRng,
    replayed: u64,
    generated: u64,
    accepted: u64,
    refused: u64,
    failures: Vec<String>,
    started: tokio::time::Instant,
}

impl Fuzz {
    /// A run of `target` with `default_cases` generated inputs, unless `SILT_FUZZ_CASES` says
    /// otherwise; `SILT_FUZZ_SEED` (decimal or `0x` hex) replaces the default seed.
    pub fn new(target: &'static str, default_cases: u64) -> Fuzz {
        let seed = env_u64("SILT_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
        Fuzz {
            target,
            measuring: None,
            seed,
            cases: env_u64("SILT_FUZZ_CASES").unwrap_or(default_cases),
            rng: StdRng::seed_from_u64(seed),
            replayed: 0,
            generated: 0,
            accepted: 0,
            refused: 0,
            failures: Vec::new(),
            started: tokio::time::Instant::now(),
        }
    }

    /// Names what this run measures besides the target's own checks (for its report).
    pub fn measuring(mut self, what: &'static str) -> Fuzz {
        self.measuring = Some(what);
        self
    }

    /// The run's RNG, for building the seeds the cases mutate.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// Replays every file of `dir` (sorted by name), read by `parse`, through `check`.
    pub fn replay<T>(
        &mut self,
        dir: &Path,
        parse: impl Fn(&[u8]) -> T,
        mut check: impl FnMut(&T) -> Result<Verdict, Broken>,
    ) {
        for (name, bytes) in corpus(dir) {
            let input = parse(&bytes);
            self.fixed(&format!("corpus file {name}"), &input, &mut check, |_| {
                bytes.clone()
            });
        }
    }

    /// Runs one given input (a corpus file, or one a test built by hand) through `check`.
    pub fn fixed<T>(
        &mut self,
        name: &str,
        input: &T,
        mut check: impl FnMut(&T) -> Result<Verdict, Broken>,
        save: impl Fn(&T) -> Vec<u8>,
    ) {
        self.replayed += 1;
        self.one(name, input, &mut check, save);
    }

    /// Runs the generated cases: `generate` makes an input and names how, `check` judges it,
    /// `save` turns a failing one into the bytes of a corpus file.
    pub fn run<T>(
        &mut self,
        mut generate: impl FnMut(&mut StdRng) -> (String, T),
        mut check: impl FnMut(&T) -> Result<Verdict, Broken>,
        save: impl Fn(&T) -> Vec<u8>,
    ) {
        for case in 0..self.cases {
            if self.failures.len() >= FAILURES_MAX {
                break;
            }
            let (how, input) = generate(&mut self.rng);
            self.generated += 1;
            self.one(&format!("case {case} ({how})"), &input, &mut check, &save);
        }
    }

    fn one<T>(
        &mut self,
        name: &str,
        input: &T,
        check: &mut impl FnMut(&T) -> Result<Verdict, Broken>,
        save: impl Fn(&T) -> Vec<u8>,
    ) {
        let why = match catch_unwind(AssertUnwindSafe(|| check(input))) {
            Ok(Ok(Verdict::Accepted)) => return self.accepted += 1,
            Ok(Ok(Verdict::Refused)) => return self.refused += 1,
            Ok(Err(broken)) => broken,
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        let saved = self.save(&save(input));
        self.failures
            .push(format!("{name}: {why}\n    input saved to {saved}"));
    }

    fn save(&self, bytes: &[u8]) -> String {
        let dir = std::env::temp_dir()
            .join("silt-fuzz-failures")
            .join(self.target);
        let path = dir.join(format!("{:016x}", fnv1a(bytes)));
        match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, bytes)) {
            Ok(()) => path.display().to_string(),
            Err(e) => format!("nowhere ({}: {e})", path.display()),
        }
    }

    /// Prints what the run did, on stderr even when the test harness captures output, and
    /// fails the test if any input broke a property.
    pub fn finish(self) {
        let measuring = self.measuring.map_or(String::new(), |m| format!(" ({m})"));
        let line = format!(
            "fuzz {}{measuring}: {} generated + {} fixed inputs in {:.1} s ({} decoded, {} refused), seed {:#x}\n",
            self.target,
            self.generated,
            self.replayed,
            self.started.elapsed().as_secs_f64(),
            self.accepted,
            self.refused,
            self.seed,
        );
        // Best effort: a closed stderr must not fail the run.
        let _ = std::io::stderr().write_all(line.as_bytes());
        if self.failures.is_empty() {
            return;
        }
        let mut report = format!(
            "fuzz {}: {} inputs broke a property (reproduce with SILT_FUZZ_SEED={:#x}):\n",
            self.target,
            self.failures.len(),
            self.seed
        );
        for failure in &self.failures {
            let _ = writeln!(report, "  {failure}");
        }
        let _ = write!(
            report,
            "Once fixed, copy each saved input into core/tests/fuzz-corpus/{}/ so every run replays it.",
            self.target
        );
        panic!("{report}");
    }
}

/// The files of a corpus folder, sorted by name, but for notes (`*.md`) and hidden files
/// (`.gitkeep`); a missing folder is an empty corpus.
pub fn corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let bytes = std::fs::read(&p)
                .unwrap_or_else(|e| panic!("corpus file {} is unreadable: {e}", p.display()));
            (name, bytes)
        })
        .collect()
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={text} is not a number: {e}")))
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic without a message".to_string(),
    }
}

/// FNV-1a, to name saved inputs by their content.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
