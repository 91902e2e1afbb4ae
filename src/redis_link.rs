//! The one Redis connection of a server, shared by what instances keep in common: rate
//! limit budgets and persisted GraphQL documents. Nothing connects before the first use (it
//! needs the runtime); after that the connection manager reconnects by itself.

use std::sync::OnceLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;

/// The longest one Redis command may take before its caller goes on without it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(100);

/// A lazily made, self-healing connection to one Redis.
pub struct RedisLink {
    client: Client,
    connection: OnceLock<ConnectionManager>,
}

impl RedisLink {
    /// A link to the Redis at `url`; nothing is connected yet.
    pub fn open(url: &str) -> Result<Self, String> {
        let client = Client::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        Ok(Self {
            client,
            connection: OnceLock::new(),
        })
    }

    /// The shared connection (a cheap handle to it).
    pub fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(Duration::from_secs(2));
        let made = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        Ok(self.connection.get_or_init(|| made).clone())
    }
}
