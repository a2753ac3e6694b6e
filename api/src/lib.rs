//! vaarta-api
