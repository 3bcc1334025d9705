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

/// Return freed memory to the OS at once (mimalloc's `purge_delay` 0; its default keeps
/// freed pages a second): the daemon's peak RSS in `upsync bench --mix netsuite` went from
/// 143 to 121 MB for about 0.1 ms more CPU per shipment (docs/performance.md, "Session 8").
fn purge_at_once() {
    // mimalloc v3's `mi_option_purge_delay` (include/mimalloc.h, `mi_option_e`, the 16th
    // entry; the `mimalloc` crate builds v3 unless its `v2` feature is on). Declared here
    // because `libmimalloc-sys` declares `mi_option_set` only with its `extended` feature,
    // which pulls in one more crate for two integer types.
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // SAFETY: sets one integer option of the allocator linked into this binary; mimalloc
    // reads it at each purge, so setting it while running is allowed (it is documented as
    // settable at any time, like the `MIMALLOC_PURGE_DELAY` environment variable).
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

fn main() -> std::process::ExitCode {
    no_huge_pages();
    purge_at_once();
    upsync::cli::main()
}
