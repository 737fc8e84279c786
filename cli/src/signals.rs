//! SIGINT and SIGTERM for the commands that stop gracefully. The first asks the command to
//! stop taking work and finish what it has: `produce` stops reading input, waits for every
//! acknowledgement, prints them and the summary, and exits with the shell's code for the
//! signal (128 + its number: 130, 143); `agent` stops accepting requests, answers those in
//! flight, flushes, and exits 0. A second signal exits at once with the shell's code: the user
//! insists, and what `produce` printed is still exactly what was acknowledged.

use std::fmt;
use std::io::{self, Write};

use tokio::signal::unix::{self, SignalKind, signal};
use tokio::sync::watch;

/// A stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// 128 + the signal's number, as shells report a process killed by it.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Changes to the first signal received.
pub(crate) type Signals = watch::Receiver<Option<Signal>>;

/// Starts listening: from now on SIGINT and SIGTERM no longer kill the process at once.
/// `stopping` tells the user what the first signal does and `abandoning` what a second one
/// gives up.
pub(crate) fn listen(stopping: &'static str, abandoning: &'static str) -> io::Result<Signals> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (first, receiver) = watch::channel(None);
    tokio::spawn(async move {
        let signal = next(&mut interrupt, &mut terminate).await;
        let _ = writeln!(
            io::stderr(),
            "{signal}: {stopping} ({signal} again exits at once)"
        );
        first.send_replace(Some(signal));
        let second = next(&mut interrupt, &mut terminate).await;
        let _ = writeln!(
            io::stderr(),
            "error: {second} again: exiting without {abandoning}"
        );
        std::process::exit(second.exit_code().into());
    });
    Ok(receiver)
}

/// The next of the two signals.
async fn next(interrupt: &mut unix::Signal, terminate: &mut unix::Signal) -> Signal {
    tokio::select! {
        Some(()) = interrupt.recv() => Signal::Interrupt,
        Some(()) = terminate.recv() => Signal::Terminate,
        else => std::future::pending().await,
    }
}
