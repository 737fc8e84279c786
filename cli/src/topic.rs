//! `silt topic create | list | describe | alter | trim`.

use serde_json::json;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::Manifest;
use silt_core::store::Storage;
use silt_core::topic::{CleanupPolicy, DELETE_RETENTION_MS, TopicSettings};

use crate::CliResult;
use crate::args::{AlterArgs, TopicCommand};

pub(crate) async fn run(storage: &Storage, cmd: TopicCommand) -> CliResult {
    match cmd {
        TopicCommand::Create {
            name,
            partitions,
            retention_ms,
            retention_bytes,
            cleanup_policy,
            min_compaction_lag_ms,
            delete_retention_ms,
            seal_after_ms,
        } => {
            let name = TopicName::new(name)?;
            let settings = TopicSettings {
                retention_ms,
                retention_bytes,
                cleanup_policy: cleanup_policy.into(),
                min_compaction_lag_ms,
                delete_retention_ms,
                seal_after_ms,
            };
            let config = storage.create_topic(&name, partitions, settings).await?;
            println!(
                "created topic {} with {} partitions (id {})",
                config.name, config.partitions, config.topic_id
            );
        }
        TopicCommand::List => {
            for name in storage.list_topics().await? {
                println!("{name}");
            }
        }
        TopicCommand::Describe { name, json } => {
            describe(storage, &TopicName::new(name)?, json).await?
        }
        TopicCommand::Alter(args) => alter(storage, args).await?,
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
            println!(
                "partition {}: log start {moved} (next offset {})",
                t.partition, t.next_offset
            );
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
            "partitions": partitions,
        });
        println!("{doc}");
        return Ok(());
    }
    println!(
        "topic {} (id {}, {} partitions; {})",
        name,
        config.topic_id,
        config.partitions,
        settings_text(&config.settings)
    );
    println!(
        "{:>9} {:>12} {:>12} {:>9} {:>12} {:>6}",
        "partition", "log_start", "next_offset", "segments", "bytes", "epoch"
    );
    for m in rows {
        println!(
            "{:>9} {:>12} {:>12} {:>9} {:>12} {:>6}",
            m.partition.0,
            m.log_start_offset.0,
            m.next_offset.0,
            m.segment_count(),
            m.segment_bytes(),
            m.epoch.0
        );
    }
    Ok(())
}

/// `topic alter`: changes only the settings given, conditionally (re-applied on a race).
async fn alter(storage: &Storage, args: AlterArgs) -> CliResult {
    let name = TopicName::new(args.name)?;
    let config = storage
        .alter_topic(&name, |s| TopicSettings {
            retention_ms: args.retention_ms.map_or(s.retention_ms, unset_if_negative),
            retention_bytes: args.retention_bytes.map_or(s.retention_bytes, |b| {
                unset_if_negative(b).map(|b| b as u64)
            }),
            cleanup_policy: args.cleanup_policy.map_or(s.cleanup_policy, Into::into),
            min_compaction_lag_ms: args.min_compaction_lag_ms.or(s.min_compaction_lag_ms),
            delete_retention_ms: args.delete_retention_ms.or(s.delete_retention_ms),
            seal_after_ms: args
                .seal_after_ms
                .map_or(s.seal_after_ms, unset_if_negative),
        })
        .await?;
    println!("{}: {}", config.name, settings_text(&config.settings));
    Ok(())
}

/// Kafka's convention: -1 (any negative value) means "no limit".
fn unset_if_negative(v: i64) -> Option<i64> {
    (v >= 0).then_some(v)
}

fn settings_text(s: &TopicSettings) -> String {
    let or_none = |v: Option<String>, none: &str| v.unwrap_or_else(|| none.to_string());
    let mut text = format!(
        "retention_ms={}, retention_bytes={}",
        or_none(s.retention_ms.map(|v| v.to_string()), "forever"),
        or_none(s.retention_bytes.map(|v| v.to_string()), "unlimited")
    );
    if s.cleanup_policy == CleanupPolicy::Compact {
        let lag = s.min_compaction_lag_ms.unwrap_or(0);
        let tombstones = s.delete_retention_ms.unwrap_or(DELETE_RETENTION_MS);
        text.push_str(&format!(
            ", cleanup_policy=compact, min_compaction_lag_ms={lag}, delete_retention_ms={tombstones}"
        ));
    }
    if let Some(ms) = s.seal_after_ms {
        text.push_str(&format!(", seal_after_ms={ms}"));
    }
    text
}
