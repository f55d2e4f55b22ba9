//! Adopting recorded drift into the configuration: the values a scan found changed outside
//! terraform are written into the `.tf` files that set them, so the next plan keeps them.
//!
//! [`edit`] is pure: the stack's files in, new texts and a refusal per value it will not touch
//! out. Where an expression sets a value, [`origin`] says where that value comes from.

pub mod edit;
pub mod origin;
pub mod patch;
pub mod proof;
pub mod select;
pub mod shadow;
