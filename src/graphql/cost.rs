//! What an operation costs, computed from its document and variables before anything
//! runs. One model serves both the per-operation ceiling (`GRAPHQL_MAX_COMPLEXITY`, on the
//! operation's weight) and the hourly budget (`GRAPHQL_POINTS_PER_HOUR`, spent in points:
//! the weight divided by 100, rounded up, as GitHub counts). The weight adds up:
//!
//! - a scalar or enum field costs nothing;
//! - an object field costs 1 plus what is selected under it;
//! - a connection (`tickets`, here and in the statistics' drill-downs) costs 1 plus its page
//!   size times what is selected under it: `first` or `last`, else the default page size,
//!   within 1 to 100;
//! - `Ticket.messages` counts what is selected under it 10 times, and
//!   `Ticket.categorizationHistory` 5 times, plus 1;
//! - a statistic (any field of `TicketStats`) costs 100, plus 10 times what is selected
//!   under it when it is a list and once when it is an object;
//! - `rateLimit` and introspection (`__schema`, `__type`, `__typename`) cost nothing.
//!
//! Fragments count wherever they are spread, and everything under `@skip`/`@include` counts:
//! the cost is an upper bound, known before the variables decide what runs.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, OperationDefinition, Selection, SelectionSet, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{Name, Value, Variables};

use super::connection::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// What one statistic adds: each is a scan of the filtered tickets, however small its answer.
pub const STATISTIC: u64 = 100;

/// The weight one point of the budget buys.
pub const WEIGHT_PER_POINT: u64 = 100;

/// The points an operation of `weight` costs: nothing for nothing (`rateLimit`, introspection),
/// else the weight in hundreds, rounded up.
pub fn points(weight: u64) -> u64 {
    weight.div_ceil(WEIGHT_PER_POINT)
}

/// The heaviest operation `budget` points pay for.
pub fn max_weight_for(budget: u64) -> u64 {
    budget.saturating_mul(WEIGHT_PER_POINT)
}

/// How many times a list's selection counts, for the lists that are not connections.
const LISTS: &[(&str, &str, u64)] = &[
    ("Ticket", "messages", 10),
    ("Ticket", "categorizationHistory", 5),
];

/// The type whose every field is a statistic.
const STATISTICS: &str = "TicketStats";

/// Fields that cost nothing, with what is under them.
const FREE: &[(&str, &str)] = &[("Query", "rateLimit")];

/// How a field counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Free,
    Leaf,
    Object,
    Connection,
    List(u64),
    Statistic { list: bool },
}

#[derive(Debug, Clone)]
struct FieldInfo {
    weight: Weight,
    /// The named type the field returns (lists and non-null unwrapped).
    ty: String,
}

/// The weights of every field of a schema, read from its SDL.
#[derive(Debug, Default)]
pub struct CostModel {
    fields: HashMap<String, HashMap<String, FieldInfo>>,
    query: String,
    mutation: String,
    subscription: String,
}

impl CostModel {
    /// The model of the schema whose SDL is `sdl`.
    pub fn from_sdl(sdl: &str) -> Result<Self, String> {
        let doc = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut leaves: Vec<String> = ["Int", "Float", "String", "Boolean", "ID"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut model = CostModel {
            query: "Query".into(),
            mutation: "Mutation".into(),
            subscription: "Subscription".into(),
            ..CostModel::default()
        };
        let mut composite = Vec::new();
        for def in &doc.definitions {
            match def {
                TypeSystemDefinition::Type(t) => {
                    let name = t.node.name.node.to_string();
                    match &t.node.kind {
                        TypeKind::Scalar | TypeKind::Enum(_) => leaves.push(name),
                        TypeKind::Object(o) => composite.push((name, &o.fields)),
                        TypeKind::Interface(i) => composite.push((name, &i.fields)),
                        _ => {}
                    }
                }
                TypeSystemDefinition::Schema(s) => {
                    if let Some(q) = &s.node.query {
                        model.query = q.node.to_string();
                    }
                    if let Some(m) = &s.node.mutation {
                        model.mutation = m.node.to_string();
                    }
                    if let Some(s) = &s.node.subscription {
                        model.subscription = s.node.to_string();
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        for (parent, fields) in composite {
            let mut infos = HashMap::new();
            for field in fields {
                let field = &field.node;
                let name = field.name.node.as_str();
                let (ty, list) = named(&field.ty.node.base);
                let leaf = leaves.iter().any(|l| l == ty);
                let paged = field
                    .arguments
                    .iter()
                    .any(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
                let weight = if FREE.contains(&(parent.as_str(), name)) {
                    Weight::Free
                } else if parent == STATISTICS {
                    Weight::Statistic { list }
                } else if let Some((_, _, times)) =
                    LISTS.iter().find(|(p, f, _)| *p == parent && *f == name)
                {
                    Weight::List(*times)
                } else if paged && ty.ends_with("Connection") {
                    Weight::Connection
                } else if leaf {
                    Weight::Leaf
                } else {
                    Weight::Object
                };
                infos.insert(
                    name.to_owned(),
                    FieldInfo {
                        weight,
                        ty: ty.to_owned(),
                    },
                );
            }
            model.fields.insert(parent, infos);
        }
        Ok(model)
    }

    /// The weight of `operation` of `doc` with `variables` (saturating: a cycle of fragments
    /// weighs `u64::MAX`).
    pub fn weight(
        &self,
        doc: &ExecutableDocument,
        operation: &OperationDefinition,
        variables: &Variables,
    ) -> u64 {
        use async_graphql::parser::types::OperationType;
        let root = match operation.ty {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => &self.subscription,
        };
        let mut walk = Walk {
            model: self,
            doc,
            operation,
            variables,
            memo: HashMap::new(),
        };
        walk.set(&operation.selection_set.node, Some(root))
    }
}

/// The named type of a field's type, and whether it is a list.
fn named(base: &BaseType) -> (&str, bool) {
    match base {
        BaseType::Named(name) => (name.as_str(), false),
        BaseType::List(inner) => (named(&inner.base).0, true),
    }
}

struct Walk<'a> {
    model: &'a CostModel,
    doc: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    /// Fragment costs; `None` while one is being measured, to notice cycles.
    memo: HashMap<&'a str, Option<u64>>,
}

impl<'a> Walk<'a> {
    /// The cost of `set`, selected on `parent` (`None` when the type is unknown: the
    /// validator reports that, and the fields count by their shape alone).
    fn set(&mut self, set: &'a SelectionSet, parent: Option<&'a str>) -> u64 {
        let mut total: u64 = 0;
        for item in &set.items {
            let part = match &item.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    let name = field.name.node.as_str();
                    if name.starts_with("__") {
                        continue;
                    }
                    let info = parent
                        .and_then(|p| self.model.fields.get(p))
                        .and_then(|fields| fields.get(name));
                    let children = &field.selection_set.node;
                    let weight = match info {
                        Some(info) => info.weight,
                        None if children.items.is_empty() => Weight::Leaf,
                        None => Weight::Object,
                    };
                    let child_type = info.map(|i| i.ty.as_str());
                    let under = |walk: &mut Self| walk.set(children, child_type);
                    match weight {
                        Weight::Free | Weight::Leaf => 0,
                        Weight::Object => under(self).saturating_add(1),
                        Weight::List(times) => under(self).saturating_mul(times).saturating_add(1),
                        Weight::Connection => {
                            let size = self.page_size(field);
                            under(self).saturating_mul(size).saturating_add(1)
                        }
                        Weight::Statistic { list } => {
                            let times = if list { 10 } else { 1 };
                            under(self).saturating_mul(times).saturating_add(STATISTIC)
                        }
                    }
                }
                Selection::InlineFragment(f) => {
                    let ty = f
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str())
                        .or(parent);
                    self.set(&f.node.selection_set.node, ty)
                }
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    match self.memo.get(name) {
                        Some(Some(known)) => *known,
                        Some(None) => u64::MAX,
                        None => match self.doc.fragments.get(&s.node.fragment_name.node) {
                            // An unknown fragment is the validator's to report.
                            None => 0,
                            Some(fragment) => {
                                self.memo.insert(name, None);
                                let on = fragment.node.type_condition.node.on.node.as_str();
                                let cost = self.set(&fragment.node.selection_set.node, Some(on));
                                self.memo.insert(name, Some(cost));
                                cost
                            }
                        },
                    }
                }
            };
            total = total.saturating_add(part);
        }
        total
    }

    /// A connection's `first` or `last` (a literal or a variable), else the default page
    /// size, within the sizes a page may have.
    fn page_size(&self, field: &async_graphql::parser::types::Field) -> u64 {
        let argument = |wanted: &str| {
            let (_, value) = field
                .arguments
                .iter()
                .find(|(name, _)| name.node == wanted)?;
            let value = value
                .node
                .clone()
                .into_const_with(|name| Ok::<_, ()>(self.variable(&name)))
                .ok()?;
            match value {
                Value::Number(n) => n.as_i64(),
                _ => None,
            }
        };
        let size = argument("first")
            .or_else(|| argument("last"))
            .unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
        u64::try_from(size.clamp(1, i64::from(MAX_PAGE_SIZE))).unwrap_or(1)
    }

    /// A variable's value: as given, else its default, else null.
    fn variable(&self, name: &Name) -> Value {
        if let Some(given) = self.variables.get(name) {
            return given.clone();
        }
        self.operation
            .variable_definitions
            .iter()
            .find(|d| d.node.name.node == *name)
            .and_then(|d| d.node.default_value.as_ref())
            .map(|v| v.node.clone())
            .unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::DocumentOperations;

    fn model() -> CostModel {
        CostModel::from_sdl(&crate::graphql::sdl()).unwrap()
    }

    fn cost_with(query: &str, variables: serde_json::Value) -> u64 {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let DocumentOperations::Single(op) = &doc.operations else {
            panic!("one operation")
        };
        let variables = Variables::from_json(variables);
        model().weight(&doc, &op.node, &variables)
    }

    fn cost(query: &str) -> u64 {
        cost_with(query, serde_json::json!({}))
    }

    #[test]
    fn scalars_are_free_and_objects_cost_one() {
        assert_eq!(cost("{ categories { categories { value label } } }"), 2);
        assert_eq!(cost("{ viewer { canRead } __typename }"), 1);
        assert_eq!(cost("{ rateLimit { cost remaining } }"), 0);
    }

    #[test]
    fn a_connection_multiplies_what_it_selects_by_its_page_size() {
        // 25 by default: each ticket costs its `nodes` object.
        assert_eq!(cost("{ tickets { nodes { id subject } } }"), 1 + 25);
        assert_eq!(
            cost("{ tickets(first: 100) { totalCount nodes { id } } }"),
            101
        );
        assert_eq!(
            cost("{ tickets(last: 3) { edges { node { id } } } }"),
            1 + 3 * 2
        );
        // Out of range sizes count as the nearest allowed one.
        assert_eq!(cost("{ tickets(first: 5000) { nodes { id } } }"), 101);
        assert_eq!(
            cost_with(
                "query($n: Int = 7) { tickets(first: $n) { nodes { id } } }",
                serde_json::json!({"n": 40})
            ),
            41
        );
        assert_eq!(
            cost("query($n: Int = 7) { tickets(first: $n) { nodes { id } } }"),
            8
        );
    }

    #[test]
    fn nested_lists_multiply() {
        // 100 tickets, each its node (1) + messages (1 + 10 * 0) + user (1) + organization (1).
        let query = "{ tickets(first: 100) { nodes { id messages { id message } user { fullName organization { name } } } } }";
        assert_eq!(cost(query), 1 + 100 * (1 + 1 + 2));
        // Each change of the history counts five times per ticket.
        let query = "{ tickets(first: 10) { nodes { categorizationHistory { changedAt } } } }";
        assert_eq!(cost(query), 1 + 10 * (1 + 1));
    }

    #[test]
    fn statistics_cost_a_hundred_each() {
        let query =
            "{ stats { total resolution { totalResolved } statusBreakdown { value count } } }";
        assert_eq!(cost(query), 1 + 100 + 100 + 100);
        let query = "{ stats { statusBreakdown { value tickets(first: 10) { nodes { id } } } } }";
        assert_eq!(cost(query), 1 + 100 + 10 * (1 + 10));
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let query = "{ a: tickets(first: 2) { ...T } b: tickets(first: 3) { ...T } } fragment T on TicketConnection { nodes { user { id } } }";
        assert_eq!(cost(query), (1 + 2 * 2) + (1 + 3 * 2));
        let query = r#"{ node(id: "x") { ... on Ticket { messages { id } } } }"#;
        assert_eq!(cost(query), 2);
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert_eq!(cost(cycle), u64::MAX);
    }

    #[test]
    fn points_are_hundreds_of_weight_rounded_up() {
        assert_eq!([0, 1, 100, 101, 401].map(points), [0, 1, 1, 2, 5]);
        assert_eq!(max_weight_for(50), 5000);
    }

    #[test]
    fn mutations_count_by_the_same_rules() {
        let query = r#"mutation { categorizeTicket(id: "x", input: {humanVerifiedCategory: CHARGER}) { ticket { id messages { id } } } }"#;
        assert_eq!(cost(query), 1 + 1 + 1);
    }
}
