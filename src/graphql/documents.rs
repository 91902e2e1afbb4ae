//! Parsed documents, kept per process: a frontend sends the same few query texts over and
//! over, and parsing one costs more than the rest of a small request's GraphQL work.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// Documents kept. Each is a few kilobytes of syntax tree at most (see [`MAX_CACHED_QUERY`]).
const CAPACITY: usize = 256;

/// Longer query texts are parsed every time: they are rarely repeated, and a cache full of
/// them would hold a lot of memory.
const MAX_CACHED_QUERY: usize = 4096;

/// The most recently used parsed documents, by query text.
pub struct Documents {
    cache: Mutex<LruCache<String, Arc<ExecutableDocument>>>,
}

impl Default for Documents {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN);
        Self {
            cache: Mutex::new(LruCache::new(capacity)),
        }
    }
}

impl Documents {
    /// The parsed document of `query`, or `None` if it does not parse (the executor then
    /// parses it again to report the error).
    pub fn parse(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        let cacheable = query.len() <= MAX_CACHED_QUERY;
        if cacheable {
            if let Some(doc) = self.lock().get(query) {
                return Some(doc.clone());
            }
        }
        let doc = Arc::new(async_graphql::parser::parse_query(query).ok()?);
        if cacheable {
            self.lock().put(query.to_owned(), doc.clone());
        }
        Some(doc)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<ExecutableDocument>>> {
        // A panic while holding the lock cannot leave the cache inconsistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_query_is_parsed_once_and_garbage_not_at_all() {
        let docs = Documents::default();
        let a = docs.parse("{ viewer { canRead } }").unwrap();
        let b = docs.parse("{ viewer { canRead } }").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(docs.parse("{ viewer {").is_none());
        let long = format!(
            "{{ viewer {{ canRead }} }} # {}",
            "x".repeat(MAX_CACHED_QUERY)
        );
        let c = docs.parse(&long).unwrap();
        let d = docs.parse(&long).unwrap();
        assert!(!Arc::ptr_eq(&c, &d));
    }
}
