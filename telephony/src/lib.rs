//! vaarta-telephony
