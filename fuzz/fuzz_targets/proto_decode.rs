#![no_main]
use burnlink_core::proto::{Request, Response};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((r, used)) = Request::decode(data) {
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(&out[..], &data[..used]);
    }
    if let Ok((r, used)) = Response::decode(data) {
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(&out[..], &data[..used]);
    }
});
