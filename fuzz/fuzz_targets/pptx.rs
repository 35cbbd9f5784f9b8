//! The pptx parser on arbitrary bytes: it must return text or an error, never panic or hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pipelines_fuzz::parse(pipelines::Format::Pptx, data));
