//! A manifest group document: the manifests of several partitions in one object, so one
//! conditional write commits to all of them (docs/design.md §19, Manifest groups).
//!
//! Stored as lines: a header `{"group_version":N}`, then each partition's manifest exactly as
//! a manifest object holds it (its own format version and checksum), in partition order. A
//! partition's encoded line is kept with its manifest, so a write re-encodes only the
//! partitions it changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use crate::error::{Corruption, Error, Result};
use crate::ids::PartitionId;
use crate::manifest::{Manifest, codec};

/// One partition's manifest and its encoded line.
#[derive(Debug, Clone)]
pub(super) struct Part {
    pub(super) manifest: Arc<Manifest>,
    line: Bytes,
}

impl Part {
    /// Encodes `manifest` (refusing one beyond the manifest size budget).
    pub(super) fn new(manifest: Manifest) -> Result<Part> {
        let line = codec::encode(&manifest)?;
        Ok(Part {
            manifest: Arc::new(manifest),
            line,
        })
    }
}

/// A group document as read or written, with the version token of its object.
#[derive(Debug, Clone, Default)]
pub(super) struct GroupDoc {
    /// +1 on every write: orders the documents a process has seen.
    pub(super) version: u64,
    /// The partitions it holds.
    pub(super) parts: BTreeMap<PartitionId, Part>,
    /// ETag of the object (`None` for a document not stored yet).
    pub(super) e_tag: Option<String>,
    /// Object version, where the backend has them.
    pub(super) object_version: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    group_version: u64,
}

impl GroupDoc {
    /// The document's bytes (the writer keeps them under the document size limit).
    pub(super) fn encode(&self) -> Bytes {
        let header = self.header();
        let mut out = BytesMut::with_capacity(self.size());
        out.put_slice(header.as_bytes());
        for part in self.parts.values() {
            out.put_u8(b'\n');
            out.put_slice(&part.line);
        }
        out.freeze()
    }

    fn header(&self) -> String {
        format!("{{\"group_version\":{}}}", self.version)
    }

    /// The size of the encoded document.
    pub(super) fn size(&self) -> usize {
        let lines: usize = self.parts.values().map(|p| p.line.len() + 1).sum();
        self.header().len() + lines
    }

    /// The size of `p`'s manifest in the document (0: not there).
    pub(super) fn line_len(&self, p: PartitionId) -> usize {
        self.parts.get(&p).map_or(0, |part| part.line.len())
    }

    /// Decodes a document read from `location`, checking each manifest as a manifest read.
    pub(super) fn decode(bytes: &Bytes, location: &str) -> Result<GroupDoc> {
        let mut lines = bytes.split(|b| *b == b'\n');
        let header = lines.next().unwrap_or_default();
        let header: Header =
            serde_json::from_slice(header).map_err(|e| corrupt(location, e.to_string()))?;
        let mut parts = BTreeMap::new();
        for line in lines {
            let manifest = codec::decode(line, location)?;
            let line = bytes.slice_ref(line);
            let p = manifest.partition;
            let part = Part {
                manifest: Arc::new(manifest),
                line,
            };
            if parts.insert(p, part).is_some() {
                return Err(corrupt(location, format!("partition {p} appears twice")));
            }
        }
        Ok(GroupDoc {
            version: header.group_version,
            parts,
            e_tag: None,
            object_version: None,
        })
    }
}

fn corrupt(location: &str, reason: String) -> Error {
    Error::Corrupt(Corruption {
        what: "manifest group",
        location: location.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TopicId;

    #[test]
    fn a_document_reads_back_as_written() {
        let mut doc = GroupDoc {
            version: 7,
            ..GroupDoc::default()
        };
        for p in [3, 1] {
            let m = Manifest::new(TopicId(ulid::Ulid::from_parts(1, 1)), PartitionId(p));
            doc.parts.insert(PartitionId(p), Part::new(m).unwrap());
        }
        let bytes = doc.encode();
        let back = GroupDoc::decode(&bytes, "g").unwrap();
        assert_eq!(back.version, 7);
        let ps: Vec<_> = back.parts.keys().copied().collect();
        assert_eq!(ps, vec![PartitionId(1), PartitionId(3)]);
        assert_eq!(
            *back.parts[&PartitionId(3)].manifest,
            *doc.parts[&PartitionId(3)].manifest
        );
    }

    #[test]
    fn a_flipped_byte_in_a_manifest_is_corruption() {
        let mut doc = GroupDoc::default();
        let m = Manifest::new(TopicId(ulid::Ulid::from_parts(1, 1)), PartitionId(0));
        doc.parts.insert(PartitionId(0), Part::new(m).unwrap());
        let mut bytes = doc.encode().to_vec();
        let at = bytes.iter().rposition(|b| b.is_ascii_digit()).unwrap() - 3;
        bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
        let err = GroupDoc::decode(&Bytes::from(bytes), "g").unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
    }
}
