//! Frames on a Kafka connection: a 4-byte big-endian size, then that many bytes: the request
//! header (API key, version, correlation id, client id) and the request body. The size is
//! checked against the configured maximum before anything is allocated; a frame that is too
//! large, truncated or unreadable ends its connection (as a Kafka broker does), never the agent.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Why a connection is closed rather than answered.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame's declared size is over the limit (or negative).
    #[error(
        "request frame of {size} bytes refused: the limit is {max} bytes (--kafka-request-bytes-max)"
    )]
    TooLarge { size: i64, max: usize },
    /// The client closed the connection in the middle of a frame.
    #[error("connection closed in the middle of a frame")]
    Truncated,
    /// The request header names an API key this agent does not know.
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    /// A version of a known API this agent does not serve (other than ApiVersions, which is
    /// answered in v0 format with the supported ranges).
    #[error("{api:?} version {version} is not supported (supported: {min}..={max})")]
    UnsupportedVersion {
        api: ApiKey,
        version: i16,
        min: i16,
        max: i16,
    },
    /// The header or body does not decode as the API's schema says.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// Reading or writing the socket failed.
    #[error("connection I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl FrameError {
    /// A decoding error of `what`.
    pub(crate) fn malformed(what: &'static str, e: impl std::fmt::Display) -> FrameError {
        FrameError::Malformed {
            what,
            reason: e.to_string(),
        }
    }
}

/// A request as read off the wire: its header and undecoded body.
#[derive(Debug)]
pub(crate) struct RequestFrame {
    pub(crate) api: ApiKey,
    pub(crate) header: RequestHeader,
    pub(crate) body: Bytes,
}

/// Reads the next frame: `None` when the client closed the connection between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Bytes>, FrameError> {
    let mut size = [0u8; 4];
    match reader.read(&mut size[..1]).await? {
        0 => return Ok(None),
        _ => reader.read_exact(&mut size[1..]).await.map_err(truncated)?,
    };
    let size = i32::from_be_bytes(size);
    let len = usize::try_from(size)
        .ok()
        .filter(|len| *len <= max)
        .ok_or(FrameError::TooLarge {
            size: i64::from(size),
            max,
        })?;
    let mut frame = BytesMut::zeroed(len);
    reader.read_exact(&mut frame).await.map_err(truncated)?;
    Ok(Some(frame.freeze()))
}

fn truncated(e: std::io::Error) -> FrameError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    }
}

/// Splits a frame into its header and body. The API key must be known; the version is
/// checked by the dispatcher, which knows what each API serves.
pub(crate) fn parse_request(mut frame: Bytes) -> Result<RequestFrame, FrameError> {
    if frame.len() < 4 {
        return Err(FrameError::malformed(
            "request header",
            "shorter than 4 bytes",
        ));
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = ApiKey::try_from(key).map_err(|()| FrameError::UnknownApiKey(key))?;
    let header_version = api.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| FrameError::malformed("request header", e))?;
    Ok(RequestFrame {
        api,
        header,
        body: frame,
    })
}

/// Decodes a request body of `version`; bytes left over are an error.
pub(crate) fn decode_body<T: Decodable>(
    mut body: Bytes,
    version: i16,
    what: &'static str,
) -> Result<T, FrameError> {
    let request = T::decode(&mut body, version).map_err(|e| FrameError::malformed(what, e))?;
    match body.remaining() {
        0 => Ok(request),
        left => Err(FrameError::malformed(
            what,
            format!("{left} bytes after the body"),
        )),
    }
}

/// A whole response frame: size, the response header for `api`/`version`, and `body`.
pub(crate) fn encode_response<T: Encodable>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<Bytes, FrameError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api.response_header_version(version);
    let mut out = BytesMut::new();
    out.extend_from_slice(&[0; 4]);
    header
        .encode(&mut out, header_version)
        .map_err(|e| FrameError::malformed("response header", e))?;
    body.encode(&mut out, version)
        .map_err(|e| FrameError::malformed("response", e))?;
    let size = i32::try_from(out.len() - 4)
        .map_err(|_| FrameError::malformed("response", "larger than 2 GiB"))?;
    out[..4].copy_from_slice(&size.to_be_bytes());
    Ok(out.freeze())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8], max: usize) -> Result<Option<Bytes>, FrameError> {
        read_frame(&mut &bytes[..], max).await
    }

    #[tokio::test]
    async fn frames_are_bounded_before_they_are_read() {
        assert!(read(&[], 10).await.unwrap().is_none(), "a clean close");
        let frame = read(&[0, 0, 0, 3, 1, 2, 3, 9], 10).await.unwrap().unwrap();
        assert_eq!(&frame[..], &[1, 2, 3]);
        // 2 GiB declared, 4 bytes sent: refused on the size alone.
        let e = read(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4], 10)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                FrameError::TooLarge {
                    size: 2147483647,
                    max: 10
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("--kafka-request-bytes-max"));
        let e = read(&[0xff, 0xff, 0xff, 0xff], 10).await.unwrap_err();
        assert!(matches!(e, FrameError::TooLarge { size: -1, .. }), "{e}");
        for cut in [&[0u8, 0][..], &[0, 0, 0, 5, 1, 2][..]] {
            let e = read(cut, 10).await.unwrap_err();
            assert!(matches!(e, FrameError::Truncated), "{e}");
        }
    }

    #[test]
    fn unknown_api_keys_and_short_headers_are_refused() {
        let e = parse_request(Bytes::from_static(&[0x7f, 0x00, 0, 0, 0, 0, 0, 1])).unwrap_err();
        assert!(matches!(e, FrameError::UnknownApiKey(0x7f00)), "{e}");
        let e = parse_request(Bytes::from_static(&[0, 18])).unwrap_err();
        assert!(matches!(e, FrameError::Malformed { .. }), "{e}");
        // ApiVersions v3, correlation id 7, client id "c", no tagged fields.
        let header = [0, 18, 0, 3, 0, 0, 0, 7, 0, 1, b'c', 0];
        let request = parse_request(Bytes::copy_from_slice(&header)).unwrap();
        assert_eq!(request.api, ApiKey::ApiVersions);
        assert_eq!(request.header.correlation_id, 7);
        assert!(request.body.is_empty());
    }
}
