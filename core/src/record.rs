//! The record: what producers append and consumers read.

use bytes::Bytes;

use crate::error::InvalidInput;
use crate::limits::{HEADERS_MAX, RECORD_BYTES_MAX, TIMESTAMP_MS_MAX, TIMESTAMP_MS_MIN};

/// One header of a record (Kafka-style: a string key and a binary value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub key: String,
    /// Header value.
    pub value: Bytes,
}

/// One record. A record with no value is a tombstone for key compaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Optional key; keyed records always go to the same partition.
    pub key: Option<Bytes>,
    /// Optional value.
    pub value: Option<Bytes>,
    /// Producer-given time in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Headers, in order.
    pub headers: Vec<Header>,
}

impl Record {
    /// A record with just a value.
    pub fn from_value(value: impl Into<Bytes>, timestamp_ms: i64) -> Record {
        Record {
            value: Some(value.into()),
            timestamp_ms,
            ..Record::default()
        }
    }

    /// Size counted against [`RECORD_BYTES_MAX`]: key + value + header keys and values.
    pub fn payload_bytes(&self) -> usize {
        let key = self.key.as_ref().map_or(0, Bytes::len);
        let value = self.value.as_ref().map_or(0, Bytes::len);
        let headers: usize = self
            .headers
            .iter()
            .map(|h| h.key.len() + h.value.len())
            .sum();
        key + value + headers
    }

    /// Checks the record against the limits of docs/design.md §11.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        if self.headers.len() > HEADERS_MAX {
            return Err(InvalidInput::TooManyHeaders {
                count: self.headers.len(),
                max: HEADERS_MAX,
            });
        }
        if !(TIMESTAMP_MS_MIN..=TIMESTAMP_MS_MAX).contains(&self.timestamp_ms) {
            return Err(InvalidInput::TimestampOutOfRange {
                timestamp_ms: self.timestamp_ms,
                min: TIMESTAMP_MS_MIN,
                max: TIMESTAMP_MS_MAX,
            });
        }
        let bytes = self.payload_bytes();
        if bytes > RECORD_BYTES_MAX {
            return Err(InvalidInput::RecordTooLarge {
                bytes,
                max: RECORD_BYTES_MAX,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_bound() {
        let big = Record::from_value(vec![0u8; RECORD_BYTES_MAX + 1], 0);
        assert_eq!(
            big.validate(),
            Err(InvalidInput::RecordTooLarge {
                bytes: RECORD_BYTES_MAX + 1,
                max: RECORD_BYTES_MAX
            })
        );
        let headers = (0..65)
            .map(|i| Header {
                key: i.to_string(),
                value: Bytes::new(),
            })
            .collect();
        let many = Record {
            headers,
            ..Record::default()
        };
        assert_eq!(
            many.validate(),
            Err(InvalidInput::TooManyHeaders { count: 65, max: 64 })
        );
        assert!(Record::from_value("ok", 0).validate().is_ok());
        for ok in [TIMESTAMP_MS_MIN, TIMESTAMP_MS_MAX] {
            assert!(Record::from_value("ok", ok).validate().is_ok(), "{ok}");
        }
        // The bounds are the first and last millisecond of four-digit years.
        use crate::ids::Day;
        assert_eq!(Day::of_ms(TIMESTAMP_MS_MIN).to_string(), "0000-01-01");
        assert_eq!(Day::of_ms(TIMESTAMP_MS_MIN - 1).to_string(), "-001-12-31");
        assert_eq!(Day::of_ms(TIMESTAMP_MS_MAX).to_string(), "9999-12-31");
        assert_eq!(Day::of_ms(TIMESTAMP_MS_MAX + 1).to_string(), "10000-01-01");
        for bad in [
            TIMESTAMP_MS_MIN - 1,
            TIMESTAMP_MS_MAX + 1,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(
                Record::from_value("far", bad).validate(),
                Err(InvalidInput::TimestampOutOfRange {
                    timestamp_ms: bad,
                    min: TIMESTAMP_MS_MIN,
                    max: TIMESTAMP_MS_MAX
                })
            );
        }
    }
}
