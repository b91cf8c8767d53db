//! CPU and memory of a process tree, sampled from /proc, for benchmarks.

// Shared by tests and benchmarks; each uses part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// A process and all its descendants, from /proc.
fn process_tree(root: u32) -> Vec<u32> {
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        // Children are listed per thread: a process may spawn from any.
        let tasks = std::fs::read_dir(format!("/proc/{}/task", pids[i]))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for task in tasks {
            let children = std::fs::read_to_string(task.join("children")).unwrap_or_default();
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
        i += 1;
    }
    pids
}

/// Proportional set size of one process in KiB: shared pages are split
/// between the processes that share them, so a multi-process browser is
/// not counted several times over.
fn pss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|rollup| {
            rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user+system) and PSS (KiB) of a process and all its
/// descendants.
pub fn tree_usage(root: u32) -> (f64, u64) {
    let ticks = 100.0; // USER_HZ on Linux
    let (mut cpu, mut pss) = (0.0, 0u64);
    for pid in process_tree(root) {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Fields after the ")" that closes the command name.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            let stime: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            cpu += (utime + stime) / ticks;
        }
        pss += pss_kb(pid);
    }
    (cpu, pss)
}

/// PSS (MiB) of each process of a tree, by command name, largest first:
/// where a tree's memory is.
pub fn pss_by_process(root: u32) -> Vec<(String, f64)> {
    let mut by_name: Vec<(String, f64)> = Vec::new();
    for pid in process_tree(root) {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let mib = pss_kb(pid) as f64 / 1024.0;
        match by_name.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += mib,
            None => by_name.push((name, mib)),
        }
    }
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    by_name
}

/// The anonymous memory (heap, thread stacks) and the file-backed memory
/// (the program and its libraries) of one process's PSS, in MiB.
pub fn pss_anonymous_and_files(pid: u32) -> (f64, f64) {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    let anonymous = field("Pss_Anon:");
    (anonymous, field("Pss:") - anonymous)
}

/// Samples a process tree every second for `seconds`; returns (CPU %, peak PSS MiB).
pub fn measure(pid: u32, seconds: u64) -> (f64, f64) {
    let (cpu0, _) = tree_usage(pid);
    let started = Instant::now();
    let mut peak = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        peak = peak.max(tree_usage(pid).1);
        // Reading smaps_rollup walks every mapping of the process under
        // its memory lock: sampled every 100 ms it cost the benchmark 13-28%
        // of a core and stalled the processes it measured. Memory in a call
        // is steady, so once a second finds the peak as well.
        std::thread::sleep(Duration::from_secs(1));
    }
    let (cpu1, _) = tree_usage(pid);
    (
        100.0 * (cpu1 - cpu0) / started.elapsed().as_secs_f64(),
        peak as f64 / 1024.0,
    )
}

/// CPU seconds (user+system) of one process alone, without its children.
pub fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (field(11) + field(12)) / 100.0
}

/// Proportional set size of one process (not its children), KiB.
pub fn process_pss_kib(pid: u32) -> u64 {
    pss_kb(pid)
}

/// Open file descriptors of one process.
pub fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Threads of one process.
pub fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// Open file descriptors of a process and all its descendants.
pub fn tree_open_files(root: u32) -> usize {
    process_tree(root).into_iter().map(open_files).sum()
}

/// Threads of a process and all its descendants.
pub fn tree_threads(root: u32) -> usize {
    process_tree(root).into_iter().map(threads).sum()
}
