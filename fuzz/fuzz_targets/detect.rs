//! Content sniffing and the extension/content check of every format on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pipelines_fuzz::detect(data));
