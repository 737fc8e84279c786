//! `silt table TOPIC`: the statements that query a topic's cold segments (the Parquet files
//! compaction seals under `tables/`) in DuckDB, Athena and Spark. Only what is sealed is
//! there: records newer than the topic's `seal_after_ms` are still hot.

use silt_core::ids::TopicName;
use silt_core::store::Storage;
use silt_core::topic::TopicConfig;

use crate::CliResult;
use crate::out::out;

pub(crate) async fn run(storage: &Storage, name: String) -> CliResult {
    let config = storage.topic(&TopicName::new(name)?).await?;
    let Some(root) = table_root(storage, &config.name) else {
        return Err(format!(
            "the store {} is not a directory or S3 bucket that query engines can read",
            storage.url
        )
        .into());
    };
    out!("{}", statements(&config, &root))?;
    Ok(())
}

/// Where the topic's Parquet files are, as query engines name it: a path for `file://`, the
/// URL for `s3://`.
fn table_root(storage: &Storage, topic: &TopicName) -> Option<String> {
    let folder = storage.keys.topic_table(topic);
    let url = storage.url.split('?').next().unwrap_or_default();
    if let Some(dir) = url.strip_prefix("file://") {
        let dir = std::path::absolute(dir).ok()?;
        return Some(format!("{}/{}", dir.display(), folder.as_ref()));
    }
    // The keys carry the URL's prefix already.
    let bucket = url.strip_prefix("s3://")?.split('/').next()?;
    Some(format!("s3://{bucket}/{}", folder.as_ref()))
}

fn statements(config: &TopicConfig, root: &str) -> String {
    let sealed = match config.settings.seal_after_ms {
        Some(ms) => format!("records older than {ms} ms are sealed at each compaction run"),
        None => format!(
            "nothing is sealed yet: `silt topic alter {} --seal-after-ms MS`",
            config.name
        ),
    };
    let mut out = format!(
        "-- Topic {name}: {sealed}.\n\
         -- Columns: topic, partition, offset, timestamp (UTC, microseconds), key, value,\n\
         -- headers (list of {{key, value}}); Hive folders partition=<p>/dt=<yyyy-mm-dd>.\n\
         -- Retention removes whole files: filter on \"offset\" for an exact log start.\n\n\
         -- DuckDB{s3_note}\n\
         SELECT \"partition\", \"offset\", \"timestamp\", key, value, headers\n\
         FROM read_parquet('{root}/*/*/*.parquet', hive_partitioning = true)\n\
         ORDER BY \"partition\", \"offset\";\n\n\
         -- Spark\n\
         -- spark.read.parquet(\"{root}\").orderBy(\"partition\", \"offset\")\n",
        name = config.name,
        s3_note = match root.starts_with("s3://") {
            true => " (first: INSTALL httpfs; LOAD httpfs; and S3 credentials)",
            false => "",
        },
    );
    if root.starts_with("s3://") {
        out.push_str(&athena(config, root));
    }
    out
}

/// An Athena table over the files, with partition projection (no crawler, no `MSCK REPAIR`).
fn athena(config: &TopicConfig, root: &str) -> String {
    let table: String = config
        .name
        .as_str()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!(
        "\n-- Athena (narrow projection.dt.range to your data)\n\
         CREATE EXTERNAL TABLE `silt_{table}` (\n  \
         `offset` bigint,\n  \
         `timestamp` timestamp,\n  \
         `key` binary,\n  \
         `value` binary,\n  \
         `headers` array<struct<key:string,value:binary>>\n\
         )\n\
         PARTITIONED BY (`partition` int, `dt` string)\n\
         STORED AS PARQUET\n\
         LOCATION '{root}/'\n\
         TBLPROPERTIES (\n  \
         'projection.enabled' = 'true',\n  \
         'projection.partition.type' = 'integer',\n  \
         'projection.partition.range' = '0,{last}',\n  \
         'projection.dt.type' = 'date',\n  \
         'projection.dt.format' = 'yyyy-MM-dd',\n  \
         'projection.dt.range' = '2020-01-01,NOW',\n  \
         'storage.location.template' = '{root}/partition=${{partition}}/dt=${{dt}}/'\n\
         );\n",
        last = config.partitions.saturating_sub(1),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;
    use silt_core::ids::TopicId;
    use silt_core::topic::{TOPIC_FORMAT_VERSION, TopicSettings};

    #[test]
    fn s3_stores_get_an_athena_table_with_partition_projection() {
        let config = TopicConfig {
            format_version: TOPIC_FORMAT_VERSION,
            name: TopicName::new("web.clicks").unwrap(),
            topic_id: TopicId(ulid::Ulid::from_parts(1, 1)),
            partitions: 12,
            created_ms: 0,
            settings: TopicSettings::default(),
            deleted: None,
        };
        let root = "s3://bucket/prefix/tables/topic=web.clicks";
        let out = statements(&config, root);
        assert!(out.contains("nothing is sealed yet: `silt topic alter web.clicks"));
        assert!(out.contains(&format!("read_parquet('{root}/*/*/*.parquet'")));
        assert!(out.contains("CREATE EXTERNAL TABLE `silt_web_clicks`"));
        assert!(out.contains("'projection.partition.range' = '0,11'"));
        assert!(out.contains(&format!("'{root}/partition=${{partition}}/dt=${{dt}}/'")));
        let local = statements(&config, "/data/tables/topic=web.clicks");
        assert!(!local.contains("Athena"));
    }
}
