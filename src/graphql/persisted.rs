//! Persisted documents: Apollo's automatic persisted queries (a client sends the SHA-256 of
//! its document, and the document itself only when the server asks), kept in Redis when
//! instances share one and in this process otherwise; or, with a manifest, trusted
//! documents only: the server runs the documents it was shipped with and nothing else.
//!
//! A request is resolved to its document text before anything else looks at it, so a
//! document reached through its hash passes every check a document sent in full passes.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_graphql::Request;
use lru::LruCache;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::edge::Metrics;
use crate::redis_link::{RedisLink, COMMAND_TIMEOUT};

/// What a Redis key of a registered document starts with.
pub const KEY_PREFIX: &str = "tg:pq:";

/// How long Redis keeps a registered document; a client whose document was dropped
/// registers it again on its next `PERSISTED_QUERY_NOT_FOUND`.
const REDIS_TTL_SECS: u64 = 30 * 24 * 3600;

/// Most bytes of document text kept in this process.
const MEMORY_BYTES: usize = 8 * 1024 * 1024;

/// Why a request's document could not be settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The hash is not known (yet): send the document with it.
    NotFound,
    /// The document sent does not have the hash sent with it.
    Mismatch,
    /// Only the manifest's documents run here.
    NotTrusted,
    /// `extensions.persistedQuery` is not `{version: 1, sha256Hash}`.
    Malformed(String),
}

impl Refusal {
    /// The error's `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::Mismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Self::NotTrusted => "PERSISTED_QUERY_REQUIRED",
            Self::Malformed(_) => "BAD_USER_INPUT",
        }
    }

    /// The error's message. Apollo's clients recognise `PersistedQueryNotFound` and answer
    /// it by sending the document.
    pub fn message(&self) -> String {
        match self {
            Self::NotFound => "PersistedQueryNotFound".into(),
            Self::Mismatch => "The document's SHA-256 is not the `sha256Hash` sent with it.".into(),
            Self::NotTrusted => {
                "This server runs only its persisted documents: send the `sha256Hash` of one in `extensions.persistedQuery`.".into()
            }
            Self::Malformed(what) => what.clone(),
        }
    }

    /// Whether the client made a mistake (400), rather than was asked for the document (200).
    pub fn is_bad_request(&self) -> bool {
        !matches!(self, Self::NotFound)
    }
}

/// The documents a deployment trusts: id (usually the SHA-256 of the text) to document.
#[derive(Debug, Default)]
pub struct Manifest {
    by_id: HashMap<String, Arc<str>>,
    texts: HashSet<Arc<str>>,
}

impl Manifest {
    /// Reads a manifest: a JSON object of id to document (what Relay, graphql-codegen and
    /// Apollo's generators write), or Apollo's `{"operations": [{"id", "body"}]}` format.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("PERSISTED_QUERIES_MANIFEST {shown}: {e}"))?;
        Self::parse(&text).map_err(|e| format!("PERSISTED_QUERIES_MANIFEST {shown}: {e}"))
    }

    /// A manifest from its JSON text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let mut entries = Vec::new();
        match &value {
            Value::Object(map) if map.get("operations").is_some_and(Value::is_array) => {
                for op in map["operations"].as_array().into_iter().flatten() {
                    let id = op.get("id").and_then(Value::as_str);
                    let body = op.get("body").and_then(Value::as_str);
                    match (id, body) {
                        (Some(id), Some(body)) => entries.push((id, body)),
                        _ => return Err("every operation needs a string `id` and `body`".into()),
                    }
                }
            }
            Value::Object(map) => {
                for (id, body) in map {
                    let body = body
                        .as_str()
                        .ok_or_else(|| format!("the document of `{id}` is not a string"))?;
                    entries.push((id.as_str(), body));
                }
            }
            _ => return Err("expected a JSON object of id to document".into()),
        }
        let mut manifest = Manifest::default();
        for (id, body) in entries {
            if async_graphql::parser::parse_query(body).is_err() {
                return Err(format!("the document of `{id}` is not valid GraphQL"));
            }
            let body: Arc<str> = Arc::from(body);
            manifest.texts.insert(body.clone());
            manifest.by_id.insert(id.to_owned(), body);
        }
        Ok(manifest)
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// A document sent with its hash, to keep once it has passed the checks.
#[derive(Debug)]
pub struct Registration {
    hash: String,
}

/// Where registered documents are kept.
enum Kept {
    Memory(Mutex<Memory>),
    Redis(Arc<RedisLink>),
}

/// The most recently used documents, by hash, within [`MEMORY_BYTES`].
struct Memory {
    documents: LruCache<String, Arc<str>>,
    bytes: usize,
}

/// The persisted documents of one server.
pub struct PersistedQueries {
    kept: Kept,
    manifest: Option<Arc<Manifest>>,
    metrics: Arc<Metrics>,
}

impl PersistedQueries {
    /// Documents registered by clients, in `redis` when given (shared by every instance on
    /// it), else in this process; or, with a `manifest`, only the manifest's.
    pub fn new(
        redis: Option<Arc<RedisLink>>,
        manifest: Option<Arc<Manifest>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let kept = match redis {
            Some(link) => Kept::Redis(link),
            None => Kept::Memory(Mutex::new(Memory {
                documents: LruCache::unbounded(),
                bytes: 0,
            })),
        };
        Self {
            kept,
            manifest,
            metrics,
        }
    }

    /// Settles `request`'s document: fills `query` from a known hash, and (with a manifest)
    /// refuses anything the manifest does not hold. A document sent with its hash comes back
    /// as a [`Registration`], for [`register`](Self::register) once it has passed the checks
    /// every document passes: what could never run is not kept.
    pub async fn resolve(&self, request: &mut Request) -> Result<Option<Registration>, Refusal> {
        let hash = requested_hash(request)?;
        if let Some(manifest) = &self.manifest {
            return self
                .settle_by_manifest(manifest, request, hash.as_deref())
                .map(|()| None);
        }
        let Some(hash) = hash else {
            return Ok(None);
        };
        if request.query.is_empty() {
            return match self.lookup(&hash).await {
                Some(text) => {
                    self.metrics.persisted_query("hit");
                    request.query = text.to_string();
                    Ok(None)
                }
                None => {
                    self.metrics.persisted_query("miss");
                    Err(Refusal::NotFound)
                }
            };
        }
        if sha256_hex(&request.query) != hash {
            self.metrics.persisted_query("mismatch");
            return Err(Refusal::Mismatch);
        }
        Ok(Some(Registration { hash }))
    }

    /// Keeps `text` under the hash it was sent with.
    pub async fn register(&self, registration: Registration, text: &str) {
        self.keep(registration.hash, text).await;
        self.metrics.persisted_query("registered");
    }

    fn settle_by_manifest(
        &self,
        manifest: &Manifest,
        request: &mut Request,
        hash: Option<&str>,
    ) -> Result<(), Refusal> {
        match hash {
            Some(id) => match manifest.by_id.get(id) {
                Some(text) if request.query.is_empty() || *request.query == **text => {
                    self.metrics.persisted_query("hit");
                    if request.query.is_empty() {
                        request.query = text.to_string();
                    }
                    Ok(())
                }
                Some(_) => {
                    self.metrics.persisted_query("mismatch");
                    Err(Refusal::Mismatch)
                }
                None => {
                    self.metrics.persisted_query("miss");
                    Err(if request.query.is_empty() {
                        Refusal::NotFound
                    } else {
                        Refusal::NotTrusted
                    })
                }
            },
            None if manifest.texts.contains(request.query.as_str()) => {
                self.metrics.persisted_query("hit");
                Ok(())
            }
            None => {
                self.metrics.persisted_query("refused");
                Err(Refusal::NotTrusted)
            }
        }
    }

    async fn lookup(&self, hash: &str) -> Option<Arc<str>> {
        match &self.kept {
            Kept::Memory(memory) => lock(memory).documents.get(hash).cloned(),
            Kept::Redis(link) => {
                let key = format!("{KEY_PREFIX}{hash}");
                let mut connection = link.connection().ok()?;
                let mut command = redis::cmd("GET");
                command.arg(&key);
                let get = command.query_async::<Option<String>>(&mut connection);
                match tokio::time::timeout(COMMAND_TIMEOUT, get).await {
                    Ok(Ok(found)) => found.map(Arc::from),
                    // The client sends the document again: a slow or absent Redis costs a
                    // round trip, never a failed request.
                    _ => {
                        self.metrics.persisted_query_store_error();
                        None
                    }
                }
            }
        }
    }

    async fn keep(&self, hash: String, text: &str) {
        match &self.kept {
            Kept::Memory(memory) => {
                let mut memory = lock(memory);
                if text.len() > MEMORY_BYTES || memory.documents.contains(&hash) {
                    return;
                }
                memory.bytes += text.len();
                memory.documents.put(hash, Arc::from(text));
                while memory.bytes > MEMORY_BYTES {
                    match memory.documents.pop_lru() {
                        Some((_, dropped)) => memory.bytes -= dropped.len(),
                        None => break,
                    }
                }
            }
            Kept::Redis(link) => {
                let Ok(mut connection) = link.connection() else {
                    return;
                };
                let mut command = redis::cmd("SET");
                command
                    .arg(format!("{KEY_PREFIX}{hash}"))
                    .arg(text)
                    .arg("EX")
                    .arg(REDIS_TTL_SECS);
                let set = command.query_async::<()>(&mut connection);
                if !matches!(tokio::time::timeout(COMMAND_TIMEOUT, set).await, Ok(Ok(()))) {
                    self.metrics.persisted_query_store_error();
                }
            }
        }
    }
}

fn lock(memory: &Mutex<Memory>) -> std::sync::MutexGuard<'_, Memory> {
    // A panic while holding the lock cannot leave the cache inconsistent.
    memory.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `sha256Hash` of `extensions.persistedQuery`, if the request has one.
fn requested_hash(request: &Request) -> Result<Option<String>, Refusal> {
    let Some(persisted) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let malformed = || {
        Refusal::Malformed(
            "`extensions.persistedQuery` must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}."
                .into(),
        )
    };
    let async_graphql::Value::Object(fields) = persisted else {
        return Err(malformed());
    };
    let version = fields.get("version").and_then(|v| match v {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    });
    if version != Some(1) {
        return Err(Refusal::Malformed(
            "Only version 1 of `extensions.persistedQuery` is supported.".into(),
        ));
    }
    match fields.get("sha256Hash") {
        Some(async_graphql::Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(Some(hash.to_ascii_lowercase()))
        }
        _ => Err(malformed()),
    }
}

/// The SHA-256 of `text` in lowercase hex, as clients compute it.
pub fn sha256_hex(text: &str) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_is_read_in_either_format_and_checked() {
        let plain = Manifest::parse(r#"{"abc": "{ viewer { canRead } }"}"#).unwrap();
        assert_eq!(plain.len(), 1);
        let apollo = Manifest::parse(
            r#"{"format": "apollo-persisted-query-manifest", "version": 1,
                "operations": [{"id": "x", "name": "V", "type": "query", "body": "query V { viewer { canRead } }"}]}"#,
        )
        .unwrap();
        assert_eq!(apollo.len(), 1);
        assert!(Manifest::parse(r#"{"abc": "{ viewer {"}"#).is_err());
        assert!(Manifest::parse(r#"{"abc": 3}"#).is_err());
        assert!(Manifest::parse("[]").is_err());
    }

    #[test]
    fn the_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_memory_keeps_documents_within_its_bytes() {
        let metrics = Arc::new(Metrics::new());
        let queries = PersistedQueries::new(None, None, metrics);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let big = "x".repeat(MEMORY_BYTES / 3);
        runtime.block_on(async {
            for i in 0..4 {
                queries.keep(format!("{i}"), &big).await;
            }
            assert!(queries.lookup("0").await.is_none());
            assert!(queries.lookup("3").await.is_some());
        });
        let Kept::Memory(memory) = &queries.kept else {
            panic!("in memory")
        };
        assert!(lock(memory).bytes <= MEMORY_BYTES);
    }
}
