//! `silt topic create | list | describe | alter | delete | trim`.

use serde_json::json;
use silt_core::error::Error;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::Manifest;
use silt_core::store::Storage;
use silt_core::topic::{PartitionerKind, TopicSettings};

use crate::CliResult;
use crate::args::{AlterArgs, CreateArgs, TopicCommand};
use crate::out::outln;
use crate::settings::{RETENTION_BYTES, RETENTION_MS, SEAL_AFTER_MS, bytes, settings_text};

pub(crate) async fn run(storage: &Storage, cmd: TopicCommand) -> CliResult {
    match cmd {
        TopicCommand::Create(args) => create(storage, args).await?,
        TopicCommand::List => list(storage).await?,
        TopicCommand::Describe { name, json } => {
            describe(storage, &TopicName::new(name)?, json).await?
        }
        TopicCommand::Alter(args) => alter(storage, args).await?,
        TopicCommand::Delete { name } => delete(storage, &TopicName::new(name)?).await?,
        TopicCommand::Trim {
            name,
            partition,
            before,
        } => {
            let name = TopicName::new(name)?;
            let t =
                silt_control::trim(storage, &name, PartitionId(partition), Offset(before)).await?;
            let moved = match t.to == t.from {
                true => format!("stays at {}", t.to),
                false => format!("moved from {} to {}", t.from, t.to),
            };
            outln!(
                "partition {}: log start {moved} (next offset {})",
                t.partition,
                t.next_offset
            )?;
        }
    }
    Ok(())
}

/// Prints the topic's settings and each partition's offsets, segments, bytes and leader epoch.
pub(crate) async fn describe(storage: &Storage, name: &TopicName, as_json: bool) -> CliResult {
    let config = storage.topic(name).await?;
    let mut rows = Vec::new();
    for p in config.partition_ids() {
        let m = match storage.manifests.read(name, p).await? {
            Some(s) => (*s.manifest).clone(),
            None => Manifest::new(config.topic_id, p),
        };
        rows.push(m);
    }
    if as_json {
        let partitions: Vec<_> = rows
            .iter()
            .map(|m| {
                json!({
                    "partition": m.partition.0,
                    "log_start_offset": m.log_start_offset.0,
                    "next_offset": m.next_offset.0,
                    "segments": m.segment_count(),
                    "bytes": m.segment_bytes(),
                    "epoch": m.epoch.0,
                    "leader": m.leader.map(|l| l.writer_id.to_string()),
                })
            })
            .collect();
        let doc = json!({
            "topic": name.as_str(),
            "topic_id": config.topic_id.to_string(),
            "retention_ms": config.settings.retention_ms,
            "retention_bytes": config.settings.retention_bytes,
            "cleanup_policy": config.settings.cleanup_policy,
            "partitioner": config.settings.partitioner,
            "manifest_group_size": config.settings.manifest_group_size,
            "partitions": partitions,
        });
        outln!("{doc}")?;
        return Ok(());
    }
    outln!(
        "topic {} (id {}, {} partitions, partitioner {}; {})",
        name,
        config.topic_id,
        config.partitions,
        config.settings.partitioner,
        settings_text(&config.settings)
    )?;
    outln!(
        "{:>9} {:>12} {:>12} {:>9} {:>12} {:>6}",
        "partition",
        "log_start",
        "next_offset",
        "segments",
        "bytes",
        "epoch"
    )?;
    for m in rows {
        outln!(
            "{:>9} {:>12} {:>12} {:>9} {:>12} {:>6}",
            m.partition.0,
            m.log_start_offset.0,
            m.next_offset.0,
            m.segment_count(),
            m.segment_bytes(),
            m.epoch.0
        )?;
    }
    Ok(())
}

/// `topic list`: one name per line on stdout; a damaged topic (its configuration missing,
/// its manifests there) goes to stderr with the repair, and fails the command once every
/// name is listed, so scripts notice.
async fn list(storage: &Storage) -> CliResult {
    let mut damaged = 0;
    for (name, config) in storage.list_topic_configs().await? {
        if config.is_some() {
            outln!("{name}")?;
            continue;
        }
        match storage.topic(&name).await {
            Ok(_) => outln!("{name}")?,
            Err(e @ Error::TopicConfigMissing { .. }) => {
                eprintln!("{e}");
                damaged += 1;
            }
            // A folder with neither configuration nor manifest holds no topic.
            Err(Error::UnknownTopic(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match damaged {
        0 => Ok(()),
        n => Err(format!("{n} damaged topics (above)").into()),
    }
}

/// `topic create`: the settings given, checked before anything is written.
async fn create(storage: &Storage, args: CreateArgs) -> CliResult {
    let name = TopicName::new(args.name)?;
    let settings = TopicSettings {
        retention_ms: RETENTION_MS.given(args.retention_ms)?.flatten(),
        retention_bytes: bytes(RETENTION_BYTES.given(args.retention_bytes)?.flatten()),
        cleanup_policy: args.cleanup_policy.into(),
        min_compaction_lag_ms: args.min_compaction_lag_ms,
        delete_retention_ms: args.delete_retention_ms,
        seal_after_ms: SEAL_AFTER_MS.given(args.seal_after_ms)?.flatten(),
        partitioner: args.partitioner.parse()?,
        manifest_group_size: None,
    };
    let config = storage
        .create_topic(&name, args.partitions, settings)
        .await?;
    outln!(
        "created topic {} with {} partitions (id {}, partitioner {})",
        config.name,
        config.partitions,
        config.topic_id,
        config.settings.partitioner
    )?;
    Ok(())
}

/// `topic alter`: changes only the settings given, conditionally (re-applied on a race); a
/// partitioner other than the topic's is refused (by `alter_topic`).
async fn alter(storage: &Storage, args: AlterArgs) -> CliResult {
    let name = TopicName::new(args.name)?;
    let retention_ms = RETENTION_MS.given(args.retention_ms)?;
    let retention_bytes = RETENTION_BYTES.given(args.retention_bytes)?.map(bytes);
    let seal_after_ms = SEAL_AFTER_MS.given(args.seal_after_ms)?;
    let partitioner: Option<PartitionerKind> =
        args.partitioner.as_deref().map(str::parse).transpose()?;
    let config = storage
        .alter_topic(&name, |s| TopicSettings {
            retention_ms: retention_ms.unwrap_or(s.retention_ms),
            retention_bytes: retention_bytes.unwrap_or(s.retention_bytes),
            cleanup_policy: args.cleanup_policy.map_or(s.cleanup_policy, Into::into),
            min_compaction_lag_ms: args.min_compaction_lag_ms.or(s.min_compaction_lag_ms),
            delete_retention_ms: args.delete_retention_ms.or(s.delete_retention_ms),
            seal_after_ms: seal_after_ms.unwrap_or(s.seal_after_ms),
            partitioner: partitioner.unwrap_or(s.partitioner),
            manifest_group_size: s.manifest_group_size,
        })
        .await?;
    outln!("{}: {}", config.name, settings_text(&config.settings))?;
    Ok(())
}

/// `topic delete`: the topic is unknown from now on; GC removes its data later.
async fn delete(storage: &Storage, name: &TopicName) -> CliResult {
    let config = storage.delete_topic(name).await?;
    outln!(
        "deleted topic {} (id {}, {} partitions): readers and writers now see an unknown topic; `silt gc run` removes its data after the reader grace (15 minutes), and the name can be created again after that",
        config.name,
        config.topic_id,
        config.partitions
    )?;
    Ok(())
}
