//! # silt: the command line
//!
//! Topics, produce (stdin → acknowledged offsets), consume (offsets → stdout), the jobs (retention,
//! compaction, GC), `table` (SQL over the sealed Parquet files), and `demo`, the whole flow on the embedded default store for a newcomer. Every command takes
//! `--store URL` (or `SILT_STORE`; default `file://./silt-data`) and `--manifest
//! dynamodb://TABLE` (or `SILT_MANIFEST`; default: manifests in the store).

mod agent;
mod agent_kafka;
mod args;
mod bench;
mod consume;
mod consume_args;
mod consume_group;
mod demo;
mod group;
mod jobs;
mod json;
mod out;
mod produce;
mod settings;
mod signals;
mod table;
mod topic;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use silt_core::store::Storage;
use tracing_subscriber::EnvFilter;

use crate::args::{Args, Command, ManifestCommand, TopicCommand};
use crate::out::outln;

/// Logging unless `SILT_LOG` or `RUST_LOG` says otherwise: silt's warnings, not the AWS
/// SDK's (its credential-chain warnings repeat what the one-line error says).
const DEFAULT_LOG: &str =
    "warn,aws_config=off,aws_runtime=off,aws_smithy_runtime=off,aws_sdk_dynamodb=off";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = ["SILT_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| EnvFilter::try_from_env(var).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<out::StdoutClosed>() => ExitCode::SUCCESS,
        Err(e) => {
            // Nothing is left to tell if stderr is gone, so a failed write is ignored.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(exit_code(&*e))
        }
    }
}

/// 1 for every failure but those of `produce` with a code of their own (`silt produce --help`).
fn exit_code(e: &(dyn std::error::Error + 'static)) -> u8 {
    e.downcast_ref::<produce::Failure>()
        .map_or(1, produce::Failure::exit_code)
}

/// A command's failure, printed as `error: ...`.
pub(crate) type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn run(args: Args) -> CliResult {
    let manifest = args.manifest.as_deref();
    if let Command::Manifest(ManifestCommand::Init) = args.command {
        outln!("{}", Storage::init_manifests(&args.store, manifest).await?)?;
        return Ok(());
    }
    // `produce` and `agent` listen before the store opens, so a second SIGINT or SIGTERM
    // always exits.
    let signals = match args.command {
        Command::Produce(_) => Some(produce::listen()?),
        Command::Agent(_) => Some(agent::listen()?),
        Command::Consume(ref c) if c.group.is_some() => Some(consume_group::listen()?),
        _ => None,
    };
    let storage = match creates_store(&args.command) {
        true => Storage::open_with_manifests(&args.store, manifest).await?,
        false => Storage::open_existing(&args.store, manifest).await?,
    };
    let storage = match args.manifest_group_size {
        Some(size) => storage.with_manifest_groups(size),
        None => storage,
    };
    match args.command {
        Command::Topic(cmd) => topic::run(&storage, cmd).await,
        Command::Produce(cmd) => produce::run(&storage, cmd, signals).await,
        Command::Agent(cmd) => agent::run(storage, cmd, signals).await,
        Command::Consume(cmd) if cmd.group.is_some() => {
            consume_group::run(&storage, cmd, signals).await
        }
        Command::Consume(cmd) => consume::run(&storage, cmd).await,
        Command::Demo => demo::run(&storage).await,
        Command::Bench(args) => bench::run(&storage, args).await,
        Command::Retention(cmd) => jobs::retention(&storage, cmd).await,
        Command::Compact(cmd) => jobs::compact(&storage, cmd).await,
        Command::Gc(cmd) => jobs::gc(&storage, cmd).await,
        Command::Group(cmd) => group::run(&storage, cmd).await,
        Command::Table { name } => table::run(&storage, name).await,
        Command::Manifest(ManifestCommand::Init) => Ok(()),
    }
}

/// Commands that write may create a missing `file://` store; the rest (reading, listing,
/// the jobs) say there is no store there rather than create one for a mistyped URL.
fn creates_store(command: &Command) -> bool {
    matches!(
        command,
        Command::Topic(TopicCommand::Create(_))
            | Command::Produce(_)
            | Command::Agent(_)
            | Command::Demo
            | Command::Bench(_)
            | Command::Manifest(_)
    )
}
