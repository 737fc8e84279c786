//! CPU time this process has used, so a run reports CPU seconds per GiB next to MiB/s: on a
//! machine where the store shares the cores, less CPU per GiB is what lets throughput grow.
//! Read from Linux's `/proc/self/stat` (user + system time of every thread, in clock ticks of
//! `USER_HZ`, 100 on every Linux architecture silt builds for); `None` elsewhere.

/// Clock ticks per second of `/proc/<pid>/stat` times (Linux's fixed `USER_HZ`).
const USER_HZ: f64 = 100.0;

/// User plus system CPU seconds of this process so far.
pub(crate) fn process_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse(&stat)
}

/// Fields 14 and 15 (utime, stime) of a `stat` line. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted after its closing parenthesis.
fn parse(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / USER_HZ)
}

/// CPU seconds `work` took, with its result.
pub(crate) async fn timed<T>(work: impl Future<Output = T>) -> (T, Option<f64>) {
    let before = process_seconds();
    let out = work.await;
    let used = process_seconds()
        .zip(before)
        .map(|(after, before)| after - before);
    (out, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_ticks_after_a_name_with_spaces() {
        let line = "4242 (silt bench) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse(line), Some(3.0));
        assert_eq!(parse("4242 (silt"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(process_seconds().is_some());
        }
    }
}
