#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcheck_engine::fuzzing::iocs(data));
