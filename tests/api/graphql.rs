//! GraphQL API tests.
