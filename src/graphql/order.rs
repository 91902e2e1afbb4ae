//! Puts each object of a response in the order its fields were requested, as the GraphQL
//! specification asks of JSON responses. The executor resolves sibling fields concurrently
//! and records them as they finish, so without this `{ total resolution }` could come back
//! as `{ "resolution": ..., "total": ... }`.
//!
//! The order of each group of selection sets is worked out once per response (a list of 100
//! tickets shares one), and an object already in order, the usual case, is only walked.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// Deepest nesting walked; the depth limit refuses deeper operations long before.
const MAX_DEPTH: usize = 64;

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
        let mut plans = Plans::new(doc);
        let root = plans.plan(vec![&op.node.selection_set.node]);
        plans.reorder(&mut response.data, root, 0);
    }
    response
}

/// The response keys one group of selection sets produces, in order of first appearance,
/// with the selection sets requested under each key.
struct Plan<'a> {
    keys: Vec<&'a str>,
    children: Vec<Vec<&'a SelectionSet>>,
    /// The plan of each key's children, once it has been needed (`None` for leaves).
    child_plans: Vec<Option<Option<usize>>>,
}

/// Every plan of one response, by the selection sets it was made from.
struct Plans<'a> {
    doc: &'a ExecutableDocument,
    plans: Vec<Plan<'a>>,
    by_sets: HashMap<Vec<*const SelectionSet>, usize>,
}

impl<'a> Plans<'a> {
    fn new(doc: &'a ExecutableDocument) -> Self {
        Self {
            doc,
            plans: Vec::new(),
            by_sets: HashMap::new(),
        }
    }

    /// The plan of `sets`, made on first use.
    fn plan(&mut self, sets: Vec<&'a SelectionSet>) -> usize {
        let id: Vec<*const SelectionSet> = sets.iter().map(|s| *s as *const _).collect();
        if let Some(&known) = self.by_sets.get(&id) {
            return known;
        }
        let mut plan = Plan {
            keys: Vec::new(),
            children: Vec::new(),
            child_plans: Vec::new(),
        };
        for set in sets {
            collect(&mut plan, set, self.doc, 0);
        }
        plan.child_plans = vec![None; plan.keys.len()];
        self.plans.push(plan);
        let index = self.plans.len() - 1;
        self.by_sets.insert(id, index);
        index
    }

    /// The plan under key `i` of plan `p`; `None` for a key without a selection (a leaf).
    fn child(&mut self, p: usize, i: usize) -> Option<usize> {
        if let Some(known) = self.plans[p].child_plans[i] {
            return known;
        }
        let sets = self.plans[p].children[i].clone();
        let child = if sets.iter().all(|s| s.items.is_empty()) {
            None
        } else {
            Some(self.plan(sets))
        };
        self.plans[p].child_plans[i] = Some(child);
        child
    }

    fn reorder(&mut self, value: &mut Value, plan: usize, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(fields) => {
                // Positions in the plan of the fields as they stand; sorted only when they
                // are not already in plan order.
                let keys = &self.plans[plan].keys;
                let mut at = Vec::with_capacity(fields.len());
                let mut next = 0;
                let mut in_order = true;
                for name in fields.keys() {
                    let found = if in_order {
                        keys[next..]
                            .iter()
                            .position(|k| *k == name.as_str())
                            .map(|i| i + next)
                    } else {
                        None
                    };
                    match found {
                        Some(i) => {
                            at.push(i);
                            next = i + 1;
                        }
                        None => {
                            in_order = false;
                            at.push(
                                keys.iter()
                                    .position(|k| *k == name.as_str())
                                    .unwrap_or(usize::MAX),
                            );
                        }
                    }
                }
                if !in_order {
                    let rank = |name: &Name| {
                        keys.iter()
                            .position(|k| *k == name.as_str())
                            .unwrap_or(usize::MAX)
                    };
                    // Anything not named by the query (there should be nothing) goes last.
                    fields.sort_by(|a, _, b, _| rank(a).cmp(&rank(b)));
                    at.sort_unstable();
                }
                for (value, i) in fields.values_mut().zip(at) {
                    if i == usize::MAX {
                        continue;
                    }
                    if let Some(child) = self.child(plan, i) {
                        self.reorder(value, child, depth + 1);
                    }
                }
            }
            Value::List(items) => {
                for item in items {
                    self.reorder(item, plan, depth + 1);
                }
            }
            _ => {}
        }
    }
}

/// Adds the response keys of `set` to `plan`, expanding fragments where they are spread.
fn collect<'a>(
    plan: &mut Plan<'a>,
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    guard: usize,
) {
    if guard > MAX_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let key = f.node.response_key().node.as_str();
                let child = &f.node.selection_set.node;
                match plan.keys.iter().position(|k| *k == key) {
                    Some(i) => plan.children[i].push(child),
                    None => {
                        plan.keys.push(key);
                        plan.children.push(vec![child]);
                    }
                }
            }
            Selection::InlineFragment(f) => {
                collect(plan, &f.node.selection_set.node, doc, guard + 1)
            }
            Selection::FragmentSpread(s) => {
                if let Some(fragment) = doc.fragments.get(&s.node.fragment_name.node) {
                    collect(plan, &fragment.node.selection_set.node, doc, guard + 1);
                }
            }
        }
    }
}
