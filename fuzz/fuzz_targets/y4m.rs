#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| talkline_fuzzing::y4m(data));
