//! Tests of the real binary as operators run it: started as a process with its settings in
//! the environment, spoken to over TCP, stopped with SIGTERM, its JSON logs read from its
//! standard error.
//! A binary of its own: these tests time what the server does, and the in-process API
//! tests would load the machine beside them.

mod access_log;
mod harness;
mod shutdown;
