//! The producer's input: stdin read on a thread of its own, one numbered line at a time, so the
//! produce loop can wait for a line, an acknowledgement or a signal at once, and can stop while
//! stdin stays open (a read blocked on a runtime thread would keep the process from exiting).

use std::io::{self, BufRead, Read};

use silt_core::error::InvalidInput;
use silt_core::limits::RECORD_BYTES_MAX;
use thiserror::Error;
use tokio::sync::mpsc;

use crate::json::JsonError;

/// Longest input line, in bytes: a record is at most `RECORD_BYTES_MAX`, and JSON escapes and
/// base64 make its line longer. Reading stops at this many bytes, so a stream without newlines
/// cannot exhaust memory.
pub(crate) const LINE_BYTES_MAX: usize = 8 * RECORD_BYTES_MAX;

/// Lines read ahead of the produce loop.
const LINES_QUEUED: usize = 256;

/// One line of input, without its line ending.
#[derive(Debug)]
pub(crate) struct Line {
    /// Counted from 1, as editors count.
    pub(crate) number: u64,
    pub(crate) text: String,
}

/// Why an input line was refused.
#[derive(Debug, Error)]
pub(crate) enum BadLine {
    /// Lines are text: UTF-8 (use `--format jsonl` and `{"base64": ...}` for bytes).
    #[error(
        "not UTF-8 (invalid byte at byte {at} of the line); use --format jsonl with {{\"base64\": \"...\"}} for binary data"
    )]
    NotUtf8 { at: usize },
    /// A line longer than [`LINE_BYTES_MAX`].
    #[error("longer than the limit of {max} bytes (a record is at most {RECORD_BYTES_MAX} bytes)", max = LINE_BYTES_MAX)]
    TooLong,
    /// stdin failed.
    #[error("could not read stdin: {0}")]
    Read(#[from] io::Error),
    /// A JSON line that is not a valid record.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The line's `"partition"` differs from `--partition`.
    #[error("field \"partition\" is {line} but --partition is {flag}; give one or make them agree")]
    PartitionConflict { line: u32, flag: u32 },
    /// A record the writer refused (too large, bad timestamp, no such partition).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
}

/// A refused line and its number; nothing from it on was sent.
#[derive(Debug, Error)]
#[error("line {line}: {problem}; nothing from this line on was sent")]
pub(crate) struct LineError {
    pub(crate) line: u64,
    pub(crate) problem: BadLine,
}

/// Starts reading stdin. The receiver ends after the last line, or after the first refused one.
pub(crate) fn spawn() -> io::Result<mpsc::Receiver<Result<Line, LineError>>> {
    let (lines, receiver) = mpsc::channel(LINES_QUEUED);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read(io::stdin().lock(), &lines))?;
    Ok(receiver)
}

/// Sends each line of `input` until its end, its first refused line, or until nobody listens.
fn read(mut input: impl BufRead, lines: &mpsc::Sender<Result<Line, LineError>>) {
    for number in 1.. {
        let line = match read_line(&mut input) {
            Ok(None) => return,
            Ok(Some(text)) => Ok(Line { number, text }),
            Err(problem) => Err(LineError {
                line: number,
                problem,
            }),
        };
        let refused = line.is_err();
        if lines.blocking_send(line).is_err() || refused {
            return;
        }
    }
}

/// The next line without its `\n` or `\r\n`, or `None` at the end of input.
pub(crate) fn read_line(input: &mut impl BufRead) -> Result<Option<String>, BadLine> {
    let mut bytes = Vec::new();
    // One byte past the limit tells a line at the limit from a longer one.
    let limit = (LINE_BYTES_MAX + 2) as u64;
    if input.take(limit).read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.len() > LINE_BYTES_MAX {
        return Err(BadLine::TooLong);
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| BadLine::NotUtf8 {
            at: e.utf8_error().valid_up_to() + 1,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<Result<String, String>> {
        let mut input = input;
        let mut out = Vec::new();
        loop {
            match read_line(&mut input) {
                Ok(None) => return out,
                Ok(Some(l)) => out.push(Ok(l)),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn lines_lose_only_their_endings() {
        let ok = |s: &str| Ok(s.to_string());
        assert_eq!(
            lines(b"a\r\nb\n\nc"),
            vec![ok("a"), ok("b"), ok(""), ok("c")]
        );
    }

    #[test]
    fn bad_lines_name_the_byte_and_the_limit() {
        let out = lines(b"ok\nz\xffz\n");
        assert_eq!(out[0], Ok("ok".to_string()));
        assert!(
            out[1]
                .as_ref()
                .unwrap_err()
                .contains("not UTF-8 (invalid byte at byte 2")
        );
        let long = vec![b'x'; LINE_BYTES_MAX + 1];
        let out = lines(&long);
        assert!(
            out[0]
                .as_ref()
                .unwrap_err()
                .contains("limit of 8388608 bytes")
        );
        let exact = [vec![b'x'; LINE_BYTES_MAX], b"\r\n".to_vec()].concat();
        assert_eq!(
            lines(&exact)[0].as_ref().map(String::len),
            Ok(LINE_BYTES_MAX)
        );
    }
}
