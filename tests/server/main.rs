//! Tests of the real binary as operators run it: started as a process with its settings in
//! the environment, spoken to over TCP, stopped with SIGTERM, its JSON logs read from its
//! standard error, and (for the outage test) its PostgreSQL stopped and started under it.
//! A binary of its own: these tests time what the server does, and the in-process API
//! tests would load the machine beside them.

mod access_log;
mod cluster;
mod harness;
mod live_updates;
mod outage;
mod replica;
mod shared_limits;
mod shutdown;
#[path = "../support/ws_client.rs"]
mod ws_client;
