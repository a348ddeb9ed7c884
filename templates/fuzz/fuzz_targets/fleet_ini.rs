//! The INI fleet parser never panics; errors point at a line of the input;
//! accepted fleets have unique names and addresses, and every decky of them
//! either becomes a valid spec or fails with a located error.
#![no_main]

use std::collections::BTreeSet;
use std::path::PathBuf;

use decnet_templates::fleet::{FleetError, SpecOptions, from_ini, ini};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    if let Err(e) = ini::parse(text) {
        assert!((1..=lines).contains(&e.line));
    }
    match from_ini(text) {
        Err(FleetError::At { line, .. }) => assert!((1..=lines).contains(&line)),
        Err(other) => panic!("unlocated error: {other}"),
        Ok(plan) => {
            assert!(!plan.deckies.is_empty());
            let names: BTreeSet<&str> = plan.deckies.iter().map(|d| d.name.as_str()).collect();
            let ips: BTreeSet<_> = plan.deckies.iter().map(|d| d.ip).collect();
            assert_eq!(names.len(), plan.deckies.len());
            assert_eq!(ips.len(), plan.deckies.len());
            let opts = SpecOptions {
                data_root: PathBuf::from("/nonexistent/decnet-fuzz"),
                host: None,
            };
            for d in plan.deckies.iter().take(8) {
                if let Err(e) = d.to_spec(&opts) {
                    assert!(matches!(e, FleetError::At { .. }), "{e}");
                }
            }
        }
    }
});
