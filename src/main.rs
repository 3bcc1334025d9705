//! The `upsync` binary: parses the command line and hands over to [`upsync::cli`].

/// mimalloc instead of glibc's malloc: the daemon allocates many short-lived JSON values,
/// strings and job copies per shipment, and glibc's `malloc`/`free` (bins, consolidation)
/// took about a fifth of its CPU (docs/performance.md, "Where the time goes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    upsync::cli::main()
}
