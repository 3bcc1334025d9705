//! Process measurements for the benchmark line: CPU seconds (getrusage), peak RSS (VmHWM),
//! current RSS (VmRSS), and latency percentiles. Linux only (`/proc`).

use std::time::Duration;

fn usage() -> libc::rusage {
    // SAFETY: getrusage writes into the zeroed struct we pass; RUSAGE_SELF is always valid.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    }
}

/// User + system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    let usage = usage();
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Voluntary context switches of this process's threads so far: each is a thread that went
/// to sleep (a parked worker, a blocking call) and had to be woken again.
pub fn voluntary_switches() -> u64 {
    usage().ru_nvcsw.max(0) as u64
}

/// User + system CPU time so far of this process's live threads whose name starts with
/// `prefix` (`/proc/self/task/*/stat`).
pub fn threads_cpu_time(prefix: &str) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut total = 0u64;
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After comm: state is field 3 of stat(5), utime 14 and stime 15.
        let n = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok());
        total += n(14).unwrap_or(0) + n(15).unwrap_or(0);
    }
    Duration::from_secs_f64(total as f64 / ticks)
}

/// Wall and CPU time from a start, the simulators' own threads told apart (they have them
/// when the world runs them on their own runtime).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    t0: std::time::Instant,
    cpu0: Duration,
    sim0: Duration,
    sleeps0: u64,
}

/// What a [`Span`] measured.
#[derive(Debug, Clone, Copy)]
pub struct Spent {
    pub wall: Duration,
    /// The whole process.
    pub cpu: Duration,
    /// The simulators' threads (zero when they share upsync's runtime).
    pub sim_cpu: Duration,
    /// Voluntary context switches of the whole process (the simulators' threads included
    /// when they share it).
    pub sleeps: u64,
}

impl Span {
    pub fn start() -> Span {
        Span {
            t0: std::time::Instant::now(),
            cpu0: cpu_time(),
            sim0: threads_cpu_time(crate::app::world::SIM_THREAD_NAME),
            sleeps0: voluntary_switches(),
        }
    }

    pub fn stop(&self) -> Spent {
        Spent {
            wall: self.t0.elapsed(),
            cpu: cpu_time().saturating_sub(self.cpu0),
            sim_cpu: threads_cpu_time(crate::app::world::SIM_THREAD_NAME).saturating_sub(self.sim0),
            sleeps: voluntary_switches().saturating_sub(self.sleeps0),
        }
    }
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Peak resident set size, MiB.
pub fn peak_rss_mb() -> f64 {
    status_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0
}

/// Current resident set size, MiB.
pub fn rss_mb() -> f64 {
    status_kib("VmRSS:").unwrap_or(0) as f64 / 1024.0
}

/// This process's RSS sampled on a timer (a task of its own) while a scenario runs, so a
/// bench line shows how memory grows with jobs in flight, not only its peak.
pub struct RssSampler {
    t0: std::time::Instant,
    samples: std::sync::Arc<std::sync::Mutex<Vec<(f64, f64)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(every: Duration) -> RssSampler {
        let t0 = std::time::Instant::now();
        let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = samples.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let s = (t0.elapsed().as_secs_f64(), rss_mb());
                into.lock().unwrap_or_else(|e| e.into_inner()).push(s);
            }
        });
        RssSampler { t0, samples, task }
    }

    /// Stop; at most `points` samples, `[seconds, MiB]` rounded, spread evenly over the
    /// run, the largest one always among them.
    pub fn stop(self, points: usize) -> Vec<[f64; 2]> {
        self.task.abort();
        let mut all = self
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        all.push((self.t0.elapsed().as_secs_f64(), rss_mb()));
        let max_at = all
            .iter()
            .enumerate()
            .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let step = all.len().div_ceil(points.max(1)).max(1);
        let mut keep: Vec<usize> = (0..all.len()).step_by(step).collect();
        keep.push(all.len() - 1);
        keep.push(max_at);
        keep.sort_unstable();
        keep.dedup();
        let r = |x: f64, f: f64| (x * f).round() / f;
        keep.into_iter()
            .map(|i| [r(all[i].0, 10.0), r(all[i].1, 10.0)])
            .collect()
    }
}

/// The `p`-th percentile (0..=100) of `values` (nearest rank); `None` when empty.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    Some(values[rank.min(values.len()) - 1])
}

/// Total size of the files under `dir`, MiB.
pub fn dir_size_mb(dir: &std::path::Path) -> f64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 99.0), Some(99.0));
        assert_eq!(percentile(&mut v, 50.0), Some(50.0));
        assert_eq!(percentile(&mut v, 100.0), Some(100.0));
        assert_eq!(percentile(&mut [], 50.0), None);
    }

    #[test]
    fn process_figures_are_plausible() {
        let before = cpu_time();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(cpu_time() > before);
        // Peak is monotonic: read the current value first.
        let now = rss_mb();
        assert!(now > 1.0);
        assert!(peak_rss_mb() >= now);
    }
}
