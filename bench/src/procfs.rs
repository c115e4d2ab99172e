//! What the kernel says about a process: resident memory, CPU time, load.

use std::time::Duration;

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Bytes the calling process has allocated on glibc's heap and not yet freed:
/// `uordblks + hblkhd` of `mallinfo2(3)`, summed over every arena, allocator chunk
/// headers and rounding included, free and fragmented memory excluded. Unlike
/// `VmRSS` it does not move with pages the allocator keeps but no one uses.
pub fn heap_in_use() -> u64 {
    // SAFETY: `mallinfo2` takes no arguments and only reads the allocator's state.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

/// CPU time of every thread of a process, in nanoseconds (sum of the first field of
/// `/proc/<pid>/task/*/schedstat`, which has nanosecond resolution).
pub fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

/// CPU time consumed so far by the calling thread.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Raises the open-files limit to its hard limit (1000 concurrent connections need
/// more than the usual 1024).
pub fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit the kernel writes into, then reads from.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The 1-minute load average, to show how busy the machine was.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// CPU model, core count and memory of this machine.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "{cores} CPUs ({model}), {:.1} GiB RAM",
        mem_kib as f64 / (1024.0 * 1024.0)
    )
}

/// Sets this process's nice value (inherited by the server and wrk it starts), and
/// that of its scheduler autogroup where the kernel groups by session (then a
/// process's nice only counts inside its group), so other work on a shared machine
/// disturbs the measurement less. Needs root for negative values; returns whether
/// the process nice value was applied.
pub fn set_nice(nice: i32) -> bool {
    let _ = std::fs::write("/proc/self/autogroup", nice.to_string());
    // SAFETY: plain syscall on this process, no pointers involved.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) == 0 }
}

/// The autogroup line of this process (`/autogroup-N nice M`), if any.
pub fn autogroup() -> Option<String> {
    std::fs::read_to_string("/proc/self/autogroup")
        .ok()
        .map(|s| s.trim().to_owned())
}

/// CPU time (user + system) of every child process reaped so far.
pub fn children_cpu() -> Duration {
    // SAFETY: `usage` is a valid, writable rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is a constant.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
