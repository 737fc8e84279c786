//! Shard iterators: where a `GetRecords` continues, sealed so that no agent state is needed.
//! Any agent of the store can continue an iterator another one issued, because all of them
//! seal with the store's shared secret (`Storage::agent_secret`).
//!
//! An iterator is URL-safe base64 of: a version byte, the position's kind and value, the
//! partition, the time it was issued, the topic's id (a re-created stream is another stream)
//! and name, then the first 16 bytes of an HMAC-SHA256 over all of that. A changed byte fails
//! the HMAC (`Forged`); an iterator older than [`ITERATOR_LIFETIME_MS`] is `Expired`, as in
//! Kinesis.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::store::SECRET_BYTES;
use subtle::ConstantTimeEq;

use crate::service::ReadFrom;

/// How long an iterator can be used after it was issued, as in Kinesis: five minutes.
pub const ITERATOR_LIFETIME_MS: i64 = 5 * 60 * 1000;

const VERSION: u8 = 1;
const MAC_BYTES: usize = 16;
/// Version, kind, position, partition, issued time, topic id.
const FIXED_BYTES: usize = 1 + 1 + 8 + 4 + 8 + 16;

/// What an iterator holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) topic: TopicName,
    /// The topic's id (`TopicId`'s ULID as a number).
    pub(crate) topic_id: u128,
    pub(crate) partition: PartitionId,
    /// Where the next read starts: `Earliest` (TRIM_HORIZON), an offset, or a timestamp
    /// (AT_TIMESTAMP, found at the first read).
    pub(crate) from: ReadFrom,
    pub(crate) issued_ms: i64,
}

/// Why an iterator was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsealed {
    /// Not one this store's agents issued, or changed since.
    Forged,
    /// Issued more than [`ITERATOR_LIFETIME_MS`] ago.
    Expired,
}

/// Seals and opens iterators with the store's shared secret.
#[derive(Clone)]
pub(crate) struct IteratorSeal {
    secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for IteratorSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IteratorSeal")
    }
}

impl IteratorSeal {
    pub(crate) fn new(secret: [u8; SECRET_BYTES]) -> IteratorSeal {
        IteratorSeal { secret }
    }

    /// The iterator for `position`.
    pub(crate) fn seal(&self, position: &Position) -> String {
        let (kind, value) = match position.from {
            ReadFrom::Earliest => (0u8, 0u64),
            ReadFrom::Offset(o) => (1, o.0),
            ReadFrom::Timestamp(ms) => (2, ms as u64),
            // Not issued: LATEST is resolved to an offset when the iterator is made.
            ReadFrom::TailOffset(back) => (3, back),
        };
        let mut bytes = Vec::with_capacity(FIXED_BYTES + position.topic.as_str().len() + MAC_BYTES);
        bytes.push(VERSION);
        bytes.push(kind);
        bytes.extend_from_slice(&value.to_be_bytes());
        bytes.extend_from_slice(&position.partition.0.to_be_bytes());
        bytes.extend_from_slice(&position.issued_ms.to_be_bytes());
        bytes.extend_from_slice(&position.topic_id.to_be_bytes());
        bytes.extend_from_slice(position.topic.as_str().as_bytes());
        let mac = self.mac(&bytes);
        bytes.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The position `iterator` holds, if this store's agents issued it less than
    /// [`ITERATOR_LIFETIME_MS`] before `now_ms`.
    pub(crate) fn open(&self, iterator: &str, now_ms: i64) -> Result<Position, Unsealed> {
        let bytes = URL_SAFE_NO_PAD
            .decode(iterator)
            .map_err(|_| Unsealed::Forged)?;
        if bytes.len() <= FIXED_BYTES + MAC_BYTES || bytes[0] != VERSION {
            return Err(Unsealed::Forged);
        }
        let (body, mac) = bytes.split_at(bytes.len() - MAC_BYTES);
        if !bool::from(self.mac(body).ct_eq(mac)) {
            return Err(Unsealed::Forged);
        }
        let position = decode(body).ok_or(Unsealed::Forged)?;
        match now_ms.saturating_sub(position.issued_ms) > ITERATOR_LIFETIME_MS {
            true => Err(Unsealed::Expired),
            false => Ok(position),
        }
    }

    fn mac(&self, body: &[u8]) -> [u8; MAC_BYTES] {
        let mut out = [0; MAC_BYTES];
        // HMAC takes a key of any length: `new_from_slice` cannot fail on ours.
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) {
            mac.update(body);
            out.copy_from_slice(&mac.finalize().into_bytes()[..MAC_BYTES]);
        }
        out
    }
}

/// The fields of an authentic iterator body.
fn decode(body: &[u8]) -> Option<Position> {
    let number = |at: usize, len: usize| body.get(at..at + len);
    let value = u64::from_be_bytes(number(2, 8)?.try_into().ok()?);
    let from = match body[1] {
        0 => ReadFrom::Earliest,
        1 => ReadFrom::Offset(Offset(value)),
        2 => ReadFrom::Timestamp(value as i64),
        3 => ReadFrom::TailOffset(value),
        _ => return None,
    };
    let partition = u32::from_be_bytes(number(10, 4)?.try_into().ok()?);
    let issued_ms = i64::from_be_bytes(number(14, 8)?.try_into().ok()?);
    let topic_id = u128::from_be_bytes(number(22, 16)?.try_into().ok()?);
    let name = std::str::from_utf8(body.get(FIXED_BYTES..)?).ok()?;
    Some(Position {
        topic: TopicName::new(name).ok()?,
        topic_id,
        partition: PartitionId(partition),
        from,
        issued_ms,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    fn position(from: ReadFrom) -> Position {
        Position {
            topic: TopicName::new("clicks").unwrap(),
            topic_id: u128::MAX - 7,
            partition: PartitionId(3),
            from,
            issued_ms: 1_000_000,
        }
    }

    #[test]
    fn an_iterator_opens_to_what_was_sealed_until_it_expires() {
        let seal = IteratorSeal::new([9; SECRET_BYTES]);
        for from in [
            ReadFrom::Earliest,
            ReadFrom::Offset(Offset(42)),
            ReadFrom::Timestamp(-5),
            ReadFrom::Timestamp(1_700_000_000_000),
        ] {
            let sealed = seal.seal(&position(from));
            assert!(sealed.len() <= 512, "Kinesis' limit: {}", sealed.len());
            let at_deadline = 1_000_000 + ITERATOR_LIFETIME_MS;
            assert_eq!(seal.open(&sealed, at_deadline), Ok(position(from)));
            assert_eq!(seal.open(&sealed, at_deadline + 1), Err(Unsealed::Expired));
        }
    }

    #[test]
    fn a_changed_byte_or_another_secret_is_forged() {
        let seal = IteratorSeal::new([9; SECRET_BYTES]);
        let sealed = seal.seal(&position(ReadFrom::Offset(Offset(42))));
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            let changed = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(seal.open(&changed, 0), Err(Unsealed::Forged), "byte {i}");
            bytes[i] ^= 1;
        }
        let other = IteratorSeal::new([8; SECRET_BYTES]);
        assert_eq!(other.open(&sealed, 0), Err(Unsealed::Forged));
        for junk in ["", "AAAA", "not base64!", &"A".repeat(600)] {
            assert_eq!(seal.open(junk, 0), Err(Unsealed::Forged), "{junk}");
        }
    }
}
