//! Placeholder: the c binding is built in its own issue.
