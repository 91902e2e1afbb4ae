//! The `ticket-gateway` binary: parse the command line, run it, report failures in one line.

use std::process::ExitCode;

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
