//! vaarta-workers
