#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = burnlink_core::state::Record::decode(data) {
        assert_eq!(burnlink_core::state::Record::decode(&r.encode()).unwrap(), r);
    }
});
