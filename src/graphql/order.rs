//! Puts each object of a response in the order its fields were requested, as the GraphQL
//! specification asks of JSON responses. The executor resolves sibling fields concurrently
//! and records them as they finish, so without this `{ total resolution }` could come back
//! as `{ "resolution": ..., "total": ... }`.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// The response's data, reordered after the operation it answers. Leaves it as it is when
/// the query could not be parsed (`doc` is `None`; then there is no data anyway).
pub fn in_query_order(
    mut response: async_graphql::Response,
    doc: Option<&ExecutableDocument>,
    operation_name: Option<&str>,
) -> async_graphql::Response {
    let Some(doc) = doc else {
        return response;
    };
    let operation = match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, op)| op),
            None if ops.len() == 1 => ops.values().next(),
            None => None,
        },
    };
    if let Some(op) = operation {
        let data = std::mem::take(&mut response.data);
        response.data = reorder(data, &[&op.node.selection_set.node], doc, 0);
    }
    response
}

/// Response keys of the given selection sets in order of first appearance, each with every
/// selection set requested under it (a key may be selected more than once, and fragments
/// add their fields where they are spread).
fn keys<'a>(
    sets: &[&'a SelectionSet],
    doc: &'a ExecutableDocument,
    out: &mut Vec<(&'a str, Vec<&'a SelectionSet>)>,
    guard: usize,
) {
    if guard > 64 {
        return;
    }
    for set in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let key = f.node.response_key().node.as_str();
                    let child = &f.node.selection_set.node;
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, children)) => children.push(child),
                        None => out.push((key, vec![child])),
                    }
                }
                Selection::InlineFragment(f) => {
                    keys(&[&f.node.selection_set.node], doc, out, guard + 1)
                }
                Selection::FragmentSpread(s) => {
                    if let Some(fragment) = doc.fragments.get(&s.node.fragment_name.node) {
                        keys(&[&fragment.node.selection_set.node], doc, out, guard + 1);
                    }
                }
            }
        }
    }
}

fn reorder(value: Value, sets: &[&SelectionSet], doc: &ExecutableDocument, depth: usize) -> Value {
    if depth > 64 {
        return value;
    }
    match value {
        Value::Object(mut fields) => {
            let mut order = Vec::new();
            keys(sets, doc, &mut order, 0);
            let mut sorted = IndexMap::with_capacity(fields.len());
            for (key, children) in order {
                let name = Name::new(key);
                if let Some(v) = fields.shift_remove(&name) {
                    sorted.insert(name, reorder(v, &children, doc, depth + 1));
                }
            }
            // Anything not named by the query (there should be nothing) keeps its place at the end.
            sorted.extend(fields);
            Value::Object(sorted)
        }
        Value::List(items) => Value::List(
            items
                .into_iter()
                .map(|v| reorder(v, sets, doc, depth + 1))
                .collect(),
        ),
        other => other,
    }
}
