//! Only for examples/simulate.rs, which includes this file with `#[path]`: the counting
//! allocator is tests/common/counting.rs. Once the example includes that file directly,
//! this one can go.

#[path = "../tests/common/counting.rs"]
mod imp;

pub use imp::*;
