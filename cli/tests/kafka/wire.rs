//! Kafka requests written byte by byte over raw TCP, for what client libraries will not send:
//! broken frames, unknown keys and versions, record batches with a bad CRC or magic, and the
//! very same idempotent batch sent twice. Only non-flexible versions (request header v1,
//! response header v0), so every field is a fixed-width big-endian number or an
//! `i16`/`i32`-length string.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

pub(crate) const API_PRODUCE: i16 = 0;
pub(crate) const API_METADATA: i16 = 3;
pub(crate) const API_FIND_COORDINATOR: i16 = 10;
pub(crate) const API_VERSIONS: i16 = 18;
pub(crate) const API_INIT_PRODUCER_ID: i16 = 22;
pub(crate) const CORRUPT_MESSAGE: i16 = 2;
pub(crate) const UNSUPPORTED_VERSION: i16 = 35;
pub(crate) const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub(crate) const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
pub(crate) const INVALID_RECORD: i16 = 87;

/// How long the agent may take to answer or to close a connection.
const PATIENCE: Duration = Duration::from_secs(30);

/// Big-endian encoding of a request body.
#[derive(Default)]
pub(crate) struct Enc(pub(crate) Vec<u8>);

impl Enc {
    pub(crate) fn i8(&mut self, v: i8) -> &mut Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    pub(crate) fn i16(&mut self, v: i16) -> &mut Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend(v.to_be_bytes());
        self
    }
    /// A string with an `i16` length; `None` is the null string (-1).
    pub(crate) fn string(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            None => self.i16(-1),
            Some(s) => self.i16(i16::try_from(s.len()).unwrap()).raw(s.as_bytes()),
        }
    }
    /// Bytes with an `i32` length.
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.i32(i32::try_from(v.len()).unwrap()).raw(v)
    }
    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    /// A zigzag varint, as record fields are encoded.
    pub(crate) fn varint(&mut self, v: i64) -> &mut Self {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            self.0.push((z as u8) | 0x80);
            z >>= 7;
        }
        self.0.push(z as u8);
        self
    }
}

/// Reads a response body.
pub(crate) struct Dec<'a>(pub(crate) &'a [u8]);

impl Dec<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().unwrap()
    }
    pub(crate) fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take())
    }
    pub(crate) fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take())
    }
    pub(crate) fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.take())
    }
    pub(crate) fn string(&mut self) -> Option<String> {
        let n = self.i16();
        let n = usize::try_from(n).ok()?;
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(String::from_utf8(s.to_vec()).unwrap())
    }
}

/// One connection to a Kafka listener.
pub(crate) struct Conn {
    stream: TcpStream,
    correlation: i32,
}

impl Conn {
    pub(crate) fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        Conn {
            stream,
            correlation: 0,
        }
    }

    /// Writes `bytes` as they are (errors ignored: the agent may have closed already).
    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Closes the sending side: the agent reads the end of the stream.
    pub(crate) fn finish(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// A request frame: size, header v1 (key, version, correlation id, client id), body.
    pub(crate) fn frame(&mut self, key: i16, version: i16, body: &[u8]) -> Vec<u8> {
        self.framed(key, version, &[], body)
    }

    /// A request frame with header v2: v1 and no tagged fields, as flexible versions have.
    pub(crate) fn frame_v2(&mut self, key: i16, version: i16, body: &[u8]) -> Vec<u8> {
        self.framed(key, version, &[0], body)
    }

    fn framed(&mut self, key: i16, version: i16, tags: &[u8], body: &[u8]) -> Vec<u8> {
        self.correlation += 1;
        let mut e = Enc::default();
        e.i16(key)
            .i16(version)
            .i32(self.correlation)
            .string(Some("silt-test"))
            .raw(tags)
            .raw(body);
        let mut framed = Enc::default();
        framed.bytes(&e.0);
        framed.0
    }

    /// Sends a request and reads its answer: the body after the correlation id.
    pub(crate) fn call(&mut self, key: i16, version: i16, body: &[u8]) -> Vec<u8> {
        self.try_call(key, version, body)
            .unwrap_or_else(|| panic!("no answer to api key {key} v{version}"))
    }

    /// [`Conn::call`], `None` when the agent closed the connection instead of answering.
    pub(crate) fn try_call(&mut self, key: i16, version: i16, body: &[u8]) -> Option<Vec<u8>> {
        let frame = self.frame(key, version, body);
        self.exchange(&frame)
    }

    /// Sends a whole `frame` and reads its answer (after the correlation id); `None` when the
    /// agent closed the connection instead.
    pub(crate) fn exchange(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        self.send_raw(frame);
        let (correlation, answer) = self.answer()?;
        assert_eq!(correlation, self.correlation, "the answer's correlation id");
        Some(answer)
    }

    /// The next answer: its correlation id and what follows it; `None` once closed.
    pub(crate) fn answer(&mut self) -> Option<(i32, Vec<u8>)> {
        let answer = self.read_frame()?;
        let mut d = Dec(&answer);
        Some((d.i32(), d.0.to_vec()))
    }

    /// The next response frame, or `None` once the agent closed the connection.
    fn read_frame(&mut self) -> Option<Vec<u8>> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size) {
            Ok(()) => {}
            Err(e) if closed(&e) => return None,
            Err(e) => panic!("reading an answer: {e}"),
        }
        let mut body = vec![0u8; usize::try_from(i32::from_be_bytes(size)).unwrap()];
        self.stream.read_exact(&mut body).unwrap();
        Some(body)
    }

    /// Fails unless the agent closes the connection without answering.
    pub(crate) fn expect_closed(&mut self, what: &str) {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => {}
            Err(e) if closed(&e) => {}
            Ok(_) => panic!("{what}: the agent answered instead of closing the connection"),
            Err(e) => panic!("{what}: the connection stayed open ({e})"),
        }
    }
}

fn closed(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
    )
}

/// ApiVersions v0: error code, and each API key's (min, max) version.
pub(crate) fn api_versions(answer: &[u8]) -> (i16, BTreeMap<i16, (i16, i16)>) {
    let mut d = Dec(answer);
    let error = d.i16();
    let n = d.i32();
    let ranges = (0..n).map(|_| (d.i16(), (d.i16(), d.i16()))).collect();
    (error, ranges)
}

/// The highest non-flexible version (3 to 8 for Produce: record batches v2) the agent
/// supports of `key`, from its ApiVersions answer.
pub(crate) fn pick_version(conn: &mut Conn, key: i16, lowest: i16, highest: i16) -> i16 {
    let (error, ranges) = api_versions(&conn.call(API_VERSIONS, 0, &[]));
    assert_eq!(error, 0, "ApiVersions v0");
    let (min, max) = ranges[&key];
    let version = max.min(highest);
    assert!(
        version >= min.max(lowest),
        "api key {key}: the agent supports v{min}..=v{max}, this test sends v{lowest}..=v{highest}"
    );
    version
}

/// FindCoordinator v0 for `group`: the coordinator's `host:port`.
pub(crate) fn find_coordinator(conn: &mut Conn, group: &str) -> String {
    let mut body = Enc::default();
    body.string(Some(group));
    let answer = conn.call(API_FIND_COORDINATOR, 0, &body.0);
    let mut d = Dec(&answer);
    assert_eq!(d.i16(), 0, "FindCoordinator v0: error code");
    d.i32(); // node id
    let host = d.string().unwrap();
    format!("{host}:{}", d.i32())
}

/// How many brokers Metadata v1 (asking for no topic) lists.
pub(crate) fn brokers_listed(conn: &mut Conn) -> i32 {
    let mut body = Enc::default();
    body.i32(0); // no topics
    let answer = conn.call(API_METADATA, 1, &body.0);
    Dec(&answer).i32()
}
