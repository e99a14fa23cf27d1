//! The fault switch and its settings, without sockets: determinism, the
//! share of drops, cuts, and what `validate` and serde accept.

use crate::transport::{FaultSettings, FaultSettingsError, FaultSwitch, PEERS_MAX};

#[test]
fn a_seed_fixes_the_drop_sequence() {
    let decisions = |seed| {
        let switch = FaultSwitch::with_seed(seed);
        switch.set_drop_outgoing(0.5);
        (0..200)
            .map(|_| switch.should_drop_outgoing(0))
            .collect::<Vec<bool>>()
    };
    assert_eq!(decisions(42), decisions(42));
    assert_ne!(decisions(42), decisions(43));
}

#[test]
fn the_share_of_drops_follows_the_probability() {
    let switch = FaultSwitch::with_seed(1);
    for probability in [0.0, 0.1, 0.3, 0.9, 1.0] {
        switch.set_drop_incoming(probability);
        let drops = (0..10_000)
            .filter(|_| switch.should_drop_incoming(3))
            .count();
        let expected = probability * 10_000.0;
        assert!(
            (drops as f64 - expected).abs() <= 300.0,
            "{drops} drops at {probability}"
        );
    }
}

#[test]
fn cuts_apply_to_their_peer_only_and_both_directions() {
    let switch = FaultSwitch::with_seed(1);
    switch.cut(2);
    switch.cut(PEERS_MAX - 1);
    assert!(switch.should_drop_outgoing(2) && switch.should_drop_incoming(2));
    assert!(!switch.should_drop_outgoing(1) && !switch.should_drop_incoming(3));
    assert!(switch.is_cut(PEERS_MAX - 1));
    switch.heal(2);
    assert!(!switch.is_cut(2));
    switch.clear();
    assert_eq!(switch.settings(), FaultSettings::default());
}

#[test]
fn settings_parse_from_json_and_apply() {
    let settings: FaultSettings =
        serde_json::from_str(r#"{"drop_probability": 0.1, "cut_peers": [2]}"#).expect("parse");
    assert_eq!(settings.drop_outgoing_probability, 0.1);
    assert_eq!(settings.cut_peers, [2]);
    let switch = FaultSwitch::from_settings(&settings).expect("valid");
    assert!(switch.is_cut(2));
    assert_eq!(switch.settings(), settings);

    let full = r#"{"drop_outgoing_probability": 0.2, "drop_incoming_probability": 0.05,
                   "cut_peers": [0, 4], "seed": 9}"#;
    let settings: FaultSettings = serde_json::from_str(full).expect("parse");
    switch.apply(&settings).expect("valid");
    assert_eq!(
        switch.settings(),
        FaultSettings {
            seed: None,
            ..settings
        }
    );
    let empty: FaultSettings = serde_json::from_str("{}").expect("parse");
    assert_eq!(empty, FaultSettings::default());
}

#[test]
fn unknown_fields_and_broken_rules_are_refused() {
    let typo = serde_json::from_str::<FaultSettings>(r#"{"drop_probabilty": 0.1}"#);
    assert!(typo.is_err());
    let cases = [
        (
            FaultSettings {
                drop_outgoing_probability: 1.5,
                ..Default::default()
            },
            "outgoing",
        ),
        (
            FaultSettings {
                drop_incoming_probability: -0.1,
                ..Default::default()
            },
            "incoming",
        ),
        (
            FaultSettings {
                drop_outgoing_probability: f64::NAN,
                ..Default::default()
            },
            "NaN",
        ),
        (
            FaultSettings {
                cut_peers: vec![PEERS_MAX],
                ..Default::default()
            },
            "peer range",
        ),
        (
            FaultSettings {
                cut_peers: vec![1, 1],
                ..Default::default()
            },
            "duplicate",
        ),
    ];
    let switch = FaultSwitch::with_seed(1);
    for (settings, what) in cases {
        assert!(settings.validate().is_err(), "{what}");
        assert!(switch.apply(&settings).is_err(), "{what}");
    }
    assert_eq!(
        switch.settings(),
        FaultSettings::default(),
        "nothing was applied"
    );
    assert_eq!(
        FaultSettings {
            cut_peers: vec![3, 3],
            ..Default::default()
        }
        .validate(),
        Err(FaultSettingsError::DuplicatePeer { peer: 3 })
    );
}
