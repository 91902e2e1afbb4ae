//! The `ticket-gateway` binary: parse the command line, run it, report failures in one line.

use std::process::ExitCode;

// A request allocates many small, short-lived values (rows, strings, response trees), where
// glibc's allocator spent a quarter of the CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the same number in mimalloc 2 and 3, whose option
/// numbering keeps deprecated entries in place).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Milliseconds before freed memory goes back to the system.
const PURGE_DELAY_MS: std::ffi::c_long = 10;

#[tokio::main]
async fn main() -> ExitCode {
    // Hand freed pages back after 10 ms instead of mimalloc's default second: under bursts
    // of concurrent requests that keeps peak resident memory near 40 MiB instead of 64. Not
    // at once: a compressed response allocates and frees its encoder's state (hundreds of
    // KiB), and giving those pages back each time cost a quarter of the CPU in page faults.
    // mimalloc's own MIMALLOC_PURGE_DELAY (milliseconds) still decides when it is set.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option; mimalloc reads options with atomic loads.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    let outcome = ticket_gateway::cli::run().await;
    ticket_gateway::edge::flush_logs();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
