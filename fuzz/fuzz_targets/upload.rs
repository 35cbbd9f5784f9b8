//! The upload checks (file name, blocklist, size, content) on an arbitrary name and bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pipelines_fuzz::upload(data));
