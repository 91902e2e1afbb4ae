//! The `ticket-gateway` binary: parse the command line, run it, report failures in one line.

use std::process::ExitCode;

// A request allocates many small, short-lived values (rows, strings, response trees), where
// glibc's allocator spent a quarter of the CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    match ticket_gateway::cli::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
