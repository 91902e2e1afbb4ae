//! Tests in a real browser (headless Chromium), on SQLite and (with `TEST_DATABASE_URL`) on
//! PostgreSQL. A binary of their own, which cargo runs after the API tests rather than beside
//! them: a browser loads the machine, and some API tests count statements that DataLoader
//! batches by time.

// The API tests' helpers; the browser tests use some of them.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod dashboard;
mod harness;
mod playground;
