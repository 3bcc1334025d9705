//! The `upsync` binary: parses the command line and hands over to [`upsync::cli`].

/// mimalloc instead of glibc's malloc: the daemon allocates many short-lived JSON values,
/// strings and job copies per shipment, and glibc's `malloc`/`free` (bins, consolidation)
/// took about a fifth of its CPU (docs/performance.md, "Where the time goes").
///
/// Bounded at start-up by [`no_huge_pages`]: mimalloc asks the kernel for transparent huge
/// pages on its arenas, and a 2 MiB page is resident as soon as one byte of it is touched.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No transparent huge pages for this process (and the simulators' child process, which
/// inherits the flag): with them mimalloc's arenas made the daemon's peak RSS 184–192 MB in
/// `upsync bench` against 82–84 MB with glibc; without them 100–120 MB at the same CPU per
/// shipment (docs/performance.md, "Session 8: Acumatica, memory, mix"). The same as
/// mimalloc's `MIMALLOC_ALLOW_THP=0`, without the environment variable: that option is read
/// before `main`, and the kernel flag applies to later page faults of every mapping.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and touches no memory of ours;
    // its failure (an old kernel) leaves the default, which is only a memory cost.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Keep freed memory a quarter of a second before it goes back to the OS (mimalloc's
/// `purge_delay`, 10 ms by default in v3). sled allocates a fresh log buffer for every
/// segment it seals (about one per 20 ms at 1,000 shipments/s), and each one that mimalloc
/// had already returned is faulted back in page by page as sled copies values into it.
/// `upsync bench --mix netsuite`, both processes: 181 k minor faults with a delay of 0,
/// 123 k with 10 ms, 55 k with 250 ms, 45 k with 1 s. With 250 ms the daemon's CPU per
/// shipment was 6–14 % lower in three interleaved pairs (0.90–1.09 → 0.84–0.95 ms) for a
/// peak RSS of 101–104 instead of 84–91 MB (docs/performance.md, "Session 13"). Idle, the
/// memory goes back within the delay. `MIMALLOC_PURGE_DELAY` in the environment (ms) still
/// wins.
fn purge_after_a_moment() {
    // mimalloc v3's `mi_option_purge_delay` (include/mimalloc.h, `mi_option_e`, the 16th
    // entry; the `mimalloc` crate builds v3 unless its `v2` feature is on). Declared here
    // because `libmimalloc-sys` declares `mi_option_set` only with its `extended` feature,
    // which pulls in one more crate for two integer types.
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    const PURGE_DELAY_MS: std::ffi::c_long = 250;
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets one integer option of the allocator linked into this binary; mimalloc
    // reads it at each purge, so setting it while running is allowed (it is documented as
    // settable at any time, like the `MIMALLOC_PURGE_DELAY` environment variable).
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

fn main() -> std::process::ExitCode {
    no_huge_pages();
    purge_after_a_moment();
    upsync::cli::main()
}
