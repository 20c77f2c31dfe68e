//! The synthetic hub used by the benchmarks carries every documented problem and every
//! reason an export cannot become an endpoint, so the benchmarks measure realistic work.

use std::collections::BTreeSet;

use fleet_dns_lb_exporter::catalogue::{Ineligibility, Problem};
use fleet_dns_lb_exporter::classify::{classify, endpoint_eligibility};
use fleet_dns_lb_exporter::objects::{HubObject, decode_object};
use fleet_dns_lb_testkit::synthetic::{Scale, generate};

#[test]
fn synthetic_hub_covers_every_problem() {
    let scale = Scale::TINY;
    let mut problems = BTreeSet::new();
    let mut ineligible = BTreeSet::new();
    let mut healthy = 0;
    let mut classified = 0;
    for (index, value) in generate(&scale).into_iter().enumerate() {
        let object = decode_object(index, value)
            .expect("a synthetic object decodes")
            .expect("a synthetic object is of a kind the exporter reads");
        assert!(object.decode_errors().is_empty(), "{object:?}");
        if let Some(classification) = classify(&object) {
            classified += 1;
            healthy += usize::from(classification.is_healthy());
            problems.extend(classification.problems);
        }
        if let HubObject::Export(export) = &object
            && let Err(reason) = endpoint_eligibility(export)
        {
            ineligible.insert(reason);
        }
    }
    let all: BTreeSet<Problem> = Problem::ALL.into_iter().collect();
    assert_eq!(problems, all, "problems seen in the synthetic hub");
    let all: BTreeSet<Ineligibility> = Ineligibility::ALL.into_iter().collect();
    assert_eq!(ineligible, all, "ineligibility reasons seen");
    assert!(
        healthy * 2 > classified,
        "most objects are healthy: {healthy} of {classified}"
    );
}
