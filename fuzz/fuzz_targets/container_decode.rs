#![no_main]
use burnlink_core::container::{decode, MemorySink};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut sink = MemorySink::with_limit(1 << 20);
    if decode(data, &mut sink).is_ok() {
        for (p, _) in &sink.files {
            assert!(burnlink_core::container::SafePath::new(p.as_str()).is_ok());
        }
    }
});
