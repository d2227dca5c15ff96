//! Windows edges: tokens (whose rights a thread has), security descriptors read from handles,
//! and what counts as a user account.

pub mod account;
pub mod acl;
pub mod privilege;
pub mod s4u;
pub mod token;
