//! One run, as stages the binary calls in order, each taking settings the binary resolved
//! from its flags: so far the publish stage ([`publish::Publisher`]); the scan, record and
//! explain stages join it as they move out of the binary.

pub mod publish;
