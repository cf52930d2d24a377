//! tern linux-user
