//! The `upsync` binary: parses the command line and hands over to [`upsync::cli`].

fn main() -> std::process::ExitCode {
    upsync::cli::main()
}
