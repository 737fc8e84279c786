//! `silt group list | describe | reset-offsets | delete`: consumer groups seen from outside, as
//! Kafka's `kafka-consumer-groups` shows them (`silt_group::admin`). `silt consume --group`
//! is the member side.

use clap::{ArgGroup, Args as ClapArgs, Subcommand};
use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_core::limits::TIMESTAMP_MS_MAX;
use silt_core::store::Storage;
use silt_group::admin::{GroupAdmin, GroupDescription, ResetTo};

use crate::CliResult;
use crate::out::outln;

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// List consumer groups, one name per line.
    List,
    /// Show a group's members and, per partition, its committed offset, log end and lag.
    Describe {
        /// Group name.
        group: String,
        /// One JSON document instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Move a group's committed offsets, only while it has no members. Without --execute it
    /// only shows what would change, as Kafka's tool does.
    ResetOffsets(ResetArgs),
    /// Delete a group with no members, and its committed offsets.
    Delete {
        /// Group name.
        group: String,
    },
}

#[derive(Debug, ClapArgs)]
#[command(group(ArgGroup::new("to").required(true).args(["to_earliest", "to_latest", "to_offset", "to_timestamp"])))]
pub(crate) struct ResetArgs {
    /// Group name.
    group: String,
    /// Topic whose offsets move.
    #[arg(long)]
    topic: String,
    /// Only this partition (repeatable); default: every partition.
    #[arg(long = "partition")]
    partitions: Vec<u32>,
    /// To the log start.
    #[arg(long)]
    to_earliest: bool,
    /// To the log end: only records written from now on.
    #[arg(long)]
    to_latest: bool,
    /// To this offset (it must lie between the log start and the log end).
    #[arg(long)]
    to_offset: Option<u64>,
    /// To the first record at or after this many ms since the Unix epoch.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..=TIMESTAMP_MS_MAX))]
    to_timestamp: Option<i64>,
    /// Apply the change (without it: a dry run).
    #[arg(long)]
    execute: bool,
}

impl ResetArgs {
    fn to(&self) -> ResetTo {
        match (self.to_offset, self.to_timestamp, self.to_latest) {
            (Some(offset), _, _) => ResetTo::Offset(offset),
            (_, Some(ms), _) => ResetTo::Timestamp(ms),
            (_, _, true) => ResetTo::Latest,
            _ => ResetTo::Earliest,
        }
    }
}

pub(crate) async fn run(storage: &Storage, cmd: GroupCommand) -> CliResult {
    let admin = GroupAdmin::new(storage);
    match cmd {
        GroupCommand::List => {
            for group in admin.list().await? {
                outln!("{group}")?;
            }
        }
        GroupCommand::Describe { group, json } => {
            let described = admin.describe(&GroupName::new(group)?).await?;
            match json {
                true => outln!("{}", serde_json::to_string_pretty(&described)?)?,
                false => print_description(&described)?,
            }
        }
        GroupCommand::ResetOffsets(args) => reset(&admin, args).await?,
        GroupCommand::Delete { group } => {
            let group = GroupName::new(group)?;
            admin.delete(&group).await?;
            outln!("deleted group {group}")?;
        }
    }
    Ok(())
}

async fn reset(admin: &GroupAdmin, args: ResetArgs) -> CliResult {
    let group = GroupName::new(args.group.clone())?;
    let topic = TopicName::new(args.topic.clone())?;
    let partitions: Vec<PartitionId> = args.partitions.iter().copied().map(PartitionId).collect();
    let changes = admin
        .reset_offsets(&group, &topic, &partitions, args.to(), args.execute)
        .await?;
    let rows = changes.iter().map(|c| {
        let previous = c.previous.map_or("-".to_string(), |p| p.to_string());
        let row = [
            group.to_string(),
            c.topic.to_string(),
            c.partition.to_string(),
        ];
        let [g, t, p] = row;
        vec![g, t, p, previous, c.new_offset.to_string()]
    });
    let header = [
        "GROUP",
        "TOPIC",
        "PARTITION",
        "PREVIOUS-OFFSET",
        "NEW-OFFSET",
    ];
    print_table(&header, rows.collect())?;
    if !args.execute {
        eprintln!("dry run: nothing changed; add --execute to apply");
    }
    Ok(())
}

/// Kafka's `--describe` table, after a line on the group and its members.
fn print_description(d: &GroupDescription) -> CliResult {
    outln!(
        "group {} ({:?}, {} members, group epoch {})",
        d.group,
        d.state,
        d.members.len(),
        d.group_epoch
    )?;
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    let rows = d.partitions.iter().map(|p| {
        vec![
            d.group.to_string(),
            p.topic.to_string(),
            p.partition.to_string(),
            dash(p.current_offset.map(|o| o.to_string())),
            dash(p.log_end_offset.map(|o| o.to_string())),
            dash(p.lag.map(|o| o.to_string())),
            dash(p.consumer_id.as_ref().map(|m| m.to_string())),
            dash(p.host.clone()),
            dash(p.client_id.clone()),
        ]
    });
    let header = [
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ];
    print_table(&header, rows.collect())
}

/// Columns left-aligned to their widest cell, two spaces apart.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) -> CliResult {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    outln!("{}", line(header.to_vec()))?;
    for row in &rows {
        outln!("{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
