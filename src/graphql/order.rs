//! Puts each object of a response in the order its fields were requested, as the GraphQL
//! specification asks of JSON responses. The executor resolves sibling fields concurrently
//! and records them as they finish, so without this `{ total resolution }` could come back
//! as `{ "resolution": ..., "total": ... }`.

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
        reorder(&mut response.data, &[&op.node.selection_set.node], doc, 0);
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

/// Puts `value` in the order of `sets`, in place. Objects whose fields already come in order
/// (the usual case: fields that resolve without waiting finish in order) are only walked.
fn reorder(value: &mut Value, sets: &[&SelectionSet], doc: &ExecutableDocument, depth: usize) {
    if depth > 64 {
        return;
    }
    match value {
        Value::Object(_) => {
            let mut order = Vec::new();
            keys(sets, doc, &mut order, 0);
            reorder_object(value, &order, doc, depth);
        }
        Value::List(items) => {
            // Every item of a list answers the same selection: work out its order once.
            let mut order = Vec::new();
            keys(sets, doc, &mut order, 0);
            for item in items {
                match item {
                    Value::Object(_) => reorder_object(item, &order, doc, depth + 1),
                    other => reorder(other, sets, doc, depth + 1),
                }
            }
        }
        _ => {}
    }
}

fn reorder_object(
    value: &mut Value,
    order: &[(&str, Vec<&SelectionSet>)],
    doc: &ExecutableDocument,
    depth: usize,
) {
    let Value::Object(fields) = value else {
        return;
    };
    let in_order = fields
        .keys()
        .zip(order.iter().filter(|(key, _)| fields.contains_key(*key)))
        .all(|(have, (want, _))| have.as_str() == *want);
    if !in_order {
        // Anything not named by the query (there should be nothing) goes last.
        let rank = |key: &Name| {
            order
                .iter()
                .position(|(k, _)| *k == key.as_str())
                .unwrap_or(usize::MAX)
        };
        fields.sort_by(|a, _, b, _| rank(a).cmp(&rank(b)));
    }
    for (key, children) in order {
        if let Some(child) = fields.get_mut(*key) {
            if !children.iter().all(|set| set.items.is_empty()) {
                reorder(child, children, doc, depth + 1);
            }
        }
    }
}
