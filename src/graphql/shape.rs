//! The shape of an operation, measured before it is validated or run: how deep it nests,
//! how many aliases it uses, and how many field selections it expands to once every
//! fragment spread is replaced by its fragment. Each fragment is measured once, so a
//! document whose fragments spread each other twice per level (size doubling with every
//! level) costs linear time here and is refused before anything else walks it.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Most field selections an operation may expand to.
pub const MAX_EXPANDED_FIELDS: usize = 10_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Nesting in fields. `ofType` does not count: introspection clients (GraphiQL among
    /// them) unwrap list and non-null types with a chain of nine of them, which is linear
    /// (one type per level), not a fan-out a depth limit guards against.
    pub depth: usize,
    pub aliases: usize,
    /// Field selections after expanding fragments (saturating).
    pub fields: usize,
}

impl Shape {
    fn merge(self, other: Shape) -> Shape {
        Shape {
            depth: self.depth.max(other.depth),
            aliases: self.aliases.saturating_add(other.aliases),
            fields: self.fields.saturating_add(other.fields),
        }
    }

    /// What a cycle of fragment spreads measures: too big to run.
    const CYCLE: Shape = Shape {
        depth: usize::MAX,
        aliases: usize::MAX,
        fields: usize::MAX,
    };
}

/// Measures a selection set of `doc`.
pub fn measure(set: &SelectionSet, doc: &ExecutableDocument) -> Shape {
    let mut memo = HashMap::new();
    measure_set(set, doc, &mut memo)
}

/// `memo` holds `None` while a fragment is being measured, to notice cycles.
fn measure_set<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    memo: &mut HashMap<&'a str, Option<Shape>>,
) -> Shape {
    let mut shape = Shape::default();
    for item in &set.items {
        let part = match &item.node {
            Selection::Field(f) => {
                let inner = measure_set(&f.node.selection_set.node, doc, memo);
                Shape {
                    depth: inner
                        .depth
                        .saturating_add(usize::from(f.node.name.node != "ofType")),
                    aliases: inner
                        .aliases
                        .saturating_add(usize::from(f.node.alias.is_some())),
                    fields: inner.fields.saturating_add(1),
                }
            }
            Selection::InlineFragment(f) => measure_set(&f.node.selection_set.node, doc, memo),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                match memo.get(name) {
                    Some(Some(known)) => *known,
                    Some(None) => Shape::CYCLE,
                    None => match doc.fragments.get(&s.node.fragment_name.node) {
                        // An unknown fragment is the validator's to report.
                        None => Shape::default(),
                        Some(fragment) => {
                            memo.insert(name, None);
                            let measured =
                                measure_set(&fragment.node.selection_set.node, doc, memo);
                            memo.insert(name, Some(measured));
                            measured
                        }
                    },
                }
            }
        };
        shape = shape.merge(part);
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Shape {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let async_graphql::parser::types::DocumentOperations::Single(op) = &doc.operations else {
            panic!("one operation")
        };
        measure(&op.node.selection_set.node, &doc)
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let s = shape("{ a: tickets { ...F } b: tickets { ...F } } fragment F on TicketConnection { totalCount nodes { id } }");
        assert_eq!(
            s,
            Shape {
                depth: 3,
                aliases: 2,
                fields: 8
            }
        );
    }

    #[test]
    fn doubling_fragments_are_measured_in_linear_time_and_found_huge() {
        let mut query = String::from("query { ...F0 }");
        for i in 0..60 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        query.push_str(" fragment F60 on Query { viewer { canRead } }");
        let s = shape(&query);
        assert!(s.fields > MAX_EXPANDED_FIELDS);
        assert_eq!(s.depth, 2);
    }

    #[test]
    fn a_cycle_of_fragments_is_too_big_to_run() {
        let s = shape("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }");
        assert_eq!(s.fields, usize::MAX);
    }
}
