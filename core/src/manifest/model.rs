//! The manifest document and its parts, as stored (JSON, versioned; see `codec`).

use serde::{Deserialize, Serialize};

use super::producers::ProducerState;

use crate::ids::{
    CommitSeq, Day, Epoch, ManifestVersion, ObjectId, Offset, PartitionId, TopicId, WriterId,
};

/// The state of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of this document (see `codec::FORMAT_VERSION`).
    pub format_version: u32,
    /// The topic incarnation this partition belongs to.
    pub topic_id: TopicId,
    /// The partition.
    pub partition: PartitionId,
    /// +1 on every commit; makes every stored document (and so its ETag) unique.
    pub version: ManifestVersion,
    /// Current leader generation; 0 until a writer first claims the partition.
    pub epoch: Epoch,
    /// The exclusive writer of the current epoch, if any claimed the partition.
    pub leader: Option<Leader>,
    /// One past the last committed offset (the high watermark).
    pub next_offset: Offset,
    /// First readable offset.
    pub log_start_offset: Offset,
    /// Sealed index chunks, oldest first; they precede `segments`.
    #[serde(default)]
    pub chunks: Vec<ChunkRef>,
    /// The newest committed segments, not yet sealed into a chunk, oldest first.
    #[serde(default)]
    pub segments: Vec<SegmentEntry>,
    /// The last commit of each recent writer: resolves ambiguous commit outcomes.
    #[serde(default)]
    pub writers: Vec<WriterMarker>,
    /// Idempotent producers' epochs and last batches (docs/design.md §6.6); absent in
    /// manifests without any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub producers: Vec<ProducerState>,
    /// Objects logically removed, waiting for the reader grace period before deletion.
    #[serde(default)]
    pub graveyard: Vec<Tombstone>,
    /// Objects whose id time is below this may be swept as orphans, so no commit may
    /// reference one (docs/design.md §6 rule 8).
    #[serde(default)]
    pub orphan_floor_ms: i64,
    /// Set (with format version [`DELETED_FORMAT_VERSION`](super::codec::DELETED_FORMAT_VERSION))
    /// by the `DeleteTopic` edit: the topic was deleted at this time, and every later commit is
    /// refused (`Rejection::TopicDeleted`) until GC removes the partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<i64>,
    /// Where the segment entries live: in this document (`chunks` and `segments`), or outside
    /// it (DynamoDB segment items). Not stored: the store that reads a manifest sets it.
    #[serde(skip)]
    pub index: SegmentIndex,
}

/// Where a manifest's segment entries live.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SegmentIndex {
    /// In the document: `chunks` then `segments` list every committed segment.
    #[default]
    Inline,
    /// Outside the document (one item per segment), which keeps only running totals; its
    /// `segments` holds just the entries an edit adds, for the store to write out.
    External {
        /// Committed segments.
        segments: u64,
        /// Their total bytes.
        bytes: u64,
    },
}

/// The exclusive writer of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leader {
    /// The writer that claimed the current epoch.
    pub writer_id: WriterId,
    /// Advisory lease: until then, appends of other writers are refused.
    pub lease_until_ms: i64,
}

/// One committed segment: hot (`seg/<id>.seg`, silt's own format, or a byte range of a mixed
/// object `mixed/<id>.mix` holding segments of several partitions, docs/design.md §19) or cold
/// (a Parquet file under `tables/`, see `cold`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Object id of the segment.
    pub id: ObjectId,
    /// Offset of its first record.
    pub base_offset: Offset,
    /// Offsets it covers: its records, plus any key compaction removed from it.
    pub records: u32,
    /// Size of the segment in bytes (the object, or its range of a mixed object).
    pub bytes: u64,
    /// Smallest record timestamp.
    pub min_ts: i64,
    /// Largest record timestamp.
    pub max_ts: i64,
    /// For a cold segment, the day folder (`dt=`) its Parquet file is filed under; `None` for
    /// a hot segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_day: Option<Day>,
    /// For a segment inside a mixed object (`mixed/<id>.mix`), the byte position where it
    /// starts there; it runs for `bytes`. `None` for an object of its own.
    #[serde(default, rename = "at", skip_serializing_if = "Option::is_none")]
    pub mixed_at: Option<u64>,
}

impl SegmentEntry {
    /// One past its last offset.
    pub fn end_offset(&self) -> Offset {
        self.base_offset.plus(u64::from(self.records))
    }

    /// The offset of its last position (its first when it covers none).
    pub fn last_offset(&self) -> Offset {
        Offset(
            self.end_offset()
                .0
                .saturating_sub(1)
                .max(self.base_offset.0),
        )
    }

    /// Whether it is a cold (Parquet) segment.
    pub fn is_cold(&self) -> bool {
        self.cold_day.is_some()
    }

    /// Whether it is a byte range of a mixed object (docs/design.md §19).
    pub fn is_mixed(&self) -> bool {
        self.mixed_at.is_some()
    }

    /// The tombstone that stands for it once removed at `now_ms`.
    pub fn tombstone(&self, now_ms: i64) -> Tombstone {
        let kind = match self.cold_day {
            None if self.is_mixed() => TombstoneKind::Mixed,
            None => TombstoneKind::Segment,
            Some(day) => TombstoneKind::Cold {
                day,
                first: self.base_offset,
                last: self.last_offset(),
            },
        };
        Tombstone {
            id: self.id,
            kind,
            removed_at_ms: now_ms,
        }
    }
}

/// A sealed, immutable index chunk holding a run of segment entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// Object id of the chunk (`idx/<id>.idx`).
    pub id: ObjectId,
    /// Offset of the first record of its first segment.
    pub base_offset: Offset,
    /// One past the last offset of its last segment.
    pub end_offset: Offset,
    /// Number of segment entries in it.
    pub segments: u32,
    /// Total segment bytes.
    pub bytes: u64,
    /// Smallest record timestamp.
    pub min_ts: i64,
    /// Largest record timestamp.
    pub max_ts: i64,
}

impl ChunkRef {
    /// Describes a chunk holding `entries`; `None` when they are empty, or when their sizes
    /// add up past `u64::MAX` (only a damaged chunk's can).
    pub fn covering(id: ObjectId, entries: &[SegmentEntry]) -> Option<ChunkRef> {
        let (first, last) = (entries.first()?, entries.last()?);
        Some(ChunkRef {
            id,
            base_offset: first.base_offset,
            end_offset: last.end_offset(),
            segments: entries.len() as u32,
            bytes: entries
                .iter()
                .try_fold(0u64, |n, e| n.checked_add(e.bytes))?,
            min_ts: entries.iter().map(|e| e.min_ts).min().unwrap_or(0),
            max_ts: entries.iter().map(|e| e.max_ts).max().unwrap_or(0),
        })
    }
}

/// The body of an index chunk object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexChunk {
    /// Format of this document.
    pub format_version: u32,
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: PartitionId,
    /// The entries, oldest first.
    pub entries: Vec<SegmentEntry>,
}

/// The last commit a writer made to this partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterMarker {
    /// The writer (or job).
    pub writer_id: WriterId,
    /// Its last committed sequence number.
    pub commit_seq: CommitSeq,
    /// Offset given to the first record of that commit (for an append).
    pub base_offset: Offset,
    /// When it committed (the writer's clock).
    pub at_ms: i64,
}

/// An object logically removed from the manifest, to be deleted after the reader grace
/// (docs/design.md §6 rule 8). Readers holding an older manifest may still fetch it until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The object's id; its key follows from `kind` and the partition.
    pub id: ObjectId,
    /// What the object is, and so what deleting it means.
    pub kind: TombstoneKind,
    /// When it was removed (the remover's clock).
    pub removed_at_ms: i64,
}

/// What a tombstone stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TombstoneKind {
    /// A segment object (`seg/<id>.seg`).
    Segment,
    /// An index chunk object (`idx/<id>.idx`) whose entries still live elsewhere (compaction
    /// rewrote the chunk).
    Chunk,
    /// An index chunk and every segment it lists (retention buried the whole chunk): one
    /// tombstone instead of hundreds keeps the manifest small.
    ChunkWithSegments,
    /// This partition's range of a mixed object (`mixed/<id>.mix`): the object is deleted
    /// only once no partition it holds may reference it any more (docs/design.md §19).
    Mixed,
    /// A cold segment: its Parquet file's key follows from the day and offset range too.
    Cold {
        /// Its day folder.
        day: Day,
        /// Its first offset.
        first: Offset,
        /// Its last offset.
        last: Offset,
    },
}

impl Manifest {
    /// The manifest of a new, empty partition.
    pub fn new(topic_id: TopicId, partition: PartitionId) -> Manifest {
        Manifest {
            format_version: super::codec::FORMAT_VERSION,
            topic_id,
            partition,
            version: ManifestVersion(1),
            epoch: Epoch(0),
            leader: None,
            next_offset: Offset(0),
            log_start_offset: Offset(0),
            chunks: Vec::new(),
            segments: Vec::new(),
            writers: Vec::new(),
            producers: Vec::new(),
            graveyard: Vec::new(),
            orphan_floor_ms: 0,
            deleted_ms: None,
            index: SegmentIndex::Inline,
        }
    }

    /// The marker of `writer`, if it committed here recently.
    pub fn marker(&self, writer: WriterId) -> Option<&WriterMarker> {
        self.writers.iter().find(|w| w.writer_id == writer)
    }

    /// Number of committed segments (sealed and not).
    pub fn segment_count(&self) -> u64 {
        if let SegmentIndex::External { segments, .. } = self.index {
            return segments;
        }
        self.chunks
            .iter()
            .map(|c| u64::from(c.segments))
            .sum::<u64>()
            + self.segments.len() as u64
    }

    /// Total bytes of committed segments.
    pub fn segment_bytes(&self) -> u64 {
        if let SegmentIndex::External { bytes, .. } = self.index {
            return bytes;
        }
        self.chunks.iter().map(|c| c.bytes).sum::<u64>()
            + self.segments.iter().map(|s| s.bytes).sum::<u64>()
    }

    /// True while a leader's lease is live at `now_ms`.
    pub fn live_leader(&self, now_ms: i64) -> Option<Leader> {
        self.leader.filter(|l| l.lease_until_ms > now_ms)
    }
}
