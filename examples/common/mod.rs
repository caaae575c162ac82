//! What the benchmarks in `examples/` share: finding the release binary they run, stopping with a
//! message, and reading a child's peak memory.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Prints `message` after the example's name and exits with 2.
pub fn fail(message: &str) -> ! {
    let name = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "bench".to_owned());
    eprintln!("{name}: {message}");
    std::process::exit(2);
}

/// `given`, or `bys-campaign` in the target folder the example was built in, with a warning when
/// that one is older than the sources (a binary given by path may be an older build on purpose,
/// to compare).
pub fn binary(given: Option<&Path>) -> PathBuf {
    if let Some(bin) = given {
        exists(bin);
        // Absolute: the benchmarks run it in folders of their own.
        return std::fs::canonicalize(bin)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", bin.display())));
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("own path: {e}")));
    // target/<profile>/examples/<example> → target/<profile>/bys-campaign
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("bys-campaign"))
        .unwrap_or_else(|| fail("cannot locate the target folder"));
    exists(&bin);
    // `cargo run --example` builds the library and the example, not the binary: a stale binary
    // would benchmark old code.
    let built = modified(&bin);
    let newest_source = newest(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    if let (Some(built), Some(source)) = (built, newest_source)
        && source > built
    {
        eprintln!(
            "warning: {} is older than the sources; run `cargo build --release` to benchmark the current code",
            bin.display()
        );
    }
    bin
}

fn exists(bin: &Path) {
    if !bin.is_file() {
        fail(&format!(
            "{} does not exist: build it first with `cargo build --release`",
            bin.display()
        ));
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn newest(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            self::newest(&path)
        } else {
            modified(&path)
        };
        newest = newest.max(t);
    }
    newest
}

/// Peak resident memory (VmHWM) of a running process, in KiB; `None` once it has exited.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
