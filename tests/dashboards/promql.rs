//! The series selectors of a PromQL query, read with promql-parser.

use std::convert::Infallible;
use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr, VectorSelector};
use promql_parser::util::{ExprVisitor, walk_expr};

/// One label matcher of a selector, such as `job=~"exporter"`.
#[derive(Debug)]
pub struct LabelMatcher {
    pub name: String,
    /// `=`, `!=`, `=~` or `!~`.
    pub op: &'static str,
    pub value: String,
}

/// A series selector of a query.
#[derive(Debug)]
pub struct Selector {
    /// The metric name, written before the braces or as a `__name__="..."` matcher.
    pub metric: Option<String>,
    pub matchers: Vec<LabelMatcher>,
    /// The range of a range-vector selector such as `x[5m]`, or `None` for an instant vector.
    pub range: Option<Duration>,
}

impl Selector {
    /// Returns the matchers on `label`.
    pub fn matchers_on(&self, label: &str) -> Vec<&LabelMatcher> {
        self.matchers.iter().filter(|m| m.name == label).collect()
    }
}

/// The parts of a query the dashboard checks look at.
#[derive(Debug, Default)]
pub struct QueryParts {
    pub selectors: Vec<Selector>,
    pub subqueries: usize,
}

/// Parses `query` and returns its selectors, or the parser's error.
pub fn parse(query: &str) -> Result<QueryParts, String> {
    let expr = parser::parse(query)?;
    let mut parts = QueryParts::default();
    walk_expr(&mut parts, &expr).expect("the selector visitor cannot fail");
    Ok(parts)
}

impl ExprVisitor for QueryParts {
    type Error = Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Infallible> {
        match expr {
            Expr::VectorSelector(selector) => self.selectors.push(selector_of(selector, None)),
            Expr::MatrixSelector(matrix) => self
                .selectors
                .push(selector_of(&matrix.vs, Some(matrix.range))),
            Expr::Subquery(_) => self.subqueries += 1,
            _ => {}
        }
        Ok(true)
    }
}

fn selector_of(selector: &VectorSelector, range: Option<Duration>) -> Selector {
    let matchers: Vec<LabelMatcher> = selector
        .matchers
        .matchers
        .iter()
        .map(|matcher| LabelMatcher {
            name: matcher.name.clone(),
            op: match matcher.op {
                MatchOp::Equal => "=",
                MatchOp::NotEqual => "!=",
                MatchOp::Re(_) => "=~",
                MatchOp::NotRe(_) => "!~",
            },
            value: matcher.value.clone(),
        })
        .collect();
    let metric = selector.name.clone().or_else(|| {
        matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op == "=")
            .map(|m| m.value.clone())
    });
    Selector {
        metric,
        matchers,
        range,
    }
}
