//! Nothing here: the examples are under `[[example]]`.
