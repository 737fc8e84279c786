//! Standard output for every command. A reader that stops early (`silt topic list | head -1`)
//! closes the pipe: like Unix tools, silt then stops quietly with status 0 rather than
//! panicking in `println!` or printing an error. Commands print through [`outln!`] and
//! [`out!`], which turn a closed pipe into [`StdoutClosed`]; `main` exits 0 on it.

use std::io::{self, ErrorKind};

/// The reader of stdout went away: nothing failed, there is just no one left to print to.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub(crate) struct StdoutClosed;

/// A failed write to stdout: [`StdoutClosed`] for a closed pipe, the error itself otherwise.
pub(crate) fn write_error(e: io::Error) -> Box<dyn std::error::Error + Send + Sync> {
    match e.kind() {
        ErrorKind::BrokenPipe => Box::new(StdoutClosed),
        _ => Box::new(e),
    }
}

/// `print!` to stdout, returning [`StdoutClosed`] instead of panicking on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        ::std::io::Write::write_fmt(&mut ::std::io::stdout(), format_args!($($arg)*))
            .map_err($crate::out::write_error)
    };
}

/// `println!` to stdout, returning [`StdoutClosed`] instead of panicking on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        ::std::io::Write::write_fmt(&mut ::std::io::stdout(), format_args!("{}\n", format_args!($($arg)*)))
            .map_err($crate::out::write_error)
    };
}

pub(crate) use {out, outln};
