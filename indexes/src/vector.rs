//! LanceDB vector table of one dataset generation.
