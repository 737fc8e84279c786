//! A request held in flight over raw TCP: its headers sent with `Expect: 100-continue`, and
//! `100 Continue` received, which hyper sends once the handler reads the body, so the request
//! is provably in the agent's hands; the body follows when the test says.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A request whose handler is waiting for its body.
pub(crate) struct Held {
    stream: TcpStream,
    body: Vec<u8>,
}

/// Sends `POST path` to `addr` up to its body and waits for `100 Continue`.
pub(crate) fn hold(addr: &str, path: &str, body: &serde_json::Value) -> Held {
    let body = body.to_string().into_bytes();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let interim = read_head(&mut stream);
    assert!(
        interim.starts_with("HTTP/1.1 100"),
        "{path}: expected 100 Continue, got {interim:?}"
    );
    Held { stream, body }
}

impl Held {
    /// Sends the body and reads the whole answer: (status, body).
    pub(crate) fn finish(mut self) -> (u16, String) {
        self.stream.write_all(&self.body).unwrap();
        let head = read_head(&mut self.stream);
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"));
        let mut body = String::new();
        self.stream.read_to_string(&mut body).unwrap();
        (status, body)
    }
}

/// Reads up to the blank line that ends a response's head (bounded by the read timeout).
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert!(n == 1, "the connection closed after {head:?}");
        head.push(byte[0]);
        assert!(head.len() < 16 * 1024, "an endless head: {head:?}");
    }
    String::from_utf8(head).unwrap()
}

/// Sends a body-less request and returns the connection without reading the answer.
pub(crate) fn send(addr: &str, method: &str, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream
}
