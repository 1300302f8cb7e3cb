#![no_main]
libfuzzer_sys::fuzz_target!(|s: &str| {
    if let Ok(l) = burnlink_core::link::Link::parse(s) {
        let fallback = burnlink_core::link::RelayOrigin { host: "r".into(), port: None };
        let again = burnlink_core::link::Link::parse(&l.to_https(&fallback)).expect("formatted link parses");
        assert_eq!(again.id, l.id);
        assert_eq!(again.secret.expose(), l.secret.expose());
    }
});
